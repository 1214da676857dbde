package e3stream.pipeline.internal.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import e3stream.pipeline.testutils.TestData;
import e3stream.runtime.model.BundleManifest;
import e3stream.runtime.model.ModelBundle;
import e3stream.runtime.stats.ReferenceDistributions;
import io.prometheus.client.CollectorRegistry;
import org.junit.jupiter.api.Test;

/** {@code e3_review_ratio_reference} follows the bundle's reference review rate, and only its own triage policy. */
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
}
