package e3stream.runtime.triage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import e3stream.runtime.stats.ReferenceDistributions;
import java.util.Random;
import org.junit.jupiter.api.Test;

class ThresholdCalibratorTest {

    /**
     * Synthetic validation set: z is Gaussian noise plus {@code signal} on one class, the true class of each item is
     * drawn from softmax(z) over 5 classes, and each of the
     * {@code members} members reports {@code scale * (z + memberNoise)}, i.e. is overconfident by {@code scale}.
     */
    private record Data(float[][][] logits, int[] labels) {
        static Data draw(long seed, int n, int members, double scale, double memberNoise) {
            return draw(seed, n, members, scale, memberNoise, 3.0);
        }

        static Data draw(long seed, int n, int members, double scale, double memberNoise, double signal) {
            Random rnd = new Random(seed);
            float[][][] logits = new float[n][members][5];
            int[] labels = new int[n];
            for (int i = 0; i < n; i++) {
                double[] z = new double[5];
                int hot = rnd.nextInt(5);
                for (int c = 0; c < 5; c++) {
                    z[c] = rnd.nextGaussian() + (c == hot ? signal : 0.0);
                }
                double max = Double.NEGATIVE_INFINITY;
                for (double v : z) {
                    max = Math.max(max, v);
                }
                double[] p = new double[5];
                double sum = 0;
                for (int c = 0; c < 5; c++) {
                    p[c] = Math.exp(z[c] - max);
                    sum += p[c];
                }
                double r = rnd.nextDouble() * sum;
                int y = 0;
                for (double cum = p[0]; cum < r && y < 4; cum += p[++y]) {
                    // walk the cumulative distribution
                }
                labels[i] = y;
                for (int m = 0; m < members; m++) {
                    for (int c = 0; c < 5; c++) {
                        logits[i][m][c] = (float) (scale * (z[c] + memberNoise * rnd.nextGaussian()));
                    }
                }
            }
            return new Data(logits, labels);
        }
    }

    @Test
    void fitsTheTemperatureThatUndoesOverconfidence() {
        Data d = Data.draw(1, 8000, 1, 3.0, 0.0);
        CalibrationResult r = ThresholdCalibrator.builder().goal(CalibrationGoal.maxReviewRate(0.2)).build()
                .calibrate(d.logits(), d.labels());
        assertEquals(3.0, r.temperature(), 0.2);
        assertTrue(r.holdout().nll() < r.holdout().nllAtUnitTemperature(), "calibration lowers held-out NLL");
        assertNull(r.triage().maxMutualInformation(), "a single model has no mutual-information rule");
    }

    @Test
    void acceptedErrorGoalHoldsOnCalibrationAndCarriesOverToHoldout() {
        Data d = Data.draw(2, 6000, 2, 2.0, 0.3);
        CalibrationResult r = ThresholdCalibrator.builder().goal(CalibrationGoal.maxAcceptedError(0.05))
                .conformal(ConformalMethod.LAC, 0.1).build().calibrate(d.logits(), d.labels());
        assertTrue(r.goalMet(), r.summary());
        assertTrue(r.calibration().acceptedError() <= 0.05, r.summary());
        assertTrue(r.holdout().acceptedError() <= 0.05 + 0.02, r.summary());
        assertTrue(r.holdout().reviewRate() > 0.05 && r.holdout().reviewRate() < 0.95, r.summary());
        assertTrue(r.holdout().conformalCoverage() >= 0.9 - 0.015, r.summary());
        assertEquals(3000, r.calibration().count());
        assertEquals(3000, r.holdout().count());
        assertTrue(r.triage().maxMutualInformation() > 0);
    }

    @Test
    void reviewRateGoalHoldsOnCalibrationAndCarriesOverToHoldout() {
        Data d = Data.draw(3, 6000, 2, 2.0, 0.3, 5.0);
        CalibrationResult r = ThresholdCalibrator.builder().goal(CalibrationGoal.maxReviewRate(0.2))
                .conformal(ConformalMethod.LAC, 0.1).build().calibrate(d.logits(), d.labels());
        assertTrue(r.goalMet(), r.summary());
        assertTrue(r.calibration().reviewRate() <= 0.2, r.summary());
        assertTrue(r.holdout().reviewRate() <= 0.2 + 0.025, r.summary());
        assertTrue(r.triage().minConfidence() > 0.5, r.summary());
        assertTrue(r.holdout().acceptedError() < (1 - r.holdout().accuracy()) / 2, "triage removes errors");
        assertTrue(r.holdout().conformalCoverage() >= 0.9 - 0.015, r.summary());
    }

    @Test
    void reportsAnUnreachableReviewGoal() {
        Data d = Data.draw(4, 2000, 2, 2.0, 0.3);
        CalibrationResult r = ThresholdCalibrator.builder().goal(CalibrationGoal.maxReviewRate(0.01))
                .conformal(ConformalMethod.APS, 0.01).build().calibrate(d.logits(), d.labels());
        assertFalse(r.goalMet());
        assertEquals(0.0, r.triage().minConfidence(), 0.0);
        assertTrue(r.note().startsWith("the mutual-information, entropy and conformal rules alone send"), r.note());
    }

