package e3stream.runtime.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import e3stream.runtime.data.IdxReader;
import e3stream.runtime.data.ImageSet;
import e3stream.runtime.model.E3Model;
import e3stream.runtime.model.ExecutionOptions;
import e3stream.runtime.model.ModelBundle;
import e3stream.runtime.testutils.RepoFiles;
import java.nio.file.Path;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every shipped bundle, run by Java on the committed 2,000-image Fashion-MNIST test subset, reaches the test accuracy
 * recorded in its model.json (measured by PyTorch on all 10,000 test images at export), so a broken export, input
 * normalisation or ensemble combination fails CI.
 */
class ShippedBundlesAccuracyTest {
    @ParameterizedTest(name = "{0}")
    @MethodSource("e3stream.runtime.testutils.RepoFiles#bundles")
    void reachesItsRecordedTestAccuracyOnTheCommittedSubset(Path directory) {
        ModelBundle bundle = ModelBundle.load(directory);
        JsonNode metrics = bundle.manifest().metricsJson();
        assertEquals("test", metrics.get("split").asText());
        double recorded = metrics.get("accuracy").asDouble();
        int population = metrics.get("count").asInt();
        ImageSet subset = IdxReader.read("fashion-mnist test[:2000]",
                RepoFiles.data("fashion-mnist-test-2000-images-idx3-ubyte.gz"),
                RepoFiles.data("fashion-mnist-test-2000-labels-idx1-ubyte.gz"));
        int n = subset.count();
        // Margin: 4 standard errors of the accuracy of an n-image sample drawn from the N-image test set
        // (binomial, with the finite-population correction); a sound model falls below it with probability ~3e-5,
        // while a broken export or preprocessing loses far more than this (tens of points).
        double margin = 4 * Math.sqrt(recorded * (1 - recorded) / n * (1 - (double) n / population));
        try (E3Model model = E3Model.open(bundle, ExecutionOptions.cpu())) {
            Predictions p = Predictions.of(model, subset, 250);
            double accuracy = p.accuracy();
            assertTrue(accuracy >= recorded - margin, String.format(
                    "accuracy %.4f on %d committed test images is below the recorded %.4f - %.4f", accuracy, n,
                    recorded, margin));
        }
    }
}
