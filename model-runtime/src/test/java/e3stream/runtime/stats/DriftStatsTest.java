package e3stream.runtime.stats;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import e3stream.runtime.stats.DriftStats.DriftSnapshot;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

class DriftStatsTest {

    /** Uniform on [0, hi]: percentile p is p·hi/100; PSI bins split at hi/2 with half the mass each. */
    private static SignalReference uniform(double hi) {
        double[] q = new double[101];
        for (int p = 0; p <= 100; p++) {
            q[p] = p * hi / 100;
        }
        return new SignalReference(new double[] {hi / 2}, new double[] {0.5, 0.5}, q);
    }

    private static ReferenceDistributions reference(double... predictedClass) {
        return new ReferenceDistributions("validation", 1000, Map.of("confidence", uniform(1.0), "entropy",
                uniform(0.6), "mutual_information", uniform(0.1)), predictedClass, 0.5, null, null);
    }

    @Test
    void handComputedPsiAndJensenShannon() {
        DriftStats d = new DriftStats(reference(0.5, 0.5));
        d.add(0.4, 0.1, 0.01, 0, true);
        d.add(0.3, 0.1, 0.01, 0, false);
        d.add(0.2, 0.1, 0.01, 0, false);
        d.add(0.7, 0.5, 0.01, 0, false);
        DriftSnapshot s = d.snapshot();

        assertEquals(4, s.count());
        assertEquals(0.4, s.meanConfidence(), 1e-15);
        assertEquals(0.4, s.estimatedAccuracy(), 1e-15);
        assertEquals(0.25, s.reviewRate(), 0.0);
        assertEquals(0.2, s.meanEntropy(), 1e-15);
        assertEquals(0.01, s.meanMutualInformation(), 1e-15);
        // confidence shares (0.75, 0.25) vs (0.5, 0.5)
        assertEquals(0.25 * Math.log(1.5) + 0.25 * Math.log(2), s.psi().get("confidence"), 1e-12);
        // mutual information: all in the first bin; the empty bin is floored at 1e-4
        double floored = 0.5 * Math.log(2) + (1e-4 - 0.5) * Math.log(1e-4 / 0.5);
        assertEquals(floored, s.psi().get("mutual_information"), 1e-12);
        assertEquals(floored, s.psi().get("predicted_class"), 1e-12);
        // JS((1, 0), (0.5, 0.5)) with m = (0.75, 0.25)
        double js = 0.5 * Math.log(1 / 0.75) + 0.5 * (0.5 * Math.log(0.5 / 0.75) + 0.5 * Math.log(0.5 / 0.25));
        assertEquals(js, s.predictedClassJsDivergence(), 1e-12);
        assertEquals(List.of(1.0, 0.0), s.predictedClassFractions());
        assertEquals(List.of("confidence", "entropy", "mutual_information", "predicted_class"),
                List.copyOf(s.psi().keySet()));
    }

    @Test
    void ksOfAPointMassIsTheReferenceMassOnTheFarSide() {
        DriftStats d = new DriftStats(reference(0.5, 0.5));
        for (int i = 0; i < 1000; i++) {
            d.add(0.3, 0.3, 0.05, i % 2, false);
        }
        DriftSnapshot s = d.snapshot();
        // F_ref(x) = x on [0, 1]: the largest gap is 1 - 0.3 just above 0.3 (bins there are about 1.6e-3 wide)
        assertEquals(0.7, s.ks().get("confidence"), 2e-3);
        assertEquals(0.5, s.ks().get("entropy"), 2e-3);
        assertEquals(0.5, s.ks().get("mutual_information"), 2e-3);
        assertEquals(0.0, s.psi().get("predicted_class"), 0.0);
        assertEquals(0.0, s.predictedClassJsDivergence(), 0.0);
    }

    @Test
    void samplesFromTheReferenceShowNoDriftAndShiftedOnesDo() {
        Random rnd = new Random(5);
        DriftStats same = new DriftStats(reference(0.5, 0.5));
        DriftStats shifted = new DriftStats(reference(0.5, 0.5));
        for (int i = 0; i < 50_000; i++) {
            double u = rnd.nextDouble();
            same.add(u, 0.6 * rnd.nextDouble(), 0.1 * rnd.nextDouble(), rnd.nextInt(2), false);
            shifted.add(u * u, 0.6 * rnd.nextDouble(), 0.1 * rnd.nextDouble(), rnd.nextDouble() < 0.8 ? 0 : 1, false);
        }
        DriftSnapshot s = same.snapshot();
        for (String signal : ReferenceDistributions.SIGNALS) {
            assertTrue(s.ks().get(signal) < 0.01, signal + " KS " + s.ks().get(signal));
            assertTrue(s.psi().get(signal) < 0.001, signal + " PSI " + s.psi().get(signal));
        }
        DriftSnapshot t = shifted.snapshot();
        // F(x) = sqrt(x) against x: the largest gap is 1/2 - 1/4 at x = 1/4
        assertEquals(0.25, t.ks().get("confidence"), 0.01);
        // shares (sqrt(0.5), 1 - sqrt(0.5)) against (0.5, 0.5)
        double a = Math.sqrt(0.5);
        assertEquals((a - 0.5) * Math.log(a / 0.5) + (0.5 - a) * Math.log((1 - a) / 0.5),
                t.psi().get("confidence"), 0.01);
        assertTrue(t.psi().get("predicted_class") > 0.25);
        assertTrue(t.ks().get("entropy") < 0.01, "unshifted signal stays quiet");
    }

