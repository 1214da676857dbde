package e3stream.runtime.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Random;
import org.junit.jupiter.api.Test;

class AurocTest {
    @Test
    void perfectReversedAndTiedScores() {
        assertEquals(1.0, Auroc.of(new double[] {3, 4}, new double[] {1, 2}));
        assertEquals(0.0, Auroc.of(new double[] {1, 2}, new double[] {3, 4}));
        assertEquals(0.5, Auroc.of(new double[] {1, 1, 1}, new double[] {1, 1}));
    }

    @Test
    void countsTiesAsHalfAPairByHand() {
        // Pairs (pos, neg): (0.9, 0.5) 1, (0.9, 0.1) 1, (0.5, 0.5) 0.5, (0.5, 0.1) 1 -> 3.5 / 4.
        assertEquals(0.875, Auroc.of(new double[] {0.9, 0.5}, new double[] {0.5, 0.1}), 1e-12);
    }

    @Test
    void equalsThePairwiseDefinitionOnRandomScores() {
        Random r = new Random(7);
        double[] pos = new double[300];
        double[] neg = new double[200];
        for (int i = 0; i < pos.length; i++) {
            pos[i] = Math.round(r.nextGaussian() * 4 + 1) / 4.0; // coarse values: many ties
        }
        for (int i = 0; i < neg.length; i++) {
            neg[i] = Math.round(r.nextGaussian() * 4) / 4.0;
        }
        double pairs = 0;
        for (double p : pos) {
            for (double n : neg) {
                pairs += p > n ? 1 : p == n ? 0.5 : 0;
            }
        }
        assertEquals(pairs / (pos.length * neg.length), Auroc.of(pos, neg), 1e-12);
        assertEquals(1 - pairs / (pos.length * neg.length), Auroc.of(Auroc.negate(pos), Auroc.negate(neg)), 1e-12);
    }

    @Test
    void refusesEmptyAndNaNInput() {
        assertThrows(IllegalArgumentException.class, () -> Auroc.of(new double[0], new double[] {1}));
        assertThrows(IllegalArgumentException.class, () -> Auroc.of(new double[] {Double.NaN}, new double[] {1}));
    }
}
