package e3stream.pipeline.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import e3stream.pipeline.embedded.EmbeddedKafka;
import org.junit.jupiter.api.Test;

/**
 * Runs the real {@code bin/e3stream} as a user would and checks its exit codes and what it prints. The launcher is
 * given this test's classpath (E3STREAM_CLASSPATH), so it runs the classes this build compiled instead of building.
 */
class LauncherTest {

    private static final Path ROOT = Path.of(System.getProperty("e3.repo.root")).toAbsolutePath();

    record Result(int exitCode, String output) {
    }

    private static Result launch(String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>();
        command.add(ROOT.resolve("bin/e3stream").toString());
        command.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(command).directory(ROOT.toFile()).redirectErrorStream(true);
        pb.environment().put("E3STREAM_CLASSPATH", System.getProperty("java.class.path"));
        pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
        pb.environment().remove("JAVA_OPTS");
        Process p = pb.start();
        p.getOutputStream().close();
        // Read while it runs, so a full pipe never blocks it.
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(2, TimeUnit.MINUTES)) {
            p.destroyForcibly();
            throw new AssertionError("bin/e3stream " + String.join(" ", args) + " did not end:\n" + new String(out, StandardCharsets.UTF_8));
        }
        return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8));
    }

    /** A refusal is its message alone: no stack trace, no Maven error block. */
    private static void assertNoStackTrace(Result r) {
        for (String marker : List.of("\tat ", "Exception in thread", "[ERROR]", "Caused by:")) {
            assertFalse(r.output().contains(marker), () -> "'" + marker + "' in:\n" + r.output());
        }
    }

    @Test
    void helpListsTheFourCommandsAndTheExitCodes() throws Exception {
        Result r = launch("--help");
        assertEquals(0, r.exitCode(), r.output());
        for (String command : List.of("demo", "run", "evaluate", "calibrate")) {
            assertTrue(r.output().contains("\n  " + command + " "), () -> command + " missing in:\n" + r.output());
        }
        assertTrue(r.output().contains("--kafka.bootstrap-servers"), r.output());
        assertTrue(r.output().contains("2    bad configuration or environment"), r.output());
    }

    @Test
    void unknownCommandIsRefusedWithOneLine() throws Exception {
        Result r = launch("serve");
        assertEquals(2, r.exitCode(), r.output());
        assertEquals(1, r.output().strip().lines().count(), r.output());
        assertTrue(r.output().contains("unknown command 'serve'"), r.output());
    }

    @Test
    void runWithNoBrokerListeningIsRefusedWithItsMessageAlone() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort(); // closed again: nothing listens there
        }
        Result r = launch("run", "--kafka.bootstrap-servers", "127.0.0.1:" + port, "--model.bundle", "models/e3",
                "--kafka.topic-check-timeout", "3 s");
        assertEquals(2, r.exitCode(), r.output());
        assertTrue(r.output().contains("cannot check the job's topics on the Kafka brokers 127.0.0.1:" + port),
                r.output());
        assertNoStackTrace(r);
    }

    @Test
    void runAgainstABrokerWithoutTheTopicsNamesThem() throws Exception {
        try (EmbeddedKafka kafka = EmbeddedKafka.start()) {
            Result r = launch("run", "--kafka.bootstrap-servers", kafka.bootstrapServers(), "--model.bundle",
                    "models/e3", "--kafka.topic-check-timeout", "20 s");
            assertEquals(2, r.exitCode(), r.output());
            assertTrue(r.output().contains("missing on the"), r.output());
            assertTrue(r.output().contains("kafka.create-missing-topics"), r.output());
            assertNoStackTrace(r);
        }
    }

    @Test
    void runWithoutABundleNamesTheKey() throws Exception {
        Result r = launch("run", "--kafka.bootstrap-servers", "127.0.0.1:9");
        assertEquals(2, r.exitCode(), r.output());
        assertTrue(r.output().contains("model.bundle"), r.output());
        assertNoStackTrace(r);
    }

    @Test
    void evaluateWithAMissingBundleIsRefused() throws Exception {
        Path missing = Files.createTempDirectory("launcher-test").resolve("no-such-bundle");
        Result r = launch("evaluate", "--bundle", missing.toString(), "--ood-images", "data/mnist-500-images-idx3-ubyte.gz",
                "--ood-labels", "data/mnist-500-labels-idx1-ubyte.gz");
        assertEquals(2, r.exitCode(), r.output());
        assertTrue(r.output().startsWith("evaluate: "), r.output());
        assertTrue(r.output().contains(missing.toString()), r.output());
        assertNoStackTrace(r);
    }

    @Test
    void demoRefusesAnUnknownOption() throws Exception {
        Result r = launch("demo", "--rte", "100");
        assertEquals(2, r.exitCode(), r.output());
        assertTrue(r.output().contains("unknown option '--rte'"), r.output());
        assertNoStackTrace(r);
    }
}
