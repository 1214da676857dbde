package e3stream.pipeline.internal.stats;

import java.util.Map;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import e3stream.pipeline.internal.events.Json;
import e3stream.runtime.stats.CalibrationStats.CalibrationSnapshot;
import e3stream.runtime.stats.CalibrationStats.ReliabilityBin;
import e3stream.runtime.stats.DriftStats.DriftSnapshot;
import e3stream.runtime.stats.ShadowComparison.ShadowSnapshot;
import org.apache.flink.annotation.Internal;

/**
 * The JSON records of the {@code calibration} topic (schemas/calibration-snapshot.schema.json,
 * schemas/drift-snapshot.schema.json): one per closed window and kind. Undefined figures (NaN) are written as null.
 */
@Internal
public final class Snapshots {

    public static final String CALIBRATION = "calibration";
    public static final String DRIFT = "drift";
    /** A shadow model's labelled figures (one record per window and shadow model). */
    public static final String SHADOW_CALIBRATION = "shadow-calibration";

    private Snapshots() {
    }

    /** Mean confidence of the labelled items: the label-free estimate to compare with the realised accuracy. */
    public static double meanConfidence(CalibrationSnapshot s) {
        double sum = 0;
        long n = 0;
        for (ReliabilityBin b : s.reliability()) {
            if (b.count() > 0) {
                sum += b.meanConfidence() * b.count();
                n += b.count();
            }
        }
        return n == 0 ? Double.NaN : sum / n;
    }

    /** The calibration record of one window, without per-source figures. */
    public static ObjectNode calibration(CalibrationSnapshot s, long start, long end, String model, String version) {
        return calibration(s, Map.of(), 0, start, end, model, version);
    }

    /**
     * The calibration record of one window; with {@code topSources > 0} also {@code top_sources} and
     * {@code sources}: the figures of each source of {@code bySource} (the busiest, then "other"), without the
     * reliability bins and the adaptive ECE.
     */
    public static ObjectNode calibration(CalibrationSnapshot s, Map<String, CalibrationSnapshot> bySource,
                                         int topSources, long start, long end, String model, String version) {
        return calibration(CALIBRATION, s, bySource, topSources, start, end, model, version);
    }

    /**
     * The {@link #SHADOW_CALIBRATION} record of one window: a shadow model's labelled figures on the events it
     * scored (the fields of a calibration record, without per-source figures; {@code model} is the shadow).
     */
    public static ObjectNode shadowCalibration(CalibrationSnapshot s, long start, long end, String model,
                                               String version) {
        return calibration(SHADOW_CALIBRATION, s, Map.of(), 0, start, end, model, version);
    }

    private static ObjectNode calibration(String kind, CalibrationSnapshot s, Map<String, CalibrationSnapshot> bySource,
                                          int topSources, long start, long end, String model, String version) {
        ObjectNode node = header(kind, start, end, model, version);
        calibrationFigures(node, s);
        put(node, "adaptive_ece", s.adaptiveEce());
        ArrayNode bins = node.putArray("reliability");
        for (ReliabilityBin b : s.reliability()) {
            ObjectNode bin = bins.addObject();
            bin.put("lower", b.lower());
            bin.put("upper", b.upper());
            bin.put("count", b.count());
            put(bin, "mean_confidence", b.meanConfidence());
            put(bin, "accuracy", b.accuracy());
        }
        if (topSources > 0) {
            node.put("top_sources", topSources);
            ObjectNode sources = node.putObject("sources");
            bySource.forEach((name, figures) -> calibrationFigures(sources.putObject(name), figures));
        }
        return node;
    }

