package e3stream.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;

import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.junit.jupiter.api.Test;

/** Where checkpoints go: the cluster's storage unless told, never Flink's 5 MB in-memory default on a MiniCluster. */
class E3StreamJobTest {

    @Test
    void leavesCheckpointStorageToTheClusterUnlessCheckpointDirIsSet() {
        Configuration conf = E3StreamJob.flinkConfiguration(E3StreamOptions.fromArgs(E3StreamOptionsTest.args()));
        assertFalse(conf.contains(CheckpointingOptions.CHECKPOINT_STORAGE));
        assertFalse(conf.contains(CheckpointingOptions.CHECKPOINTS_DIRECTORY));
    }

    @Test
    void checkpointDirSelectsFileStorageThere() {
        E3StreamOptions options = E3StreamOptions.fromArgs(E3StreamOptionsTest.args("--checkpoint.dir", "s3://bucket/e3"));
        for (Configuration conf : new Configuration[] {E3StreamJob.flinkConfiguration(options),
                E3StreamJob.localConfiguration(options)}) {
            assertEquals("filesystem", conf.get(CheckpointingOptions.CHECKPOINT_STORAGE));
            assertEquals("s3://bucket/e3", conf.get(CheckpointingOptions.CHECKPOINTS_DIRECTORY));
        }
    }

    @Test
    void aMiniClusterRunGetsAFreshCheckpointFolderOfItsOwn() throws Exception {
        E3StreamOptions options = E3StreamOptions.fromArgs(E3StreamOptionsTest.args());
        Configuration first = E3StreamJob.localConfiguration(options);
        Configuration second = E3StreamJob.localConfiguration(options);
        assertEquals("filesystem", first.get(CheckpointingOptions.CHECKPOINT_STORAGE));
        Path dir = Path.of(URI.create(first.get(CheckpointingOptions.CHECKPOINTS_DIRECTORY)));
        try {
            assertTrue(Files.isDirectory(dir) && Files.isWritable(dir), dir + " is a writable folder");
            assertNotEquals(first.get(CheckpointingOptions.CHECKPOINTS_DIRECTORY),
                    second.get(CheckpointingOptions.CHECKPOINTS_DIRECTORY), "two local runs do not share checkpoints");
        } finally {
            Files.deleteIfExists(dir);
            Files.deleteIfExists(Path.of(URI.create(second.get(CheckpointingOptions.CHECKPOINTS_DIRECTORY))));
        }
    }
}
