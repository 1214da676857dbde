package e3stream.runtime.stats;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import e3stream.runtime.stats.CalibrationStats.CalibrationSnapshot;
import e3stream.runtime.stats.CalibrationStats.ReliabilityBin;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

class CalibrationStatsTest {

    @Test
    void handComputedFigures() {
        CalibrationStats s = new CalibrationStats(2);
        s.add(new double[] {0.9, 0.1}, 0, false);   // correct, accepted, conf 0.9  (ECE bin 13)
        s.add(new double[] {0.62, 0.38}, 1, true);  // wrong, reviewed, conf 0.62   (bin 9)
        s.add(new double[] {0.3, 0.7}, 1, true);    // correct, reviewed, conf 0.7  (bin 10)
        s.add(new double[] {0.82, 0.18}, 1, false); // wrong, accepted, conf 0.82   (bin 12)
        CalibrationSnapshot r = s.snapshot();

        assertEquals(4, r.count());
        assertEquals(0.5, r.accuracy(), 0.0);
        assertEquals(-(Math.log(0.9) + Math.log(0.38) + Math.log(0.7) + Math.log(0.18)) / 4, r.nll(), 1e-15);
        // (0.01 + 0.01) + (0.3844 + 0.3844) + (0.09 + 0.09) + (0.6724 + 0.6724) = 2.3136
        assertEquals(2.3136 / 4, r.brier(), 1e-15);
        assertEquals((0.1 + 0.62 + 0.3 + 0.82) / 4, r.ece(), 1e-15);
        assertEquals(r.ece(), r.adaptiveEce(), 1e-15, "four items make four equal-mass groups of one");
        assertEquals(new ReliabilityBin(13 / 15.0, 14 / 15.0, 1, 0.9, 1.0), r.reliability().get(13));
        assertEquals(0, r.reliability().get(0).count());
        assertTrue(Double.isNaN(r.reliability().get(0).accuracy()));
        assertEquals(2, r.acceptedCount());
        assertEquals(0.5, r.acceptedAccuracy(), 0.0);
        assertEquals(2, r.reviewedCount());
        assertEquals(0.5, r.reviewRate(), 0.0);
        assertEquals(0.5, r.reviewPrecision(), 0.0);
        assertEquals(0.75, r.oracleCollaborativeAccuracy(), 0.0, "1 accepted correct + 2 corrected by people");
    }

    @Test
    void adaptiveEceUsesEqualMassGroups() {
        // 30 items at confidence 0.50, 0.51, ..., 0.79, correct when the index is even: 15 groups of 2 with
        // accuracy 0.5 and mean confidence 0.5 + (4g + 1)/200, so ACE = sum_g (1/15)(4g + 1)/200 = 435/3000
        CalibrationStats s = new CalibrationStats(2);
        for (int i = 0; i < 30; i++) {
            double c = 0.5 + i / 100.0;
            s.add(new double[] {c, 1 - c}, i % 2 == 0 ? 0 : 1, false);
        }
        assertEquals(435.0 / 3000, s.snapshot().adaptiveEce(), 1e-12);
    }

    @Test
    void perfectlyCalibratedStreamHasSmallEce() {
        Random rnd = new Random(3);
        CalibrationStats s = new CalibrationStats(2);
        for (int i = 0; i < 200_000; i++) {
            double c = 0.5 + 0.5 * rnd.nextDouble();
            s.add(new double[] {c, 1 - c}, rnd.nextDouble() < c ? 0 : 1, false);
        }
        CalibrationSnapshot r = s.snapshot();
        assertTrue(r.ece() < 0.01, "ECE " + r.ece());
        assertTrue(r.adaptiveEce() < 0.01, "ACE " + r.adaptiveEce());
        assertEquals(0.75, r.accuracy(), 0.005);
    }

    @Test
    void emptyStatsReportNaN() {
        CalibrationSnapshot r = new CalibrationStats(3).snapshot();
        assertEquals(0, r.count());
        assertTrue(Double.isNaN(r.accuracy()) && Double.isNaN(r.ece()) && Double.isNaN(r.adaptiveEce())
                && Double.isNaN(r.nll()) && Double.isNaN(r.reviewPrecision()));
    }