    @Test
    void choosesTheLowestThresholdForAnErrorGoalAndTheHighestForAReviewGoal() {
        double[] conf = {0.8, 0.99, 0.7, 0.95, 0.9};
        boolean[] correct = {true, true, false, true, false};
        boolean[] all = {true, true, true, true, true};
        // error among accepted: t=.99 0/1, .95 0/2, .9 1/3, .8 1/4, .7 2/5
        assertEquals(0.8, ThresholdCalibrator.chooseMinConfidence(conf, all, correct,
                CalibrationGoal.maxAcceptedError(0.25)).minConfidence(), 0.0);
        // 0.2 needs 5 accepted items before an excess counts: .9 (1/3) and .8 (1/4) do not stop the walk
        assertEquals(0.95, ThresholdCalibrator.chooseMinConfidence(conf, all, correct,
                CalibrationGoal.maxAcceptedError(0.2)).minConfidence(), 0.0);
        // review: t=.99 0.8, .95 0.6, .9 0.4
        assertEquals(0.9, ThresholdCalibrator.chooseMinConfidence(conf, all, correct,
                CalibrationGoal.maxReviewRate(0.5)).minConfidence(), 0.0);
        // item 0.99 rejected by another rule: error goal 0 cannot be met except by accepting the 0.95 item too
        boolean[] notTop = {true, false, true, true, true};
        assertEquals(0.95, ThresholdCalibrator.chooseMinConfidence(conf, notTop, correct,
                CalibrationGoal.maxAcceptedError(0.0)).minConfidence(), 0.0);
        // the error curve dips back under the target at .55 (2/10) but first crossed it at .85 (2/4)
        double[] dip = {0.99, 0.95, 0.9, 0.85, 0.8, 0.75, 0.7, 0.65, 0.6, 0.55};
        boolean[] dipCorrect = {true, true, false, false, true, true, true, true, true, true};
        boolean[] ten = new boolean[10];
        java.util.Arrays.fill(ten, true);
        assertEquals(0.95, ThresholdCalibrator.chooseMinConfidence(dip, ten, dipCorrect,
                CalibrationGoal.maxAcceptedError(0.25)).minConfidence(), 0.0);
        ThresholdCalibrator.Choice none = ThresholdCalibrator.chooseMinConfidence(conf, all,
                new boolean[5], CalibrationGoal.maxAcceptedError(0.1));
        assertFalse(none.met());
        assertEquals(1.0, none.minConfidence(), 0.0);
    }

    @Test
    void writesTemperatureTriageAndReferenceThatReadBack() throws Exception {
        Data d = Data.draw(5, 1000, 2, 1.5, 0.5);
        CalibrationResult r = ThresholdCalibrator.builder().goal(CalibrationGoal.parse("accepted_error<=5%"))
                .conformal(ConformalMethod.APS, 0.1).build().calibrate(d.logits(), d.labels());
        ObjectNode model = (ObjectNode) new ObjectMapper().readTree("{\"name\": \"e3\", \"temperature\": 1.0}");
        r.applyTo(model);
        ObjectNode reread = (ObjectNode) new ObjectMapper().readTree(model.toString());
        assertEquals(r.temperature(), reread.get("temperature").asDouble(), 0.0);
        assertEquals(r.triage(), TriageConfig.fromJson(reread.get("triage")));
        ReferenceDistributions ref = ReferenceDistributions.fromJson(reread.get("reference"));
        assertEquals(r.reference(), ref);
        assertEquals(1000, ref.count());
        assertEquals("e3", reread.get("name").asText());
    }

