package e3stream.runtime.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import e3stream.runtime.testutils.RepoFiles;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class FlopsFormulaTest {
    private static Architecture arch(String kind, int experts, int topK, int members, List<Integer> moe) {
        return new Architecture(kind, 6, 64, 4, 128, 7, 16, experts, topK, members, moe, 10, 28, 1);
    }

    @Test
    void e3WithOneMoeLayerMatchesAHandCalculation() {
        // Stem, 3x3 kernels: 1 -> 16 channels at 28x28, 16 -> 16 onto 14x14, 16 -> 32 onto 7x7:
        // 2 * 9 * (28*28*16*1 + 14*14*16*16 + 7*7*32*16) = 2 * 9 * 87,808.
        long stem = 1_580_544;
        // Patch embedding 3x3 conv 32 -> 64 channels onto 4x4 = 16 tokens: 2 * 16*32*64*9.
        long embed = 589_824;
        // Attention per layer (t=16, d=64): qkv 16*64*192 + scores and values 2*16*16*64 + proj 16*64*64, times 2.
        long attention = 2 * (196_608 + 32_768 + 65_536);
        // MLP per layer: two 64x128 matmuls on 16 tokens: 2 * 16 * 2 * 64 * 128.
        long mlp = 524_288;
        // Layers 0..4 dense, run once per image (before the first MoE layer there is no tiling).
        long dense = 5 * (attention + mlp);
        // Layer 5: MoE with a router over its group of E/M = 4 experts (2*16*64*4) and K=1 expert, run M=2 times.
        long moe = 2 * (attention + 2 * 16 * 64 * 4 + mlp);
        // Shared head 64 -> 10, once per member.
        long head = 2 * 2 * 64 * 10;
        long expected = stem + embed + dense + moe + head;
        assertEquals(9_988_096L, expected, "hand calculation");
        assertEquals(expected, FlopsFormula.flopsPerImage(arch("e3", 8, 1, 2, List.of(5))));
    }

    @Test
    void deepEnsembleCostsItsMembersWholeAndE3CostsLess() {
        long vmoe = FlopsFormula.flopsPerImage(arch("vmoe", 8, 1, 1, List.of(3, 5)));
        long ensemble = FlopsFormula.flopsPerImage(arch("deep_ensemble", 8, 1, 2, List.of(3, 5)));
        long e3 = FlopsFormula.flopsPerImage(arch("e3", 8, 1, 2, List.of(5)));
        long vit = FlopsFormula.flopsPerImage(arch("vit", 0, 0, 1, List.of()));
        assertEquals(2 * vmoe, ensemble);
        assertEquals(2 * vit, FlopsFormula.flopsPerImage(arch("deep_ensemble", 0, 0, 2, List.of())));
        // A K=1 V-MoE layer costs a dense layer plus its router over all E experts.
        assertEquals(vit + 2 * (2L * 16 * 64 * 8), vmoe);
        assertTrue(e3 < ensemble, "E3 tiles only the last layer, so it must cost less than two whole V-MoEs");
    }

    @Test
    void secondMoeLayerMovesTheTilingEarlierAndCostsMore() {
        long n1 = FlopsFormula.flopsPerImage(arch("e3", 8, 1, 2, List.of(5)));
        long n2 = FlopsFormula.flopsPerImage(arch("e3", 8, 1, 2, List.of(3, 5)));
        // n=2 tiles from layer 3 on: dense layer 4 now runs twice (one more attention + mlp), and layer 3 turns from
        // one dense pass into two MoE passes (one more attention + mlp, plus a router for each of the two members).
        long attention = 2 * (196_608 + 32_768 + 65_536);
        long mlp = 524_288;
        long router = 2 * 16 * 64 * 4;
        assertEquals(n1 + (attention + mlp) + (attention + mlp + 2 * router), n2);
    }

    @Test
    void everyShippedBundleRecordsTheFormulasFlops() {
        List<Path> bundles = RepoFiles.bundles();
        assertFalse(bundles.isEmpty(), "no bundles under " + RepoFiles.models());
        for (Path dir : bundles) {
            BundleManifest m = BundleManifest.read(dir.resolve("model.json"));
            assertEquals(FlopsFormula.flopsPerImage(m.architecture()), m.flopsPerImage(), dir.toString());
        }
    }
}