    @Test
    void singleModelWithZeroMutualInformationShowsNoDrift() {
        // M = 1: mutual information is exactly 0 on the reference split and live
        SignalReference zero = SignalReference.fromSamples(new double[] {0, 0, 0});
        ReferenceDistributions ref = new ReferenceDistributions("validation", 3, Map.of("confidence", uniform(1.0),
                "entropy", uniform(0.6), "mutual_information", zero), new double[] {0.5, 0.5}, null, null, null);
        DriftStats d = new DriftStats(ref);
        for (int i = 0; i < 100; i++) {
            d.add(0.5 + i / 200.0, 0.3, 0.0, i % 2, false);
        }
        assertEquals(0.0, d.snapshot().psi().get("mutual_information"), 0.0);
        assertEquals(0.0, d.snapshot().ks().get("mutual_information"), 0.0);
        d.add(0.9, 0.3, 0.2, 0, false);
        assertEquals(1 / 101.0, d.snapshot().ks().get("mutual_information"), 1e-12);
    }

    @Test
    void mergeEqualsAccumulatingTheUnionExactly() throws Exception {
        Random rnd = new Random(8);
        ReferenceDistributions ref = reference(0.2, 0.3, 0.5);
        DriftStats union = new DriftStats(ref);
        DriftStats[] parts = {new DriftStats(ref), new DriftStats(ref), new DriftStats(ref)};
        for (int i = 0; i < 20_000; i++) {
            double c = 1 / 3.0 + 2 / 3.0 * rnd.nextDouble();
            double h = Math.log(3) * rnd.nextDouble();
            double mi = h * rnd.nextDouble();
            int k = rnd.nextInt(3);
            boolean reviewed = rnd.nextBoolean();
            union.add(c, h, mi, k, reviewed);
            parts[rnd.nextInt(3)].add(c, h, mi, k, reviewed);
        }
        DriftStats merged = DriftStats.merge(parts[1], DriftStats.merge(parts[2], parts[0]));
        assertEquals(union, merged);
        assertEquals(union.snapshot(), merged.snapshot());

        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
            out.writeObject(merged);
        }
        try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray()))) {
            assertEquals(union.snapshot(), ((DriftStats) in.readObject()).snapshot());
        }
        assertTrue(bytes.size() < 80_000, "bounded state: " + bytes.size() + " bytes");

        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> union.merge(new DriftStats(reference(0.5, 0.5))));
        assertTrue(e.getMessage().startsWith("cannot merge drift statistics built against different reference"));
    }

    @Test
    void snapshotSerialisesToJsonAndEmptyIsNaN() throws Exception {
        DriftStats d = new DriftStats(reference(0.5, 0.5));
        assertTrue(Double.isNaN(d.snapshot().psi().get("confidence")));
        d.add(0.9, 0.2, 0.01, 1, false);
        JsonNode json = new ObjectMapper().valueToTree(d.snapshot());
        assertEquals(0.9, json.get("estimatedAccuracy").asDouble(), 0.0);
        assertTrue(json.get("psi").has("predicted_class"));
        assertTrue(json.get("ks").get("confidence").isNumber());
    }

    @Test
    void refusesBadSignals() {
        DriftStats d = new DriftStats(reference(0.5, 0.5));
        assertEquals("confidence 1.5 is outside [0, 1]", assertThrows(IllegalArgumentException.class,
                () -> d.add(1.5, 0.1, 0.0, 0, false)).getMessage());
        assertThrows(IllegalArgumentException.class, () -> d.add(0.5, Double.NaN, 0.0, 0, false));
        assertEquals("predicted class 2 is outside [0, 2) (the reference has 2 classes)",
                assertThrows(IllegalArgumentException.class, () -> d.add(0.5, 0.1, 0.0, 2, false)).getMessage());
        assertEquals(0, d.count());
    }
}
