package e3stream.runtime.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import e3stream.runtime.testutils.RepoFiles;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** ONNX Runtime Java reproduces PyTorch's member logits (golden.json, written at export) for every shipped bundle. */
class GoldenParityTest {
    private static final double TOLERANCE = 1e-4;
    private static final ObjectMapper MAPPER = new ObjectMapper();

    static Stream<Path> bundlesWithGolden() {
        return RepoFiles.bundles().stream().filter(d -> d.resolve("golden.json").toFile().isFile());
    }

    @Test
    void everyShippedBundleHasAGoldenFixture() {
        List<Path> bundles = RepoFiles.bundles();
        assertFalse(bundles.isEmpty());
        for (Path dir : bundles) {
            assertTrue(dir.resolve("golden.json").toFile().isFile(), dir + " ships no golden.json");
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("bundlesWithGolden")
    void onnxRuntimeMatchesPyTorchOnBatchesOfSevenAndOne(Path dir) throws IOException {
        ModelBundle bundle = ModelBundle.load(dir);
        JsonNode golden = MAPPER.readTree(dir.resolve("golden.json").toFile());
        JsonNode inputs = golden.get("inputs");
        JsonNode expected = golden.get("member_logits");
        int n = inputs.size();
        assertEquals(7, n, "golden.json holds 7 inputs");
        int pixels = bundle.manifest().input().pixelsPerImage();
        float[] all = new float[n * pixels];
        for (int i = 0; i < n; i++) {
            assertEquals(pixels, inputs.get(i).size());
            for (int p = 0; p < pixels; p++) {
                all[i * pixels + p] = (float) inputs.get(i).get(p).asDouble();
            }
        }
        try (E3Model model = E3Model.open(bundle, ExecutionOptions.builder().intraOpThreads(1).build())) {
            float[][][] batch = model.memberLogits(all, n);
            double worst = 0;
            for (int i = 0; i < n; i++) {
                float[] one = new float[pixels];
                System.arraycopy(all, i * pixels, one, 0, pixels);
                float[][][] single = model.memberLogits(one, 1);
                JsonNode want = expected.get(i);
                assertEquals(model.ensembleSize(), want.size(), "members in golden.json");
                for (int m = 0; m < model.ensembleSize(); m++) {
                    for (int c = 0; c < model.numClasses(); c++) {
                        double w = want.get(m).get(c).asDouble();
                        worst = Math.max(worst, Math.max(Math.abs(batch[i][m][c] - w), Math.abs(single[0][m][c] - w)));
                    }
                }
            }
            assertTrue(worst <= TOLERANCE, dir.getFileName() + ": max |ORT - PyTorch| = " + worst);
        }
    }
}
