package e3stream.pipeline.internal.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import e3stream.pipeline.testutils.TestData;
import e3stream.runtime.model.BundleManifest;
import e3stream.runtime.model.ModelBundle;
import e3stream.runtime.stats.DriftStats;
import e3stream.runtime.stats.DriftStats.DriftSnapshot;
import e3stream.runtime.stats.ReferenceDistributions;
import io.prometheus.client.CollectorRegistry;
import org.junit.jupiter.api.Test;

/**
 * {@code e3_review_ratio_reference} follows the bundle's reference review rate, and only its own triage policy; the
 * per-source gauges hold the sources of the last window only.
 */
class PipelineMetricsTest {

    static Double exported(String model) {
        return CollectorRegistry.defaultRegistry.getSampleValue("e3_review_ratio_reference", new String[] {"model"},
                new String[] {model});
    }

    static BundleManifest shipped() throws Exception {
        return BundleManifest.read(TestData.bundle().resolve(ModelBundle.MANIFEST_FILE));
    }

    /** The shipped bundle's model.json with {@code reference.review_rate} set (as the calibrate command writes it). */
    static BundleManifest withReviewRate(double rate) throws Exception {
        ObjectNode json = shipped().toJson();
        ((ObjectNode) json.get("reference")).put("review_rate", rate);
        return BundleManifest.fromJson(new ObjectMapper().readTree(json.toString()), "model.json with review_rate");
    }

    @Test
    void exportsTheBundlesReferenceReviewRateUnderItsOwnPolicy() throws Exception {
        BundleManifest bundle = withReviewRate(0.137);
        assertEquals(0.137, PipelineMetrics.get().exportReviewRatioReference(bundle, false));
        assertEquals(0.137, exported(bundle.name()));
    }

    @Test
    void exportsNothingWhenTheJobOverridesTheTriagePolicy() throws Exception {
        BundleManifest bundle = withReviewRate(0.137);
        PipelineMetrics.get().exportReviewRatioReference(bundle, false);
        assertNull(PipelineMetrics.get().exportReviewRatioReference(bundle, true));
        assertNull(exported(bundle.name()), "a reference measured under another policy is withdrawn");
    }

    @Test
    void followsWhatTheShippedBundleCarries() throws Exception {
        BundleManifest bundle = shipped();
        Double reference = ReferenceDistributions.fromJson(bundle.referenceJson()).reviewRate();
        assertEquals(reference, PipelineMetrics.get().exportReviewRatioReference(bundle, false));
        assertEquals(reference, exported(bundle.name()), "absent exactly when model.json has no reference.review_rate");
    }

    static Double sourceSample(String name, String source, String... more) {
        String[] names = more.length == 0 ? new String[] {"source"} : new String[] {"source", more[0]};
        String[] values = more.length == 0 ? new String[] {source} : new String[] {source, more[1]};
        return CollectorRegistry.defaultRegistry.getSampleValue(name, names, values);
    }

    @Test
    void perSourceGaugesKeepOnlyTheSourcesOfTheLastWindow() throws Exception {
        ReferenceDistributions reference = ReferenceDistributions.fromJson(shipped().referenceJson());
        DriftStats first = new DriftStats(reference, 2);
        for (int i = 0; i < 30; i++) {
            first.add(i % 3 == 0 ? "pm-a" : i % 3 == 1 ? "pm-b" : "pm-rare-" + i, 0.9, 0.3, 0.001, i % 10, i % 4 == 0,
                    Double.NaN);
        }
        Map<String, DriftSnapshot> window1 = first.snapshotBySource();
        assertEquals(List.of("pm-a", "pm-b", "other"), List.copyOf(window1.keySet()));
        PipelineMetrics.get().publishDriftBySource(window1);
        assertEquals(10.0, sourceSample("e3_window_events_by_source", "pm-b"));
        assertEquals(window1.get("pm-a").reviewRate(), sourceSample("e3_review_ratio_by_source", "pm-a"));
        assertEquals(window1.get("other").psi().get("confidence"),
                sourceSample("e3_drift_psi_by_source", "other", "signal", "confidence"));
        assertEquals(window1.get("pm-a").estimatedAccuracyAtc(),
                sourceSample("e3_estimated_accuracy_by_source", "pm-a", "method", "atc"));

        Map<String, DriftSnapshot> window2 = new LinkedHashMap<>();
        window2.put("pm-a", window1.get("pm-a"));
        PipelineMetrics.get().publishDriftBySource(window2);
        assertEquals(10.0, sourceSample("e3_window_events_by_source", "pm-a"));
        for (String gone : List.of("pm-b", "other")) {
            assertNull(sourceSample("e3_window_events_by_source", gone), gone + " left with its window");
            assertNull(sourceSample("e3_review_ratio_by_source", gone));
            assertNull(sourceSample("e3_drift_psi_by_source", gone, "signal", "entropy"));
            assertNull(sourceSample("e3_estimated_accuracy_by_source", gone, "method", "confidence"));
        }
        PipelineMetrics.get().publishDriftBySource(Map.of());
        assertNull(sourceSample("e3_window_events_by_source", "pm-a"));
    }
}
