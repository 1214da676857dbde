package e3stream.runtime.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import e3stream.runtime.session.Scored;
import e3stream.runtime.session.Scorer;
import e3stream.runtime.session.TriageOverrides;
import e3stream.runtime.testutils.RepoFiles;
import e3stream.runtime.triage.TriageConfig;
import e3stream.runtime.triage.TriageDecision;
import org.junit.jupiter.api.Test;

/**
 * The optional feature_log_density output (docs/design.md, "The model bundle"): read when the graph has it, parity with
 * PyTorch, the density triage rule; a bundle without it still loads and works.
 */
class FeatureDensityTest {

    /** The parity bound of the golden tests, relative for densities of order 10-100 (float32 graph). */
    private static final double TOLERANCE = 1e-4;

    @Test
    void aBundleWithTheOutputGivesPyTorchsDensityAndLogits() throws Exception {
        ModelBundle bundle = ModelBundle.load(RepoFiles.densityFixture());
        JsonNode golden = new ObjectMapper().readTree(bundle.goldenPath().orElseThrow().toFile());
        int n = golden.get("inputs").size();
        int pixels = bundle.manifest().input().pixelsPerImage();
        float[] images = new float[n * pixels];
        for (int i = 0; i < n; i++) {
            for (int p = 0; p < pixels; p++) {
                images[i * pixels + p] = (float) golden.get("inputs").get(i).get(p).asDouble();
            }
        }
        try (E3Model model = E3Model.open(bundle, ExecutionOptions.cpu())) {
            assertTrue(model.hasFeatureLogDensity());
            ModelOutput out = model.run(images, n);
            for (int i = 0; i < n; i++) {
                double expected = golden.get("feature_log_density").get(i).asDouble();
                assertEquals(expected, out.featureLogDensity()[i], TOLERANCE * Math.max(1, Math.abs(expected)),
                        "density of image " + i);
                for (int m = 0; m < out.memberLogits()[i].length; m++) {
                    for (int c = 0; c < out.memberLogits()[i][m].length; c++) {
                        assertEquals(golden.get("member_logits").get(i).get(m).get(c).asDouble(),
                                out.memberLogits()[i][m][c], TOLERANCE, "logit " + i + "/" + m + "/" + c);
                    }
                }
            }
            // One image alone gets the density it gets in a batch.
            float[] first = java.util.Arrays.copyOf(images, pixels);
            assertEquals(out.featureLogDensity()[0], model.run(first, 1).featureLogDensity()[0], 1e-3);
        }
    }

    @Test
    void aBundleWithoutTheOutputStillLoadsAndScoresWithoutADensity() {
        ModelBundle withoutDensity = ModelBundle.load(RepoFiles.noDensityFixture());
        try (E3Model model = E3Model.open(withoutDensity, ExecutionOptions.cpu())) {
            assertFalse(model.hasFeatureLogDensity());
            ModelOutput out = model.run(new float[withoutDensity.manifest().input().pixelsPerImage()], 1);
            assertNull(out.featureLogDensity());
            Scored scored = Scorer.of(withoutDensity.manifest(), new TriageOverrides(null, null, null, 1e9)).score(out.image(0));
            assertFalse(scored.hasFeatureLogDensity());
            assertFalse(scored.decision().reasons().contains(TriageDecision.OUT_OF_DISTRIBUTION),
                    "the density rule does not apply to an item without a density");
        }
    }

    @Test
    void itemsBelowTheDensityThresholdGoToReviewAsOutOfDistribution() {
        ModelBundle bundle = ModelBundle.load(RepoFiles.densityFixture());
        try (E3Model model = E3Model.open(bundle, ExecutionOptions.cpu())) {
            ModelOutput out = model.run(new float[bundle.manifest().input().pixelsPerImage()], 1);
            double density = out.featureLogDensity()[0];
            Scored below = Scorer.of(bundle.manifest(), new TriageOverrides(0.0, null, null, density + 1))
                    .score(out.image(0));
            assertTrue(below.decision().reasons().contains(TriageDecision.OUT_OF_DISTRIBUTION));
            assertFalse(below.accepted());
            assertEquals(density, below.featureLogDensity(), 0.0);
            Scored above = Scorer.of(bundle.manifest(), new TriageOverrides(0.0, null, 1e9, density - 1))
                    .score(out.image(0));
            assertFalse(above.decision().reasons().contains(TriageDecision.OUT_OF_DISTRIBUTION));
        }
    }

    @Test
    void theDensitySectionDescribesTheOutput() {
        BundleManifest manifest = ModelBundle.load(RepoFiles.densityFixture()).manifest();
        JsonNode density = manifest.toJson().get("density");
        assertEquals(E3Model.DENSITY_OUTPUT, density.get("output").asText());
        assertTrue(manifest.referenceJson().get("signals").has("feature_log_density"));
    }

    @Test
    void theDensityRuleRoundTripsThroughModelJsonAndIsOnlyWrittenWhenSet() throws Exception {
        TriageConfig base = TriageConfig.fromJson(ModelBundle.load(RepoFiles.noDensityFixture()).manifest()
                .triageJson());
        assertNull(base.minFeatureLogDensity());
        assertFalse(base.toJson().has("min_feature_log_density"), "bundles without the rule keep their triage JSON");
        TriageConfig withRule = base.withMinFeatureLogDensity(-12.5);
        assertEquals(withRule, TriageConfig.fromJson(withRule.toJson()));
        assertEquals(-12.5, withRule.toJson().get("min_feature_log_density").asDouble());
        assertTrue(withRule.describe().contains("feature_log_density >= -12.5"));
    }
}
