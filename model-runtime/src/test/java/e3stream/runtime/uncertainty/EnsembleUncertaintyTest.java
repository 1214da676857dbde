package e3stream.runtime.uncertainty;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

class EnsembleUncertaintyTest {

    private static final double LN3 = Math.log(3);
    private static final double LN9 = Math.log(9);

    @Test
    void singleMemberGivesItsSoftmaxAndExactlyZeroMutualInformation() {
        Uncertainty u = new EnsembleUncertainty(1.0).compute(new float[][] {{0f, (float) LN3}});

        assertArrayEquals(new double[] {0.25, 0.75}, u.probabilities(), 1e-7);
        assertEquals(1, u.classIndex());
        assertEquals(0.75, u.confidence(), 1e-7);
        assertEquals(0.5, u.margin(), 1e-7);
        double h = -(0.25 * Math.log(0.25) + 0.75 * Math.log(0.75));
        assertEquals(h, u.entropy(), 1e-7);
        assertEquals(u.entropy(), u.expectedEntropy(), 0.0);
        assertEquals(0.0, u.mutualInformation(), 0.0);
        assertEquals(0.0, u.memberDisagreement(), 0.0);
    }

    @Test
    void opposedConfidentMembersHaveHighMutualInformationAndDisagree() {
        // member 0: p = (0.9, 0.1); member 1: p = (0.1, 0.9); ensemble: (0.5, 0.5)
        Uncertainty u = new EnsembleUncertainty(1.0)
                .compute(new float[][] {{(float) LN9, 0f}, {0f, (float) LN9}});

        assertArrayEquals(new double[] {0.5, 0.5}, u.probabilities(), 1e-7);
        assertEquals(0, u.classIndex(), "ties go to the lowest class index");
        assertEquals(0.0, u.margin(), 1e-7);
        assertEquals(Math.log(2), u.entropy(), 1e-7);
        double memberH = -(0.9 * Math.log(0.9) + 0.1 * Math.log(0.1)); // 0.3250829734
        assertEquals(memberH, u.expectedEntropy(), 1e-7);
        assertEquals(Math.log(2) - memberH, u.mutualInformation(), 1e-7); // 0.3680642071
        assertEquals(0.5, u.memberDisagreement(), 0.0);
    }

    @Test
    void temperatureDividesTheLogits() {
        Uncertainty u = new EnsembleUncertainty(2.0).compute(new float[][] {{(float) (2 * LN3), 0f}});
        assertArrayEquals(new double[] {0.75, 0.25}, u.probabilities(), 1e-7);
    }

    @Test
    void threeMembersHandComputed() {
        // softmaxes: (0.75, 0.25), (0.25, 0.75), (0.75, 0.25) -> ensemble (7/12, 5/12)
        Uncertainty u = new EnsembleUncertainty(1.0)
                .compute(new float[][] {{(float) LN3, 0f}, {0f, (float) LN3}, {(float) LN3, 0f}});
        assertArrayEquals(new double[] {7.0 / 12, 5.0 / 12}, u.probabilities(), 1e-7);
        assertEquals(0, u.classIndex());
        assertEquals(2.0 / 12, u.margin(), 1e-7);
        double h = -(7.0 / 12 * Math.log(7.0 / 12) + 5.0 / 12 * Math.log(5.0 / 12));
        double hm = -(0.75 * Math.log(0.75) + 0.25 * Math.log(0.25));
        assertEquals(h, u.entropy(), 1e-7);
        assertEquals(hm, u.expectedEntropy(), 1e-7);
        assertEquals(h - hm, u.mutualInformation(), 1e-7);
        assertEquals(1.0 / 3, u.memberDisagreement(), 1e-15);
    }

