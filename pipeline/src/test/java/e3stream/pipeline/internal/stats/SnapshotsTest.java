package e3stream.pipeline.internal.stats;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import e3stream.pipeline.testutils.SchemaCheck;
import e3stream.pipeline.testutils.TestData;
import e3stream.runtime.model.BundleManifest;
import e3stream.runtime.model.ModelBundle;
import e3stream.runtime.stats.CalibrationStats;
import e3stream.runtime.stats.DriftStats;
import e3stream.runtime.stats.ReferenceDistributions;
import org.junit.jupiter.api.Test;

/** The calibration topic's records, with and without per-source figures, match their published JSON Schemas. */
class SnapshotsTest {

    private static final long START = 1_700_000_000_000L;

    private static ReferenceDistributions reference() throws Exception {
        BundleManifest manifest = BundleManifest.read(TestData.bundle().resolve(ModelBundle.MANIFEST_FILE));
        return ReferenceDistributions.fromJson(manifest.referenceJson());
    }

    @Test
    void driftRecordsWithSourcesMatchTheSchemaAndListTheBusiestThenOther() throws Exception {
        DriftStats drift = new DriftStats(reference(), 2);
        Random rnd = new Random(1);
        for (int i = 0; i < 300; i++) {
            String source = i % 10 == 0 ? null : i % 3 == 0 ? "cam-b" : "cam-a";
            double c = 0.3 + 0.7 * rnd.nextDouble();
            drift.add(source, c, 1.5 * (1 - c), 0.01 * rnd.nextDouble(), rnd.nextInt(10), c < 0.8, Double.NaN);
        }
        ObjectNode record = Snapshots.drift(drift.snapshot(), drift.snapshotBySource(), 2, START, START + 10_000,
                "e3", "1");
        assertEquals(List.of(), SchemaCheck.violations("drift-snapshot", record));
        assertEquals(2, record.get("top_sources").asInt());
        JsonNode sources = record.get("sources");
        assertEquals(List.of("cam-a", "cam-b", "other"), names(sources));
        assertEquals(300, sources.get("cam-a").get("count").asLong() + sources.get("cam-b").get("count").asLong()
                + sources.get("other").get("count").asLong());
        assertEquals(30, sources.get("other").get("count").asLong(), "the events without a source");
        assertTrue(sources.get("cam-a").get("psi").get("confidence").isNumber());
        assertFalse(sources.get("cam-a").has("ks"), "no KS per source");
        assertTrue(record.get("ks").get("confidence").isNumber(), "the whole stream keeps its KS");

        ObjectNode plain = Snapshots.drift(drift.snapshot(), START, START + 10_000, "e3", "1");
        assertEquals(List.of(), SchemaCheck.violations("drift-snapshot", plain));
        assertFalse(plain.has("sources") || plain.has("top_sources"), "drift.top-sources 0: no per-source fields");
    }

    @Test
    void driftRecordsWithAShadowSectionMatchTheSchema() throws Exception {
        DriftStats drift = new DriftStats(reference(), 2).compareShadow();
        drift.add("cam-a", 0.9, 0.2, 0.001, 3, false, Double.NaN);
        ObjectNode empty = Snapshots.drift(drift.snapshot(), drift.snapshotBySource(), 2, START, START + 10_000,
                "e3", "1");
        Snapshots.shadow(empty, drift.shadow().orElseThrow().snapshot(), "de-vmoe", "1.0.0", "e3");
        assertEquals(List.of(), SchemaCheck.violations("drift-snapshot", empty), "a window the shadow scored none of");
        assertTrue(empty.get("shadow").get("agreement").isNull());

        drift.shadow().orElseThrow().add(3, 0.9, false, 3, 0.8, false);
        drift.shadow().orElseThrow().add(2, 0.5, true, 4, 0.95, false);
        ObjectNode record = Snapshots.drift(drift.snapshot(), drift.snapshotBySource(), 2, START, START + 10_000,
                "e3", "1");
        Snapshots.shadow(record, drift.shadow().orElseThrow().snapshot(), "de-vmoe", "1.0.0", "e3");
        assertEquals(List.of(), SchemaCheck.violations("drift-snapshot", record));
        JsonNode shadow = record.get("shadow");
        assertEquals("de-vmoe", shadow.get("model").get("name").asText());
        assertEquals(2, shadow.get("count").asLong());
        assertEquals(0.5, shadow.get("agreement").asDouble(), 0.0);
        assertEquals(0.5, shadow.get("active_review_rate").asDouble(), 0.0);
        assertEquals(0.0, shadow.get("shadow_review_rate").asDouble(), 0.0);
        assertEquals(-0.5, shadow.get("review_rate_difference").asDouble(), 0.0);
        assertTrue(shadow.get("confidence_psi").asDouble() > 0);
    }

    @Test
    void calibrationRecordsWithSourcesMatchTheSchema() throws Exception {
        CalibrationStats calibration = new CalibrationStats(10, 3);
        Random rnd = new Random(2);
        for (int i = 0; i < 200; i++) {
            double[] p = new double[10];
            int top = rnd.nextInt(10);
            p[top] = 0.55 + 0.45 * rnd.nextDouble();
            p[(top + 1) % 10] = 1 - p[top];
            calibration.add("site-" + i % 4, p, rnd.nextDouble() < p[top] ? top : (top + 1) % 10, p[top] < 0.7);
        }
        ObjectNode record = Snapshots.calibration(calibration.snapshot(), calibration.snapshotBySource(), 3, START,
                START + 10_000, "e3", "1");
        assertEquals(List.of(), SchemaCheck.violations("calibration-snapshot", record));
        JsonNode sources = record.get("sources");
        assertEquals(List.of("site-0", "site-1", "site-2", "other"), names(sources), "50 each: by name");
        assertEquals(50, sources.get("other").get("count").asLong());
        assertTrue(sources.get("site-1").get("ece").isNumber());
        assertFalse(sources.get("site-1").has("reliability"));
        assertEquals(List.of(), SchemaCheck.violations("calibration-snapshot",
                Snapshots.calibration(calibration.snapshot(), START, START + 10_000, "e3", "1")));
    }

    @Test
    void aRecordThatBreaksTheSchemaIsReported() throws Exception {
        DriftStats drift = new DriftStats(reference(), 2);
        drift.add("cam-a", 0.9, 0.2, 0.001, 3, false, Double.NaN);
        ObjectNode record = Snapshots.drift(drift.snapshot(), drift.snapshotBySource(), 2, START, START + 10_000,
                "e3", "1");
        ((ObjectNode) record.get("sources").get("cam-a")).remove("psi");
        ((ObjectNode) record.get("sources").get("cam-a")).put("review_rate", "high");
        assertEquals(List.of("$.sources.cam-a lacks required field psi",
                        "$.sources.cam-a.review_rate is STRING, expected [\"number\",\"null\"]"),
                SchemaCheck.violations("drift-snapshot", record));
    }

    private static List<String> names(JsonNode object) {
        List<String> names = new ArrayList<>();
        object.fieldNames().forEachRemaining(names::add);
        return names;
    }
}
