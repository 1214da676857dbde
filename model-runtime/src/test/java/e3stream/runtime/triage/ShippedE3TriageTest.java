package e3stream.runtime.triage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import e3stream.runtime.data.IdxReader;
import e3stream.runtime.data.ImageSet;
import e3stream.runtime.model.E3Model;
import e3stream.runtime.model.ExecutionOptions;
import e3stream.runtime.model.ModelBundle;
import e3stream.runtime.stats.CalibrationStats;
import e3stream.runtime.stats.DriftStats;
import e3stream.runtime.stats.DriftStats.DriftSnapshot;
import e3stream.runtime.stats.ReferenceDistributions;
import e3stream.runtime.testutils.RepoFiles;
import e3stream.runtime.uncertainty.EnsembleUncertainty;
import e3stream.runtime.uncertainty.Uncertainty;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Triage, conformal sets and drift statistics on the shipped E3 bundle, run by ONNX Runtime on the committed 2,000
 * Fashion-MNIST test images (in-distribution) and 500 MNIST digits (out-of-distribution). Bounds are statistical
 * (stated per test), not figures of one training run.
 */
class ShippedE3TriageTest {

    private static ModelBundle bundle;
    private static float[][][] test;
    private static int[] testLabels;
    private static float[][][] digits;

    @BeforeAll
    static void runTheModel() {
        bundle = ModelBundle.load(RepoFiles.bundle("e3"));
        ImageSet fashion = IdxReader.read("fashion-mnist test[:2000]",
                RepoFiles.data("fashion-mnist-test-2000-images-idx3-ubyte.gz"),
                RepoFiles.data("fashion-mnist-test-2000-labels-idx1-ubyte.gz"));
        ImageSet mnist = IdxReader.read("mnist[:500]", RepoFiles.data("mnist-500-images-idx3-ubyte.gz"),
                RepoFiles.data("mnist-500-labels-idx1-ubyte.gz"));
        try (E3Model model = E3Model.open(bundle, ExecutionOptions.cpu())) {
            test = logits(model, fashion);
            digits = logits(model, mnist);
        }
        testLabels = fashion.labels();
    }

    private static float[][][] logits(E3Model model, ImageSet images) {
        float[][][] out = new float[images.count()][][];
        for (int from = 0; from < images.count(); from += 250) {
            int to = Math.min(images.count(), from + 250);
            float[][][] batch = model.memberLogits(images.normalised(from, to, model.manifest().input()), to - from);
            System.arraycopy(batch, 0, out, from, to - from);
        }
        return out;
    }

    @Test
    void conformalCoverageHoldsOnHeldOutTestImages() {
        Uncertainty[] u = new EnsembleUncertainty(bundle.manifest().temperature()).computeBatch(test);
        int n = u.length;
        double alpha = 0.05;
        int splits = 40;
        for (ConformalMethod method : ConformalMethod.values()) {
            Random rnd = new Random(1);
            double coverage = 0;
            for (int s = 0; s < splits; s++) {
                int[] perm = permutation(rnd, n);
                double[][] p = new double[n / 2][];
                int[] y = new int[n / 2];
                for (int k = 0; k < n / 2; k++) {
                    p[k] = u[perm[k]].probabilities();
                    y[k] = testLabels[perm[k]];
                }
                ConformalPredictor cp = ConformalPredictor.calibrate(method, alpha, p, y);
                int covered = 0;
                for (int k = n / 2; k < n; k++) {
                    for (int c : cp.predictionSet(u[perm[k]].probabilities())) {
                        covered += c == testLabels[perm[k]] ? 1 : 0;
                    }
                }
                coverage += covered / (double) (n - n / 2) / splits;
            }
            // random splits of a fixed set are exchangeable, so E[coverage] >= 0.95; the mean of 40 splits
            // has a standard deviation of about 0.002 (measured spread of single splits about 0.008)
            assertTrue(coverage >= 1 - alpha - 0.006, method + " mean held-out coverage " + coverage);
        }
    }

    @Test
    void shippedConformalThresholdCoversTheTestImages() {
        TriageConfig config = TriageConfig.fromJson(bundle.manifest().triageJson());
        if (config.conformal() == null) {
            return; // nothing to check: the bundle ships no conformal rule (TriageConfigTest covers parsing)
        }
        ConformalPredictor cp = new ConformalPredictor(config.conformal());
        Uncertainty[] u = new EnsembleUncertainty(bundle.manifest().temperature()).computeBatch(test);
        int covered = 0;
        for (int i = 0; i < u.length; i++) {
            for (int c : cp.predictionSet(u[i].probabilities())) {
                covered += c == testLabels[i] ? 1 : 0;
            }
        }
        double target = 1 - config.conformal().alpha();
        double coverage = covered / (double) u.length;
        // calibrated on the validation split: 4 binomial standard errors of a 2,000-image sample
        assertTrue(coverage >= target - 4 * Math.sqrt(target * (1 - target) / u.length),
                "coverage " + coverage + " of the shipped threshold, target " + target);
    }