    @Test
    void extremeLogitsStayFiniteAndExact() {
        Uncertainty u = new EnsembleUncertainty(1.0)
                .compute(new float[][] {{1e4f, -1e4f}, {-1e4f, 1e4f}});
        assertArrayEquals(new double[] {0.5, 0.5}, u.probabilities(), 1e-15);
        assertEquals(Math.log(2), u.entropy(), 1e-15);
        assertEquals(0.0, u.expectedEntropy(), 0.0);
        assertEquals(Math.log(2), u.mutualInformation(), 1e-15);

        Uncertainty sure = new EnsembleUncertainty(0.5).compute(new float[][] {{1e4f, -1e4f, 0f}, {1e4f, 0f, -1e4f}});
        assertArrayEquals(new double[] {1.0, 0.0, 0.0}, sure.probabilities(), 0.0);
        assertEquals(0.0, sure.entropy(), 0.0);
        assertEquals(0.0, sure.mutualInformation(), 0.0);
        assertEquals(1.0, sure.margin(), 0.0);
    }

    @Test
    void logProbabilitiesStayFiniteWhereProbabilitiesUnderflow() {
        double[] logP = new EnsembleUncertainty(1.0).logProbabilities(new float[][] {{1e4f, -1e4f}});
        assertEquals(0.0, logP[0], 0.0);
        assertEquals(-2e4, logP[1], 1e-9);
    }

    @Test
    void propertiesHoldOnRandomLogits() {
        Random rnd = new Random(7);
        EnsembleUncertainty math = new EnsembleUncertainty(1.3);
        for (int trial = 0; trial < 2000; trial++) {
            int m = 1 + rnd.nextInt(5);
            int c = 2 + rnd.nextInt(12);
            double scale = Math.pow(10, rnd.nextInt(5) - 1); // 0.1 .. 1000
            float[][] z = new float[m][c];
            for (float[] row : z) {
                for (int k = 0; k < c; k++) {
                    row[k] = (float) (rnd.nextGaussian() * scale);
                }
            }
            Uncertainty u = math.compute(z);
            double sum = 0;
            for (double p : u.probabilities()) {
                assertTrue(p >= 0 && p <= 1);
                sum += p;
            }
            assertEquals(1.0, sum, 1e-12);
            assertTrue(u.mutualInformation() >= 0, "MI >= 0");
            assertTrue(u.entropy() <= Math.log(c) + 1e-12, "H <= ln C");
            assertTrue(u.expectedEntropy() <= u.entropy() + 1e-12, "E <= H");
            assertTrue(u.mutualInformation() <= Math.log(m) + 1e-12, "MI <= ln M");
            assertEquals(u.entropy() - u.expectedEntropy(), u.mutualInformation(), 1e-12);
            assertTrue(u.margin() >= 0 && u.margin() <= u.confidence());
            if (m == 1) {
                assertEquals(0.0, u.mutualInformation(), 0.0);
            }

            float[][] agreeing = new float[m][];
            for (int i = 0; i < m; i++) {
                agreeing[i] = z[0].clone();
            }
            Uncertainty same = math.compute(agreeing);
            assertEquals(0.0, same.mutualInformation(), 1e-15, "identical members carry no epistemic uncertainty");
            assertEquals(0.0, same.memberDisagreement(), 0.0);
        }
    }

    @Test
    void rejectsBadInputWithAClearMessage() {
        EnsembleUncertainty math = new EnsembleUncertainty(1.0);
        IllegalArgumentException ragged = assertThrows(IllegalArgumentException.class,
                () -> math.compute(new float[][] {{1f, 2f}, {1f}}));
        assertEquals("member 1 has 1 logits but member 0 has 2; every member needs one logit per class",
                ragged.getMessage());
        IllegalArgumentException nan = assertThrows(IllegalArgumentException.class,
                () -> math.compute(new float[][] {{1f, Float.NaN}}));
        assertTrue(nan.getMessage().startsWith("logit [member 0][class 1] is NaN"), nan.getMessage());
        assertThrows(IllegalArgumentException.class, () -> math.compute(new float[0][]));
        IllegalArgumentException batch = assertThrows(IllegalArgumentException.class,
                () -> math.computeBatch(new float[][][] {{{1f, 2f}}, {{1f}}}));
        assertTrue(batch.getMessage().startsWith("batch item 1: "), batch.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new EnsembleUncertainty(0));
        assertThrows(IllegalArgumentException.class, () -> new EnsembleUncertainty(Double.NaN));
    }
}
