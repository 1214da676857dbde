package e3stream.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import e3stream.pipeline.testutils.KafkaIO;
import e3stream.pipeline.testutils.SharedKafka;
import e3stream.pipeline.testutils.TestData;
import org.junit.jupiter.api.Test;

/**
 * The local run ({@code exec:exec@local}): {@link E3StreamJob#main} started as a plain Java program in its own JVM,
 * so it runs on a MiniCluster there, against a broker in another process (this test's). Outputs are exactly once,
 * which needs its checkpoints to complete; bad configuration or a missing model bundle ends the process with status 2
 * and a message naming what to fix.
 */
class LocalRunITCase {

    private static final Path LOGS = TestData.repoRoot().resolve("pipeline/target/local-run-it");

    @Test
    void theJobStartedAsAJavaProgramProcessesEveryEventOnceAgainstAnExternalBroker() throws Exception {
        String prefix = "local-";
        SharedKafka.createTopics(prefix);
        E3StreamJobITCase.kafka = SharedKafka.get();
        Map<String, byte[]> pngs = E3StreamJobITCase.pngs(400);
        List<Object[]> bad = E3StreamJobITCase.malformed();
        List<String> args = new ArrayList<>();
        // The same options the in-JVM ITCases use, given as command-line arguments.
        E3StreamJobITCase.options(prefix, Map.of()).values().forEach((k, v) -> {
            args.add("--" + k);
            args.add(v);
        });
        Process job = start("job.log", args);
        try {
            int sent = E3StreamJobITCase.produce(prefix + "images", pngs, bad, 1_700_000_000_000L);
            List<KafkaIO.Read> reads = KafkaIO.readUntil(SharedKafka.get().bootstrapServers(),
                    List.of(prefix + "predictions", prefix + "review", prefix + "images-dlq"),
                    E3StreamJobITCase.atLeast(sent), Duration.ofMinutes(5), Duration.ofSeconds(3));
            assertTrue(job.isAlive(), "the job is still running; its log: " + LOGS.resolve("job.log"));
            E3StreamJobITCase.assertExactlyOnce(prefix, reads, pngs, bad);
            assertEquals(sent, reads.size());
        } finally {
            job.destroy();
            if (!job.waitFor(60, TimeUnit.SECONDS)) {
                job.destroyForcibly().waitFor();
            }
        }
    }

    @Test
    void badConfigurationStopsStartUpWithStatus2NamingTheKey() throws Exception {
        String log = refusedWithStatus2("bad-config.log", "--kafka.bootstrap-servers", "localhost:9",
                "--model.bundle", "models/e3", "--inference.max-batch-size", "0");
        assertTrue(log.contains("bad configuration") && log.contains("inference.max-batch-size"), log);
    }

    @Test
    void aMissingModelBundleStopsStartUpWithStatus2SayingWhatToPass() throws Exception {
        String log = refusedWithStatus2("bad-bundle.log", "--kafka.bootstrap-servers", "localhost:9",
                "--model.bundle", "models/no-such-bundle");
        assertTrue(log.contains("no-such-bundle") && log.contains("does not exist"), log);
    }

    /** Starts the job with {@code args}, asserts it ends with status 2 and returns what it printed. */
    private String refusedWithStatus2(String logName, String... args) throws Exception {
        Process job = start(logName, List.of(args));
        assertTrue(job.waitFor(2, TimeUnit.MINUTES), "the process ends");
        String log = Files.readString(LOGS.resolve(logName), StandardCharsets.UTF_8);
        assertEquals(2, job.exitValue(), log);
        return log;
    }

    @Test
    void missingTopicsStopStartUpWithStatus2NamingTheTopicsAndTheBroker() throws Exception {
        E3StreamJobITCase.kafka = SharedKafka.get();
        List<String> args = new ArrayList<>();
        E3StreamJobITCase.options("local-missing-", Map.of()).values().forEach((k, v) -> {
            args.add("--" + k);
            args.add(v);
        });
        Process job = start("missing-topics.log", args);
        assertTrue(job.waitFor(2, TimeUnit.MINUTES), "the process ends");
        String log = Files.readString(LOGS.resolve("missing-topics.log"), StandardCharsets.UTF_8);
        assertEquals(2, job.exitValue(), log);
        assertTrue(log.contains("e3stream: topics [local-missing-images, local-missing-labels, local-missing-predictions, "
                + "local-missing-review, local-missing-images-dlq, local-missing-calibration] missing on the Kafka "
                + "brokers " + SharedKafka.get().bootstrapServers()) && log.contains("--kafka.create-missing-topics true"),
                log);
    }

    /** {@code java -cp <this test's classpath> e3stream.pipeline.E3StreamJob ARGS} in the repository root. */
    private static Process start(String logName, List<String> jobArgs) throws Exception {
        Files.createDirectories(LOGS);
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), E3StreamJob.class.getName()));
        command.addAll(jobArgs);
        return new ProcessBuilder(command)
                .directory(TestData.repoRoot().toFile())
                .redirectErrorStream(true)
                .redirectOutput(new File(LOGS.resolve(logName).toString()))
                .start();
    }
}
