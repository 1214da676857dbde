package e3stream.runtime.stats;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import e3stream.runtime.stats.ShadowComparison.ShadowSnapshot;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

class ShadowComparisonTest {

    /** Uniform on [0, 1]: PSI bins split at 0.5. */
    private static SignalReference halves() {
        double[] q = new double[101];
        for (int p = 0; p <= 100; p++) {
            q[p] = p / 100.0;
        }
        return new SignalReference(new double[] {0.5}, new double[] {0.5, 0.5}, q);
    }

    @Test
    void handComputedAgreementReviewRatesAndPsi() {
        ShadowComparison c = new ShadowComparison(halves());
        // active: confidences 0.9, 0.8, 0.3, 0.2 (shares 0.5 / 0.5); shadow: 0.9, 0.7, 0.6, 0.1 (0.25 / 0.75)
        c.add(1, 0.9, false, 1, 0.9, false);
        c.add(2, 0.8, false, 2, 0.7, true);
        c.add(3, 0.3, true, 4, 0.6, false);
        c.add(0, 0.2, true, 0, 0.1, true);
        ShadowSnapshot s = c.snapshot();
        assertEquals(4, s.count());
        assertEquals(0.75, s.agreement(), 0.0);
        assertEquals(0.5, s.activeReviewRate(), 0.0);
        assertEquals(0.5, s.shadowReviewRate(), 0.0);
        assertEquals(0.0, s.reviewRateDifference(), 0.0);
        assertEquals(0.55, s.activeMeanConfidence(), 1e-15);
        assertEquals(0.575, s.shadowMeanConfidence(), 1e-15);
        double psi = (0.25 - 0.5) * Math.log(0.25 / 0.5) + (0.75 - 0.5) * Math.log(0.75 / 0.5);
        assertEquals(psi, s.confidencePsi(), 1e-12);
    }

    @Test
    void psiIsDriftStatsPsiOfTheShadowAgainstTheActiveShares() {
        SignalReference bins = halves();
        ShadowComparison c = new ShadowComparison(bins);
        Random r = new Random(7);
        long[] shadowCounts = new long[2];
        long[] activeCounts = new long[2];
        for (int i = 0; i < 500; i++) {
            double a = r.nextDouble();
            double s = Math.min(1, r.nextDouble() * 1.3);
            c.add(r.nextInt(10), a, a < 0.5, r.nextInt(10), s, s < 0.5);
            activeCounts[bins.bin(a)]++;
            shadowCounts[bins.bin(s)]++;
        }
        double[] activeShares = {activeCounts[0] / 500.0, activeCounts[1] / 500.0};
        assertEquals(DriftStats.psi(shadowCounts, activeShares, 500), c.snapshot().confidencePsi(), 0.0);
    }

    @Test
    void identicalModelsAgreeFullyWithZeroPsiAndNoReviewDifference() {
        ShadowComparison c = new ShadowComparison(halves());
        Random r = new Random(3);
        for (int i = 0; i < 300; i++) {
            double conf = r.nextDouble();
            int cls = r.nextInt(10);
            c.add(cls, conf, conf < 0.4, cls, conf, conf < 0.4);
        }
        ShadowSnapshot s = c.snapshot();
        assertEquals(1.0, s.agreement(), 0.0);
        assertEquals(0.0, s.confidencePsi(), 0.0);
        assertEquals(0.0, s.reviewRateDifference(), 0.0);
    }

    @Test
    void mergeEqualsAccumulatingTheUnionAndSurvivesJavaSerialisation() throws Exception {
        ShadowComparison a = new ShadowComparison(halves());
        ShadowComparison b = new ShadowComparison(halves());
        ShadowComparison all = new ShadowComparison(halves());
        Random r = new Random(11);
        for (int i = 0; i < 400; i++) {
            double x = r.nextDouble();
            double y = r.nextDouble();
            int ca = r.nextInt(10);
            int cb = r.nextBoolean() ? ca : r.nextInt(10);
            (i % 3 == 0 ? a : b).add(ca, x, x < 0.3, cb, y, y < 0.3);
            all.add(ca, x, x < 0.3, cb, y, y < 0.3);
        }
        assertEquals(all, a.merge(b));
        assertEquals(all.snapshot(), a.snapshot());
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
            out.writeObject(all);
        }
        try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray()))) {
            assertEquals(all, in.readObject());
        }
    }

    @Test
    void emptyIsNaNAndBadValuesAreRefused() {
        ShadowComparison c = new ShadowComparison(halves());
        ShadowSnapshot s = c.snapshot();
        assertEquals(0, s.count());
        assertTrue(Double.isNaN(s.agreement()) && Double.isNaN(s.confidencePsi()));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> c.add(0, 1.2, false, 0, 0.5, false));
        assertEquals("confidences must be in [0, 1], found active 1.2, shadow 0.5", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> c.add(-1, 0.5, false, 0, 0.5, false));
    }

    @Test
    void driftStatsCarryTheComparisonThroughMergeAndCopy() {
        ReferenceDistributions ref = new ReferenceDistributions("validation", 1000, Map.of("confidence", halves(),
                "entropy", halves(), "mutual_information", halves()), new double[] {0.5, 0.5}, 0.5, null, null);
        DriftStats a = new DriftStats(ref, 2).compareShadow();
        DriftStats b = new DriftStats(ref, 2).compareShadow();
        a.shadow().orElseThrow().add(0, 0.9, false, 1, 0.8, false);
        b.shadow().orElseThrow().add(1, 0.4, true, 1, 0.3, true);
        DriftStats merged = DriftStats.merge(a, b);
        assertEquals(2, merged.shadow().orElseThrow().count());
        assertEquals(0.5, merged.shadow().orElseThrow().snapshot().agreement(), 0.0);
        assertEquals(0, merged.emptyLike().shadow().orElseThrow().count());
        // An accumulator without a comparison takes the other's when merged.
        DriftStats plain = new DriftStats(ref, 2);
        assertTrue(plain.shadow().isEmpty());
        assertEquals(2, plain.merge(merged).shadow().orElseThrow().count());
    }
}