    @Test
    void calibrateOnHalfTheTestImagesMeetsTheErrorGoalOnTheOtherHalf() {
        double goal = 0.03;
        int seeds = 10;
        double heldOutError = 0;
        double reviewRate = 0;
        for (int seed = 0; seed < seeds; seed++) {
            CalibrationResult r = ThresholdCalibrator.builder().goal(CalibrationGoal.maxAcceptedError(goal))
                    .seed(seed).build().calibrate(test, testLabels);
            assertTrue(r.goalMet(), r.summary());
            assertTrue(r.holdout().nll() <= r.holdout().nllAtUnitTemperature() + 0.01, r.summary());
            heldOutError += r.holdout().acceptedError() / seeds;
            reviewRate += r.holdout().reviewRate() / seeds;
        }
        System.out.printf("calibrate on e3, test[:2000] halves, %d seeds: held-out accepted error %.4f (goal %.2f),"
                + " review rate %.4f%n", seeds, heldOutError, goal, reviewRate);
        // about 800 accepted items per holdout: one binomial standard error of 0.03 is 0.006
        assertTrue(heldOutError <= goal + 0.006, "mean held-out accepted error " + heldOutError);
        assertTrue(reviewRate < 0.9, "the goal is met by reviewing, not by rejecting everything: " + reviewRate);
    }

    @Test
    void driftStatsSeeNoShiftOnTestImagesAndAShiftOnDigits() {
        ReferenceDistributions reference = ReferenceDistributions.fromJson(bundle.manifest().referenceJson());
        assertEquals(10, reference.numClasses());
        EnsembleUncertainty math = new EnsembleUncertainty(bundle.manifest().temperature());
        TriagePolicy policy = new TriagePolicy(TriageConfig.fromJson(bundle.manifest().triageJson()));

        DriftStats inDistribution = new DriftStats(reference);
        CalibrationStats labelled = new CalibrationStats(10);
        for (int i = 0; i < test.length; i++) {
            Uncertainty u = math.compute(test[i]);
            boolean review = !policy.decide(u).accepted();
            inDistribution.add(u, review, Double.NaN); // from logits alone: no feature density here
            labelled.add(u, testLabels[i], review);
        }
        DriftStats ood = new DriftStats(reference);
        for (float[][] d : digits) {
            Uncertainty u = math.compute(d);
            ood.add(u, !policy.decide(u).accepted(), Double.NaN);
        }
        DriftSnapshot id = inDistribution.snapshot();
        DriftSnapshot shifted = ood.snapshot();
        CalibrationStats.CalibrationSnapshot cal = labelled.snapshot();
        System.out.printf("e3 drift: test[:2000] PSI %s KS %s JS %.4f est.acc %.4f acc %.4f review %.4f ECE %.4f%n",
                id.psi(), id.ks(), id.predictedClassJsDivergence(), id.estimatedAccuracy(), cal.accuracy(),
                id.reviewRate(), cal.ece());
        System.out.printf("e3 drift: mnist[:500] PSI %s KS %s JS %.4f est.acc %.4f review %.4f%n", shifted.psi(),
                shifted.ks(), shifted.predictedClassJsDivergence(), shifted.estimatedAccuracy(),
                shifted.reviewRate());

        // same distribution as the validation reference: below the customary "stable" PSI of 0.1
        for (String signal : ReferenceDistributions.SIGNALS) {
            assertTrue(id.psi().get(signal) < 0.1, signal + " PSI on test images " + id.psi().get(signal));
        }
        // label-free estimate within 3 binomial standard errors (about 0.024) of the measured accuracy
        assertEquals(cal.accuracy(), id.estimatedAccuracy(),
                3 * Math.sqrt(cal.accuracy() * (1 - cal.accuracy()) / test.length));
        // digits are not clothes: above the customary "shifted" PSI of 0.25 and more sent to review
        assertTrue(shifted.psi().get("confidence") > 0.25, "confidence PSI on digits " + shifted.psi());
        assertTrue(shifted.reviewRate() > id.reviewRate());
    }

    private static int[] permutation(Random rnd, int n) {
        int[] p = new int[n];
        for (int i = 0; i < n; i++) {
            p[i] = i;
        }
        for (int i = n - 1; i > 0; i--) {
            int j = rnd.nextInt(i + 1);
            int t = p[i];
            p[i] = p[j];
            p[j] = t;
        }
        return p;
    }
}
