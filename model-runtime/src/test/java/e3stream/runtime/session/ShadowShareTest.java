package e3stream.runtime.session;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class ShadowShareTest {

    @Test
    void picksTheSameIdsEveryTimeAndAboutTheShare() {
        ShadowShare half = new ShadowShare(0.5);
        int picked = 0;
        for (int i = 0; i < 10_000; i++) {
            String id = "img-" + i;
            boolean in = half.includes(id);
            assertEquals(in, new ShadowShare(0.5).includes(id), "same answer for " + id);
            assertEquals(in, ShadowShare.position(id) < 0.5);
            picked += in ? 1 : 0;
        }
        // Binomial(10000, 0.5): sd 50; 5 sd either side.
        assertTrue(Math.abs(picked - 5000) < 250, "picked " + picked + " of 10000");
    }

    @Test
    void aSmallerShareIsASubsetOfALargerOne() {
        for (int i = 0; i < 2000; i++) {
            String id = "e-" + i;
            if (new ShadowShare(0.1).includes(id)) {
                assertTrue(new ShadowShare(0.3).includes(id), id);
            }
        }
    }

    @Test
    void oneTakesEveryEventAndZeroNone() {
        assertTrue(ShadowShare.ALL.includes("anything"));
        assertFalse(new ShadowShare(0).includes("anything"));
        double p = ShadowShare.position("x");
        assertTrue(p >= 0 && p < 1, "position " + p);
    }

    @Test
    void rejectsAShareOutsideZeroToOne() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new ShadowShare(1.5));
        assertEquals("shadow share must be in [0, 1], found 1.5", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new ShadowShare(Double.NaN));
    }
}
