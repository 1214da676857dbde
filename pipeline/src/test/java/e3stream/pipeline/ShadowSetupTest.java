package e3stream.pipeline;

import static e3stream.pipeline.E3StreamOptionsTest.withTheShippedBundle;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import e3stream.pipeline.testutils.TestData;
import e3stream.runtime.model.BundleDescription;
import e3stream.runtime.model.BundleException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Shadow scoring's start-up: the shadow bundle is read and verified once, and must predict the active's classes. */
class ShadowSetupTest {

    @Test
    void withoutAShadowBundleThereIsNoShadowAndNoShadowTopic() {
        E3StreamOptions options = withTheShippedBundle();
        assertTrue(E3StreamJob.describeShadowBundle(options, E3StreamJob.describeBundle(options)).isEmpty());
        assertEquals(List.of("predictions", "review", "images-dlq", "calibration"), options.outputTopics());
        assertEquals(1.0, options.get(E3StreamOptions.MODEL_SHADOW_SHARE), 0.0);
    }

    @Test
    void aShadowBundleWithTheSameClassesIsDescribedAndItsTopicWrittenTo() {
        E3StreamOptions options = withTheShippedBundle(
                "--model.shadow-bundle", TestData.repoRoot().resolve("models/de-vmoe").toString(),
                "--kafka.topic.shadow", "candidates");
        BundleDescription shadow = E3StreamJob.describeShadowBundle(options, E3StreamJob.describeBundle(options))
                .orElseThrow();
        assertEquals("de-vmoe", shadow.manifest().name());
        assertEquals(List.of("predictions", "review", "images-dlq", "calibration", "candidates"),
                options.outputTopics());
    }

    @Test
    void aShadowBundleWithOtherClassesStopsStartUpNamingBothBundles(@TempDir Path dir) throws Exception {
        Path e3 = TestData.repoRoot().resolve("models/e3");
        Path other = dir.resolve("relabelled");
        Files.createDirectories(other);
        Files.copy(e3.resolve("model.onnx"), other.resolve("model.onnx"));
        Files.writeString(other.resolve("model.json"), Files.readString(e3.resolve("model.json"))
                .replace("\"Ankle boot\"", "\"Boot\""));
        E3StreamOptions options = withTheShippedBundle("--model.shadow-bundle", other.toString());
        BundleException e = assertThrows(BundleException.class,
                () -> E3StreamJob.describeShadowBundle(options, E3StreamJob.describeBundle(options)));
        assertTrue(e.getMessage().startsWith("the shadow bundle " + other), e.getMessage());
        assertTrue(e.getMessage().contains("the active bundle " + e3), e.getMessage());
        assertTrue(e.getMessage().contains("Boot]") && e.getMessage().contains("Ankle boot]"), e.getMessage());
    }

    @Test
    void aMissingShadowBundleNamesTheOption(@TempDir Path dir) {
        E3StreamOptions options = withTheShippedBundle("--model.shadow-bundle", dir.resolve("none").toString());
        BundleException e = assertThrows(BundleException.class,
                () -> E3StreamJob.describeShadowBundle(options, E3StreamJob.describeBundle(options)));
        assertTrue(e.getMessage().startsWith("model.shadow-bundle: "), e.getMessage());
    }

    @Test
    void theShareMustBeBetweenZeroAndOne() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> withTheShippedBundle("--model.shadow-share", "1.5"));
        assertEquals("model.shadow-share must be in [0, 1], found 1.5", e.getMessage());
    }
}