    @Test
    void mergeEqualsAccumulatingTheUnionExactly() throws Exception {
        Random rnd = new Random(11);
        CalibrationStats union = new CalibrationStats(10);
        CalibrationStats[] parts = {new CalibrationStats(10), new CalibrationStats(10), new CalibrationStats(10)};
        for (int i = 0; i < 20_000; i++) {
            double[] p = randomProbabilities(rnd, 10);
            int label = rnd.nextInt(10);
            boolean reviewed = rnd.nextDouble() < 0.2;
            union.add(p, label, reviewed);
            parts[rnd.nextInt(3)].add(p, label, reviewed);
        }
        CalibrationStats merged = CalibrationStats.merge(CalibrationStats.merge(parts[2], parts[0]), parts[1]);
        assertEquals(union, merged);
        assertEquals(union.snapshot(), merged.snapshot());
        assertNotEquals(union.snapshot(), parts[0].snapshot());

        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
            out.writeObject(merged);
        }
        try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray()))) {
            assertEquals(union.snapshot(), ((CalibrationStats) in.readObject()).snapshot());
        }
        assertTrue(bytes.size() < 120_000, "bounded state: " + bytes.size() + " bytes");
    }

    @Test
    void snapshotSerialisesToJson() throws Exception {
        CalibrationStats s = new CalibrationStats(2);
        s.add(new double[] {0.9, 0.1}, 0, false);
        JsonNode json = new ObjectMapper().valueToTree(s.snapshot());
        assertEquals(1.0, json.get("accuracy").asDouble(), 0.0);
        assertEquals(15, json.get("reliability").size());
        assertEquals(0.9, json.get("reliability").get(13).get("meanConfidence").asDouble(), 0.0);
        assertEquals(1.0, json.get("oracleCollaborativeAccuracy").asDouble(), 0.0);
    }

    @Test
    void refusesBadInput() {
        CalibrationStats s = new CalibrationStats(2);
        assertEquals("expected 2 probabilities, got 3",
                assertThrows(IllegalArgumentException.class, () -> s.add(new double[3], 0, false)).getMessage());
        assertEquals("label 2 is outside [0, 2)", assertThrows(IllegalArgumentException.class,
                () -> s.add(new double[] {0.5, 0.5}, 2, false)).getMessage());
        assertThrows(IllegalArgumentException.class, () -> s.add(new double[] {Double.NaN, 0.5}, 0, false));
        assertThrows(IllegalArgumentException.class, () -> s.merge(new CalibrationStats(3)));
        assertEquals(0, s.count(), "nothing half-added");
    }

    static double[] randomProbabilities(Random rnd, int c) {
        double[] p = new double[c];
        double sum = 0;
        double sharp = 0.5 + 4 * rnd.nextDouble();
        for (int k = 0; k < c; k++) {
            p[k] = Math.exp(sharp * rnd.nextGaussian());
            sum += p[k];
        }
        for (int k = 0; k < c; k++) {
            p[k] /= sum;
        }
        return p;
    }

    @Test
    void perSourceFiguresEqualEachSourceAloneAndTheWholeStreamStaysExact() throws Exception {
        Random rnd = new Random(11);
        CalibrationStats whole = new CalibrationStats(2);
        CalibrationStats bySource = new CalibrationStats(2, 2);
        Map<String, CalibrationStats> alone = new HashMap<>();
        for (int i = 0; i < 9_000; i++) {
            // "good" is right as often as its confidence says; "bad" is right half as often; "rare" is small
            String source = i % 9 == 0 ? "rare" : i % 2 == 0 ? "good" : "bad";
            double c = 0.5 + 0.5 * rnd.nextDouble();
            double pRight = source.equals("bad") ? c / 2 : c;
            int label = rnd.nextDouble() < pRight ? 0 : 1;
            double[] p = {c, 1 - c};
            boolean reviewed = c < 0.7;
            whole.add(p, label, reviewed);
            bySource.add(source, p, label, reviewed);
            String bucket = source.equals("rare") ? "other" : source;
            alone.computeIfAbsent(bucket, x -> CalibrationStats.compact(2)).add(p, label, reviewed);
        }
        assertEquals(whole.snapshot(), bySource.snapshot());
        Map<String, CalibrationSnapshot> s = bySource.snapshotBySource();
        assertEquals(List.of("bad", "good", "other"), List.copyOf(s.keySet()), "4,000 each: by name");
        for (String name : s.keySet()) {
            assertEquals(alone.get(name).snapshot(), s.get(name), name);
            assertTrue(Double.isNaN(s.get(name).adaptiveEce()), "no adaptive ECE per source");
        }
        assertTrue(s.get("good").ece() < 0.03, "good ECE " + s.get("good").ece());
        assertTrue(s.get("bad").ece() > 0.3, "bad ECE " + s.get("bad").ece());
        assertEquals(0.375, s.get("bad").accuracy(), 0.02);
        CalibrationStats back = (CalibrationStats) TopSourcesTest.deserialise(TopSourcesTest.serialise(bySource));
        assertEquals(bySource, back);
        assertEquals("cannot merge calibration stats without the adaptive-ECE histogram and 0 sources by name into "
                        + "with the adaptive-ECE histogram and 2 sources by name",
                assertThrows(IllegalArgumentException.class, () -> bySource.merge(CalibrationStats.compact(2)))
                        .getMessage());
    }
}
