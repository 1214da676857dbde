package e3stream.runtime.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import e3stream.runtime.testutils.RepoFiles;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** What a user of the command-line tools sees when a run goes wrong: the message, and the exit status scripts test. */
class CommandMainTest {

    private record Exit(int status, String output) {}

    /** Runs a tool's main in a JVM of its own (main ends with System.exit). */
    private static Exit run(Class<?> tool, String... args) throws Exception {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        List<String> command = new ArrayList<>(List.of(java.toString(), "-cp", System.getProperty("java.class.path"),
                tool.getName()));
        command.addAll(List.of(args));
        Process child = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output;
        try {
            assertTrue(child.waitFor(120, TimeUnit.SECONDS), "the tool did not finish in 120 s");
        } finally {
            output = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            child.destroyForcibly();
        }
        return new Exit(child.exitValue(), output);
    }

    @Test
    void badCommandLinesAndMissingFilesExitWithStatus2AndTheReason() throws Exception {
        Exit unknown = run(Evaluate.class, "--bundel", "models/e3");
        assertEquals(2, unknown.status(), unknown.output());
        assertTrue(unknown.output().startsWith("evaluate: unknown option '--bundel'")
                && unknown.output().contains(Evaluate.USAGE.strip()), unknown.output());

        Exit halfPair = run(Calibrate.class, "--bundle", RepoFiles.bundle("e3").toString(), "--max-review-rate", "0.2",
                "--test-images", "images.gz", "--fashion-mnist", RepoFiles.root().resolve("no-such-folder").toString());
        assertEquals(2, halfPair.status(), halfPair.output());
        assertTrue(halfPair.output().startsWith("calibrate: option --test-labels is required with its partner option")
                && halfPair.output().contains(Calibrate.USAGE.strip()), halfPair.output());

        Exit missingData = run(Calibrate.class, "--bundle", RepoFiles.bundle("e3").toString(), "--max-review-rate",
                "0.2", "--fashion-mnist", RepoFiles.root().resolve("no-such-folder").toString());
        // A data folder that is not there is bad configuration (status 2), not a failed run (1).
        assertEquals(2, missingData.status(), missingData.output());
        assertTrue(missingData.output().startsWith("calibrate: ")
                && missingData.output().contains("no-such-folder"), missingData.output());
    }
}
