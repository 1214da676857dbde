package e3stream.runtime.triage;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

class ConformalPredictorTest {

    @Test
    void quantileIsTheCeilOfNPlusOneTimesOneMinusAlphaSmallestScore() {
        double[] scores = new double[19];
        for (int i = 0; i < 19; i++) {
            scores[i] = 19 - i; // 19..1, unsorted on purpose
        }
        assertEquals(18.0, ConformalPredictor.finiteSampleQuantile(scores, 0.1), 0.0); // ceil(20 * 0.9) = 18

        double[] hundredLess = new double[99];
        for (int i = 0; i < 99; i++) {
            hundredLess[i] = i + 1;
        }
        // (99 + 1) * 0.95 is 95 up to rounding: the 95th score, not the 96th
        assertEquals(95.0, ConformalPredictor.finiteSampleQuantile(hundredLess, 0.05), 0.0);
        assertEquals(96.0, ConformalPredictor.finiteSampleQuantile(hundredLess, 0.04), 0.0); // ceil(96) = 96
    }

    @Test
    void refusesTooFewCalibrationItems() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ConformalPredictor.finiteSampleQuantile(new double[9], 0.05));
        assertEquals("conformal calibration at alpha=0.05 needs at least 19 calibration items, got 9; use more "
                + "validation data or a larger alpha", e.getMessage());
        ConformalPredictor.finiteSampleQuantile(new double[19], 0.05); // ceil(20 * 0.95) = 19 <= 19: fine
    }

    @Test
    void scoresMatchHandComputedValues() {
        double[] p = {0.1, 0.6, 0.3};
        assertEquals(0.7, ConformalPredictor.score(ConformalMethod.LAC, p, 2), 1e-15);
        assertEquals(0.9, ConformalPredictor.score(ConformalMethod.APS, p, 2), 1e-15);
        assertEquals(0.6, ConformalPredictor.score(ConformalMethod.APS, p, 1), 1e-15);
        assertEquals(1.0, ConformalPredictor.score(ConformalMethod.APS, p, 0), 1e-15);
    }

    @Test
    void rankingIsByDescendingProbabilityWithTiesToTheLowerIndex() {
        assertArrayEquals(new int[] {1, 3, 0, 2}, ConformalPredictor.ranking(new double[] {0.2, 0.4, 0.1, 0.3}));
        assertArrayEquals(new int[] {1, 2, 0, 3}, ConformalPredictor.ranking(new double[] {0.2, 0.3, 0.3, 0.2}));
    }

    @Test
    void lacSetHoldsClassesAboveOneMinusThresholdAndCanBeEmpty() {
        ConformalPredictor lac = new ConformalPredictor(ConformalMethod.LAC, 0.1, 0.7);
        assertArrayEquals(new int[] {0, 1}, lac.predictionSet(new double[] {0.5, 0.35, 0.15}));
        assertArrayEquals(new int[] {2}, lac.predictionSet(new double[] {0.05, 0.15, 0.8}));
        assertArrayEquals(new int[0], lac.predictionSet(new double[] {0.25, 0.25, 0.25, 0.25}));
    }

    @Test
    void apsSetIsTheRankedPrefixWithinTheThresholdAndNeverEmpty() {
        double[] p = {0.1, 0.6, 0.3}; // ranking 1, 2, 0; cumulative 0.6, 0.9, 1.0
        assertArrayEquals(new int[] {1}, new ConformalPredictor(ConformalMethod.APS, 0.1, 0.65).predictionSet(p));
        assertArrayEquals(new int[] {1, 2}, new ConformalPredictor(ConformalMethod.APS, 0.1, 0.9).predictionSet(p));
        assertArrayEquals(new int[] {1, 2, 0},
                new ConformalPredictor(ConformalMethod.APS, 0.1, 1.0).predictionSet(p));
        // the top class is always in, even when its own score exceeds the threshold
        assertArrayEquals(new int[] {1}, new ConformalPredictor(ConformalMethod.APS, 0.1, 0.5).predictionSet(p));
    }

    @Test
    void coverageGuaranteeHoldsEmpiricallyOnSyntheticData() {
        for (ConformalMethod method : ConformalMethod.values()) {
            Random rnd = new Random(42);
            double alpha = 0.1;
            int n = 500;
            int trials = 200;
            int test = 2000;
            double coverageSum = 0;
            double sizeSum = 0;
            for (int t = 0; t < trials; t++) {
                Sample cal = Sample.draw(rnd, n);
                ConformalPredictor cp = ConformalPredictor.calibrate(method, alpha, cal.probs, cal.labels);
                Sample ts = Sample.draw(rnd, test);
                int covered = 0;
                for (int i = 0; i < test; i++) {
                    int[] set = cp.predictionSet(ts.probs[i]);
                    sizeSum += set.length;
                    for (int c : set) {
                        if (c == ts.labels[i]) {
                            covered++;
                        }
                    }
                }
                coverageSum += (double) covered / test;
            }
            double coverage = coverageSum / trials;
            // E[coverage] >= 1 - alpha; sd of this mean is about 0.0015 (200 calibration draws)
            assertTrue(coverage >= 1 - alpha - 0.005, method + " coverage " + coverage);
            // continuous scores: E[coverage] <= 1 - alpha + 1/(n+1); APS only adds the top class when it is not in
            if (method == ConformalMethod.LAC) {
                assertTrue(coverage <= 1 - alpha + 1.0 / (n + 1) + 0.005, method + " coverage " + coverage);
            }
            double meanSize = sizeSum / trials / test;
            assertTrue(meanSize > 1 && meanSize < 5, method + " mean set size " + meanSize);
        }
    }

    /** Overconfident synthetic classifier over 5 classes: labels drawn from softmax(z), probabilities softmax(2z). */
    private record Sample(double[][] probs, int[] labels) {
        static Sample draw(Random rnd, int n) {
            double[][] probs = new double[n][];
            int[] labels = new int[n];
            for (int i = 0; i < n; i++) {
                double[] z = new double[5];
                for (int c = 0; c < 5; c++) {
                    z[c] = rnd.nextGaussian() * 1.5;
                }
                double[] truth = softmax(z, 1);
                double u = rnd.nextDouble();
                int y = 0;
                for (double cum = truth[0]; cum < u && y < 4; cum += truth[++y]) {
                    // walk the cumulative distribution
                }
                labels[i] = y;
                probs[i] = softmax(z, 2);
            }
            return new Sample(probs, labels);
        }

        static double[] softmax(double[] z, double scale) {
            double max = Double.NEGATIVE_INFINITY;
            for (double v : z) {
                max = Math.max(max, v * scale);
            }
            double[] p = new double[z.length];
            double sum = 0;
            for (int c = 0; c < z.length; c++) {
                p[c] = Math.exp(z[c] * scale - max);
                sum += p[c];
            }
            for (int c = 0; c < z.length; c++) {
                p[c] /= sum;
            }
            return p;
        }
    }
}
