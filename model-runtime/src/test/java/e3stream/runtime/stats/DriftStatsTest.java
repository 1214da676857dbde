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
import java.util.HashMap;
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

    @Test
    void perSourceFiguresShowTheOneShiftedSourceAndLeaveTheWholeStreamFiguresAsTheyWere() throws Exception {
        Random rnd = new Random(9);
        ReferenceDistributions ref = reference(0.5, 0.5);
        DriftStats whole = new DriftStats(ref);
        DriftStats bySource = new DriftStats(ref, 3);
        Map<String, DriftStats> alone = new HashMap<>();
        for (int i = 0; i < 30_000; i++) {
            String source = "cam-" + i % 3;
            boolean shifted = source.equals("cam-2"); // its confidence is u² instead of uniform, and it is reviewed more
            double u = rnd.nextDouble();
            double c = shifted ? u * u : u;
            double h = 0.6 * rnd.nextDouble();
            double mi = 0.1 * rnd.nextDouble();
            int k = rnd.nextInt(2);
            boolean reviewed = rnd.nextDouble() < (shifted ? 0.6 : 0.2);
            whole.add(c, h, mi, k, reviewed);
            bySource.add(source, c, h, mi, k, reviewed, Double.NaN);
            alone.computeIfAbsent(source, x -> DriftStats.compact(ref)).add(c, h, mi, k, reviewed);
        }
        assertEquals(whole.snapshot(), bySource.snapshot(), "the whole stream's figures do not change");
        Map<String, DriftSnapshot> s = bySource.snapshotBySource();
        assertEquals(List.of("cam-0", "cam-1", "cam-2"), List.copyOf(s.keySet()), "10,000 each: by name");
        for (String name : s.keySet()) {
            assertEquals(alone.get(name).snapshot(), s.get(name), name + " alone");
            assertEquals(Map.of(), s.get(name).ks(), "no KS per source");
        }
        // shares (sqrt(0.5), 1 - sqrt(0.5)) against (0.5, 0.5): 0.18
        assertEquals(0.18, s.get("cam-2").psi().get("confidence"), 0.01);
        assertEquals(0.6, s.get("cam-2").reviewRate(), 0.02);
        for (String clean : List.of("cam-0", "cam-1")) {
            for (Map.Entry<String, Double> psi : s.get(clean).psi().entrySet()) {
                assertTrue(psi.getValue() < 0.01, clean + " PSI of " + psi.getKey() + " " + psi.getValue());
            }
            assertEquals(0.2, s.get(clean).reviewRate(), 0.02);
        }
        DriftStats back = (DriftStats) TopSourcesTest.deserialise(TopSourcesTest.serialise(bySource));
        assertEquals(bySource, back);
        assertEquals(s, back.snapshotBySource());
        assertTrue(TopSourcesTest.serialise(bySource).length < 80_000 + 8 * 2_000,
                "whole stream + 6 compact sources: " + TopSourcesTest.serialise(bySource).length + " bytes");
    }

    @Test
    void aCompactAccumulatorHasTheSameFiguresWithoutKsAndDoesNotMergeWithAFullOne() {
        Random rnd = new Random(10);
        ReferenceDistributions ref = reference(0.5, 0.5);
        DriftStats full = new DriftStats(ref);
        DriftStats compact = DriftStats.compact(ref);
        for (int i = 0; i < 1_000; i++) {
            double c = rnd.nextDouble();
            full.add(c, 0.3, 0.05, i % 2, i % 3 == 0);
            compact.add(c, 0.3, 0.05, i % 2, i % 3 == 0);
        }
        DriftSnapshot f = full.snapshot();
        DriftSnapshot k = compact.snapshot();
        assertEquals(f.psi(), k.psi());
        assertEquals(f.reviewRate(), k.reviewRate(), 0.0);
        assertEquals(f.estimatedAccuracy(), k.estimatedAccuracy(), 0.0);
        assertEquals(f.estimatedAccuracyAtc(), k.estimatedAccuracyAtc(), 0.0);
        assertEquals(f.predictedClassJsDivergence(), k.predictedClassJsDivergence(), 0.0);
        assertEquals(Map.of(), k.ks());
        assertEquals(Map.of(), full.snapshotBySource(), "no per-source figures without topSources");
        assertEquals("cannot merge drift statistics without KS histograms and 0 sources by name into with KS "
                        + "histograms and 0 sources by name",
                assertThrows(IllegalArgumentException.class, () -> full.merge(compact)).getMessage());
        assertThrows(IllegalArgumentException.class, () -> new DriftStats(ref, 3).merge(new DriftStats(ref, 4)));
        assertEquals("topSources must be >= 0 (0: no per-source figures), got -1",
                assertThrows(IllegalArgumentException.class, () -> new DriftStats(ref, -1)).getMessage());
    }
}