    private static void calibrationFigures(ObjectNode node, CalibrationSnapshot s) {
        node.put("count", s.count());
        put(node, "accuracy", s.accuracy());
        put(node, "estimated_accuracy", meanConfidence(s));
        put(node, "nll", s.nll());
        put(node, "brier", s.brier());
        put(node, "ece", s.ece());
        node.put("accepted_count", s.acceptedCount());
        put(node, "accepted_accuracy", s.acceptedAccuracy());
        node.put("reviewed_count", s.reviewedCount());
        put(node, "review_rate", s.reviewRate());
        put(node, "review_precision", s.reviewPrecision());
        put(node, "oracle_collaborative_accuracy", s.oracleCollaborativeAccuracy());
    }

    /** The drift record of one window, without per-source figures. */
    public static ObjectNode drift(DriftSnapshot s, long start, long end, String model, String version) {
        return drift(s, Map.of(), 0, start, end, model, version);
    }

    /**
     * The drift record of one window; with {@code topSources > 0} also {@code top_sources} and {@code sources}: the
     * figures of each source of {@code bySource} (the busiest, then "other"), without KS distances.
     */
    public static ObjectNode drift(DriftSnapshot s, Map<String, DriftSnapshot> bySource, int topSources, long start,
                                   long end, String model, String version) {
        ObjectNode node = header(DRIFT, start, end, model, version);
        driftFigures(node, s);
        if (topSources > 0) {
            node.put("top_sources", topSources);
            ObjectNode sources = node.putObject("sources");
            bySource.forEach((name, figures) -> driftFigures(sources.putObject(name), figures));
        }
        return node;
    }

    /**
     * Adds to a drift record the {@code shadow} section: the shadow model's label-free comparison with the active
     * model on the window's events it scored.
     */
    public static void shadow(ObjectNode drift, ShadowSnapshot s, String model, String version, String activeModel) {
        ObjectNode node = drift.putObject("shadow");
        ObjectNode m = node.putObject("model");
        m.put("name", model);
        m.put("version", version);
        node.putObject("active_model").put("name", activeModel);
        node.put("count", s.count());
        put(node, "agreement", s.agreement());
        put(node, "active_review_rate", s.activeReviewRate());
        put(node, "shadow_review_rate", s.shadowReviewRate());
        put(node, "review_rate_difference", s.reviewRateDifference());
        put(node, "active_mean_confidence", s.activeMeanConfidence());
        put(node, "shadow_mean_confidence", s.shadowMeanConfidence());
        put(node, "confidence_psi", s.confidencePsi());
    }

    private static void driftFigures(ObjectNode node, DriftSnapshot s) {
        node.put("count", s.count());
        put(node, "mean_confidence", s.meanConfidence());
        put(node, "estimated_accuracy", s.estimatedAccuracy());
        put(node, "estimated_accuracy_atc", s.estimatedAccuracyAtc());
        put(node, "review_rate", s.reviewRate());
        put(node, "mean_entropy", s.meanEntropy());
        put(node, "mean_mutual_information", s.meanMutualInformation());
        ObjectNode psi = node.putObject("psi");
        for (Map.Entry<String, Double> e : s.psi().entrySet()) {
            put(psi, e.getKey(), e.getValue());
        }
        if (!s.ks().isEmpty()) { // a source's figures have none
            ObjectNode ks = node.putObject("ks");
            for (Map.Entry<String, Double> e : s.ks().entrySet()) {
                put(ks, e.getKey(), e.getValue());
            }
        }
        put(node, "predicted_class_js", s.predictedClassJsDivergence());
        ArrayNode fractions = node.putArray("predicted_class_fractions");
        s.predictedClassFractions().forEach(f -> fractions.add(Double.isNaN(f) ? null : f));
    }

    private static ObjectNode header(String kind, long start, long end, String model, String version) {
        ObjectNode node = Json.object();
        node.put("kind", kind);
        ObjectNode window = node.putObject("window");
        window.put("start", start);
        window.put("end", end);
        ObjectNode m = node.putObject("model");
        m.put("name", model);
        m.put("version", version);
        return node;
    }

    private static void put(ObjectNode node, String field, double value) {
        if (Double.isNaN(value) || Double.isInfinite(value)) {
            node.putNull(field);
        } else {
            node.put(field, value);
        }
    }
}
