package e3stream.runtime.stats;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class FineGridTest {

    @Test
    void binsAreOrderedAndFinestAtTheDenseEnd() {
        FineGrid confidence = new FineGrid(0, 1, true);
        FineGrid entropy = new FineGrid(0, Math.log(10), false);
        for (FineGrid g : new FineGrid[] {confidence, entropy}) {
            double previous = g.lowerEdge(0);
            for (int j = 0; j < g.bins(); j++) {
                double upper = g.upperEdge(j);
                assertTrue(upper > previous, "edges increase at bin " + j);
                double mid = (g.lowerEdge(j) + upper) / 2;
                assertEquals(j, g.bin(mid), "the middle of bin " + j + " falls in it");
                previous = upper;
            }
        }
        assertEquals(FineGrid.BINS - 1, confidence.bin(1.0));
        assertEquals(0, confidence.bin(0.0));
        assertEquals(0, entropy.bin(0.0));
        assertEquals(FineGrid.BINS - 1, entropy.bin(5.0), "values past the range land in the end bin");
        // documented resolutions: about 1e-4 at confidence 0.99, 2.4e-7 at 1, 1.5e-4 at entropy 0.01 nats
        int j = confidence.bin(0.99);
        assertEquals(2 * Math.sqrt(0.01) / FineGrid.BINS, confidence.upperEdge(j) - confidence.lowerEdge(j), 2e-6);
        int last = FineGrid.BINS - 1;
        assertEquals(1.0 / FineGrid.BINS / FineGrid.BINS, 1 - confidence.lowerEdge(last), 1e-12);
        int k = entropy.bin(0.01);
        assertEquals(2 * Math.sqrt(0.01 * Math.log(10)) / FineGrid.BINS, entropy.upperEdge(k) - entropy.lowerEdge(k),
                2e-6);
    }
}