    @Test
    void refusesMismatchedInput() {
        ThresholdCalibrator c = ThresholdCalibrator.builder().goal(CalibrationGoal.maxReviewRate(0.1)).build();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> c.calibrate(new float[][][] {{{1f, 2f}}, {{1f, 2f}}}, new int[] {0, 2}));
        assertEquals("label 2 of item 1 is outside [0, 2)", e.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> c.calibrate(new float[][][] {{{1f, 2f}}}, new int[] {0, 1}));
        assertThrows(IllegalArgumentException.class, () -> ThresholdCalibrator.builder().build());
        assertEquals(CalibrationGoal.maxReviewRate(0.1), CalibrationGoal.parse("review_rate <= 0.1"));
        assertThrows(IllegalArgumentException.class, () -> CalibrationGoal.parse("error<0.1"));
    }

    @Test
    void theDensityRuleFlagsAboutTheStatedShareOfCleanHoldoutItemsAndEntersTheReference() {
        Data d = Data.draw(41, 8000, 2, 1.0, 0.3);
        Random rnd = new Random(43);
        double[] density = new double[d.labels().length];
        for (int i = 0; i < density.length; i++) {
            density[i] = -20 + 3 * rnd.nextGaussian(); // clean validation items' feature log densities
        }
        CalibrationResult r = ThresholdCalibrator.builder().goal(CalibrationGoal.maxReviewRate(0.5))
                .densityFalseAlarmRate(0.05).build().calibrate(d.logits(), d.labels(), density);
        assertEquals(-20 + 3 * -1.6449, r.triage().minFeatureLogDensity(), 0.25, "the 5 % quantile of N(-20, 3)");
        // Held-out clean items: about the stated share flagged, within sampling noise (sd 0.0034 at n = 4000).
        assertEquals(0.05, r.holdout().densityFlagRate(), 0.015);
        assertTrue(r.reference().featureLogDensity().isPresent(), "the drift reference gets the density signal");
        ObjectNode json = new ObjectMapper().createObjectNode();
        json.set("triage", new ObjectMapper().createObjectNode());
        r.applyTo(json);
        assertEquals(r.triage().minFeatureLogDensity(), json.get("triage").get("min_feature_log_density").asDouble());
        assertTrue(json.get("reference").get("signals").has(ReferenceDistributions.FEATURE_LOG_DENSITY));
    }

    @Test
    void withoutDensitiesNoDensityRuleIsFitted() {
        Data d = Data.draw(47, 2000, 2, 1.0, 0.3);
        CalibrationResult r = ThresholdCalibrator.builder().goal(CalibrationGoal.maxReviewRate(0.5)).build()
                .calibrate(d.logits(), d.labels());
        assertNull(r.triage().minFeatureLogDensity());
        assertTrue(Double.isNaN(r.holdout().densityFlagRate()));
        assertFalse(r.reference().featureLogDensity().isPresent());
    }

    @Test
    void aDensityReviewBudgetRaisesTheDensityThresholdUntilTheBudgetIsSpent() {
        Data d = Data.draw(53, 8000, 2, 1.0, 0.3);
        Random rnd = new Random(59);
        double[] density = new double[d.labels().length];
        for (int i = 0; i < density.length; i++) {
            density[i] = -20 + 3 * rnd.nextGaussian();
        }
        CalibrationGoal goal = CalibrationGoal.maxReviewRate(0.3);
        // Only the confidence and density rules, so that the goal is reachable on this synthetic data.
        CalibrationResult plain = ThresholdCalibrator.builder().goal(goal).conformal(null, 0.05)
                .mutualInformationQuantile(null).densityFalseAlarmRate(0.05).build()
                .calibrate(d.logits(), d.labels(), density);
        double budget = plain.calibration().reviewRate() + 0.10;
        CalibrationResult budgeted = ThresholdCalibrator.builder().goal(goal).conformal(null, 0.05)
                .mutualInformationQuantile(null).densityFalseAlarmRate(0.05).densityReviewBudget(budget).build().calibrate(d.logits(), d.labels(), density);
        assertEquals(plain.triage().minConfidence(), budgeted.triage().minConfidence(), "min_confidence unchanged");
        assertTrue(budgeted.triage().minFeatureLogDensity() > plain.triage().minFeatureLogDensity(),
                "the threshold rises");
        // The calibration half spends the budget (to within one item); the held-out half lands near it.
        assertTrue(budgeted.calibration().reviewRate() <= budget + 1e-12);
        assertEquals(budget, budgeted.calibration().reviewRate(), 0.002);
        assertEquals(budget, budgeted.holdout().reviewRate(), 0.03);
        assertTrue(plain.goalMet() && plain.calibration().reviewRate() <= 0.3, "the goal holds before");
        assertTrue(budgeted.holdout().densityFlagRate() > plain.holdout().densityFlagRate() + 0.05);
    }

    @Test
    void raiseDensityThresholdStopsAtTheBudgetAndTheErrorAndNeverGoesDown() {
        double[] density = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
        boolean[] acceptedOthers = {true, true, true, true, true, true, true, true, false, true};
        boolean[] correct = {true, true, true, true, true, true, true, false, true, true};
        // Review budget 0.5: accepting the 5 densest the others accept (10, 8, 7, 6, 5 -> threshold 5) reviews 5 of 10.
        assertEquals(5.0, ThresholdCalibrator.raiseDensityThreshold(1, density, acceptedOthers, correct, 0.5, 1.0));
        // With at most 15 % accepted error: threshold 8 accepts {10, 8} with one error (50 %), 5 accepts five with that
        // one error (20 %), 4 six (17 %), 3 seven (14 %): 3 is the highest that fits both.
        assertEquals(3.0, ThresholdCalibrator.raiseDensityThreshold(1, density, acceptedOthers, correct, 0.5, 0.15));
        // A budget the start threshold already exceeds: nothing higher fits, the start stays.
        assertEquals(3.0, ThresholdCalibrator.raiseDensityThreshold(3, density, acceptedOthers, correct, 0.05, 1.0));
    }
}
