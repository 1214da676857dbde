package e3stream.pipeline.internal.metrics;

import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import e3stream.runtime.model.BundleManifest;
import e3stream.runtime.stats.CalibrationStats.CalibrationSnapshot;
import e3stream.runtime.stats.DriftStats.DriftSnapshot;
import e3stream.runtime.stats.ReferenceDistributions;
import e3stream.runtime.stats.ShadowComparison.ShadowSnapshot;
import io.prometheus.client.CollectorRegistry;
import io.prometheus.client.Counter;
import io.prometheus.client.Gauge;
import io.prometheus.client.Histogram;
import org.apache.flink.annotation.Internal;

/**
 * The job's Prometheus collectors (docs/design.md, "Metrics") on the JVM's default registry; the batcher's own
 * ({@code e3_inference_batch_size}, {@code e3_inference_seconds}, {@code e3_queue_wait_seconds}) come from
 * {@code e3stream.runtime.batch.BatcherMetrics} on the same registry.
 *
 * <p>One instance per JVM ({@link #get()}), shared by every operator of every job in that JVM; simpleclient
 * collectors are thread-safe. Counters count what this JVM processed: after a restart from a checkpoint, replayed
 * events are counted again (the Kafka outputs are exactly-once, these counters are not).
 *
 * <p>Per-source gauges ({@code *_by_source}, label {@code source}) hold the figures of the last closed window for the
 * sources it reported (the {@code drift.top-sources} busiest and {@code other}); a source missing from a window
 * loses its series, so each such metric has at most {@code drift.top-sources + 1} values of {@code source}.
 */
@Internal
public final class PipelineMetrics {

    /** {@code outcome} values of {@code e3_events_total}. */
    public static final String ACCEPT = "accept";

    /**
     * The {@code model} label of a shadow model's figures: its name, or {@code <name>@<version>-shadow} when the
     * active model has the same name (two versions of one model side by side).
     */
    public static String shadowLabel(String activeName, String shadowName, String shadowVersion) {
        return shadowName.equals(activeName) ? shadowName + "@" + shadowVersion + "-shadow" : shadowName;
    }
    public static final String REVIEW = "review";
    public static final String DEAD_LETTER = "dead_letter";

    private static final PipelineMetrics INSTANCE = new PipelineMetrics(CollectorRegistry.defaultRegistry);

    public final Counter events;
    public final Histogram latency;
    public final Gauge reviewRatio;
    public final Gauge reviewRatioReference;
    public final Gauge ece;
    public final Gauge nll;
    public final Gauge brier;
    public final Gauge accuracy;
    public final Gauge estimatedAccuracy;
    public final Gauge windowLabelled;
    public final Gauge windowEvents;
    public final Gauge psi;
    public final Gauge ks;
    public final Gauge predictedClassJs;
    public final Counter labelsJoined;
    public final Counter labelsExpired;
    public final Counter predictionsUnlabelled;
    public final Counter labelsInvalid;
    public final Counter labelsLate;
    public final Counter recoveriesPastTransactionTimeout;
    public final Gauge windowEventsBySource;
    public final Gauge reviewRatioBySource;
    public final Gauge estimatedAccuracyBySource;
    public final Gauge psiBySource;
    public final Gauge windowLabelledBySource;
    public final Gauge accuracyBySource;
    public final Gauge eceBySource;
    public final Counter shadowEvents;
    public final Gauge shadowWindowEvents;
    public final Gauge shadowAgreement;
    public final Gauge shadowReviewRatio;
    public final Gauge shadowMeanConfidence;
    public final Gauge shadowConfidencePsi;
    public final Gauge shadowWindowLabelled;
    public final Gauge shadowAccuracy;
    public final Gauge shadowEce;
    public final Gauge shadowNll;
    private final WindowSeries driftSeries;
    private final WindowSeries calibrationSeries;

    private PipelineMetrics(CollectorRegistry registry) {
        events = Counter.build("e3_events_total", "Image events by outcome: accept, review, dead_letter.")
                .labelNames("outcome").register(registry);
        latency = Histogram.build("e3_event_latency_seconds",
                        "Time from reading an image record to its triage decision, in seconds.")
                .buckets(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
                .register(registry);
        reviewRatio = Gauge.build("e3_review_ratio", "Share of events sent to review in the last closed window.")
                .register(registry);
        reviewRatioReference = Gauge.build("e3_review_ratio_reference", "The bundle's reference review rate "
                        + "(model.json reference.review_rate: share of its validation split that its triage policy "
                        + "sends to review); only while the job uses the bundle's own triage policy.")
                .labelNames("model").register(registry);
        ece = Gauge.build("e3_calibration_ece", "Expected calibration error of the last closed labelled window.")
                .register(registry);
        nll = Gauge.build("e3_calibration_nll", "Mean negative log-likelihood (nats) of the last closed labelled window.")
                .register(registry);
        brier = Gauge.build("e3_calibration_brier", "Mean Brier score of the last closed labelled window.")
                .register(registry);
        accuracy = Gauge.build("e3_accuracy", "Realised accuracy (from labels) of the last closed labelled window.")
                .register(registry);
        estimatedAccuracy = Gauge.build("e3_estimated_accuracy",
                "Label-free accuracy estimate of the last closed window, by method: confidence (mean calibrated "
                        + "confidence) or atc (average thresholded confidence, unfamiliar items counted wrong).")
                .labelNames("method").register(registry);
        windowLabelled = Gauge.build("e3_window_labelled_events", "Labelled events in the last closed labelled window.")
                .register(registry);
        windowEvents = Gauge.build("e3_window_events", "Events in the last closed drift window.").register(registry);
        psi = Gauge.build("e3_drift_psi", "Population stability index of a signal in the last closed window vs the "
                + "bundle's validation reference.").labelNames("signal").register(registry);
        ks = Gauge.build("e3_drift_ks", "Kolmogorov-Smirnov distance of a signal in the last closed window vs the "
                + "bundle's validation reference.").labelNames("signal").register(registry);
        predictedClassJs = Gauge.build("e3_drift_predicted_class_js",
                "Jensen-Shannon divergence of the predicted-class distribution vs the reference.").register(registry);
        labelsJoined = Counter.build("e3_labels_joined_total", "Labels joined to their prediction.").register(registry);
        labelsExpired = Counter.build("e3_labels_expired_total",
                "Labels whose prediction did not arrive within labels.ttl.").register(registry);
        predictionsUnlabelled = Counter.build("e3_predictions_unlabelled_total",
                "Predictions whose label did not arrive within labels.ttl.").register(registry);
        labelsInvalid = Counter.build("e3_labels_invalid_total", "Label events that could not be parsed.")
                .register(registry);
        labelsLate = Counter.build("e3_labels_late_total",
                "Joined labels that arrived after their calibration window had closed (labels.max-delay).")
                .register(registry);
        recoveriesPastTransactionTimeout = Counter.build("e3_recoveries_past_transaction_timeout_total",
                "Restores from a checkpoint whose Kafka transactions were opened longer than kafka.transaction-timeout "
                        + "before: those not committed before the failure were aborted by the broker, their outputs "
                        + "lost. Counted once per restore.").register(registry);
        String bySource = " Per source: the drift.top-sources busiest sources of the window and other.";
        windowEventsBySource = Gauge.build("e3_window_events_by_source", "Events in the last closed drift window."
                + bySource).labelNames("source").register(registry);
        reviewRatioBySource = Gauge.build("e3_review_ratio_by_source",
                "Share of events sent to review in the last closed window." + bySource)
                .labelNames("source").register(registry);
        estimatedAccuracyBySource = Gauge.build("e3_estimated_accuracy_by_source",
                "Label-free accuracy estimate of the last closed window, by method (confidence, atc)." + bySource)
                .labelNames("source", "method").register(registry);
        psiBySource = Gauge.build("e3_drift_psi_by_source", "Population stability index of a signal in the last "
                + "closed window vs the bundle's validation reference." + bySource)
                .labelNames("source", "signal").register(registry);
        windowLabelledBySource = Gauge.build("e3_window_labelled_events_by_source",
                "Labelled events in the last closed labelled window." + bySource).labelNames("source")
                .register(registry);
        accuracyBySource = Gauge.build("e3_accuracy_by_source",
                "Realised accuracy (from labels) of the last closed labelled window." + bySource)
                .labelNames("source").register(registry);
        eceBySource = Gauge.build("e3_calibration_ece_by_source",
                "Expected calibration error of the last closed labelled window." + bySource)
                .labelNames("source").register(registry);
        String onShadowed = " On the events the shadow model (model.shadow-bundle) scored in the last closed drift "
                + "window.";
        shadowEvents = Counter.build("e3_shadow_events_total", "Events scored by the shadow model, by model.")
                .labelNames("model").register(registry);
        shadowWindowEvents = Gauge.build("e3_shadow_window_events", "Events the shadow model scored in the last "
                + "closed drift window (label model: the shadow).").labelNames("model").register(registry);
        shadowAgreement = Gauge.build("e3_shadow_agreement", "Share of events where the shadow model's class "
                + "equals the active model's (label model: the shadow)." + onShadowed).labelNames("model")
                .register(registry);
        shadowReviewRatio = Gauge.build("e3_shadow_review_ratio", "Share sent to review by each model (label "
                + "model: the active and the shadow; the shadow's is what it would have sent)." + onShadowed)
                .labelNames("model").register(registry);
        shadowMeanConfidence = Gauge.build("e3_shadow_mean_confidence", "Mean confidence of each model (label "
                + "model: the active and the shadow)." + onShadowed).labelNames("model").register(registry);
        shadowConfidencePsi = Gauge.build("e3_shadow_confidence_psi", "Population stability index of the shadow "
                + "model's confidence against the active model's, over the active bundle's reference confidence bins "
                + "(label model: the shadow)." + onShadowed).labelNames("model").register(registry);
        String onLabelled = " On the shadow model's labelled events of the last closed calibration window (compare "
                + "with the active model's e3_accuracy, e3_calibration_ece and e3_calibration_nll).";
        shadowWindowLabelled = Gauge.build("e3_shadow_window_labelled_events", "Labelled events the shadow model "
                + "scored in the last closed calibration window (label model: the shadow).").labelNames("model")
                .register(registry);
        shadowAccuracy = Gauge.build("e3_shadow_accuracy", "Accuracy of the shadow model (label model)."
                + onLabelled).labelNames("model").register(registry);
        shadowEce = Gauge.build("e3_shadow_calibration_ece", "Expected calibration error of the shadow model "
                + "(label model)." + onLabelled).labelNames("model").register(registry);
        shadowNll = Gauge.build("e3_shadow_calibration_nll", "Negative log-likelihood of the shadow model (label "
                + "model)." + onLabelled).labelNames("model").register(registry);
        driftSeries = new WindowSeries();
        calibrationSeries = new WindowSeries();
    }

    /**
     * Sets the shadow model's labelled gauges ({@code e3_shadow_accuracy}, {@code e3_shadow_calibration_ece},
     * {@code e3_shadow_calibration_nll}) to one closed window's figures; NaN figures are not exported.
     */
    public void publishShadowCalibration(String shadowLabel, CalibrationSnapshot s) {
        shadowWindowLabelled.labels(shadowLabel).set(s.count());
        setUnlessNaN(shadowAccuracy, s.accuracy(), shadowLabel);
        setUnlessNaN(shadowEce, s.ece(), shadowLabel);
        setUnlessNaN(shadowNll, s.nll(), shadowLabel);
    }

    /**
     * Sets the per-source drift gauges to the figures of one closed window ({@code bySource}: the busiest sources and
     * other) and removes the series of the sources the previous window had and this one has not. NaN figures (ATC
     * without a reference accuracy) are not exported.
     */
    public void publishDriftBySource(Map<String, DriftSnapshot> bySource) {
        synchronized (driftSeries) {
            for (Map.Entry<String, DriftSnapshot> e : bySource.entrySet()) {
                String source = e.getKey();
                DriftSnapshot s = e.getValue();
                driftSeries.set(windowEventsBySource, s.count(), source);
                driftSeries.set(reviewRatioBySource, s.reviewRate(), source);
                driftSeries.set(estimatedAccuracyBySource, s.estimatedAccuracy(), source, "confidence");
                driftSeries.set(estimatedAccuracyBySource, s.estimatedAccuracyAtc(), source, "atc");
                for (Map.Entry<String, Double> psi : s.psi().entrySet()) {
                    driftSeries.set(psiBySource, psi.getValue(), source, psi.getKey());
                }
            }
            driftSeries.endWindow();
        }
    }

    /**
     * Sets the {@code e3_shadow_*} gauges to one closed window's comparison of the shadow model
     * ({@code shadowLabel}) with the active one ({@code activeLabel}); NaN figures (a window without shadow-scored
     * events) are not exported.
     */
    public void publishShadow(String activeLabel, String shadowLabel, ShadowSnapshot s) {
        shadowWindowEvents.labels(shadowLabel).set(s.count());
        setUnlessNaN(shadowAgreement, s.agreement(), shadowLabel);
        setUnlessNaN(shadowReviewRatio, s.activeReviewRate(), activeLabel);
        setUnlessNaN(shadowReviewRatio, s.shadowReviewRate(), shadowLabel);
        setUnlessNaN(shadowMeanConfidence, s.activeMeanConfidence(), activeLabel);
        setUnlessNaN(shadowMeanConfidence, s.shadowMeanConfidence(), shadowLabel);
        setUnlessNaN(shadowConfidencePsi, s.confidencePsi(), shadowLabel);
    }

    private static void setUnlessNaN(Gauge gauge, double value, String label) {
        if (!Double.isNaN(value)) {
            gauge.labels(label).set(value);
        }
    }

    /** As {@link #publishDriftBySource}, for the labelled figures of one closed calibration window. */
    public void publishCalibrationBySource(Map<String, CalibrationSnapshot> bySource) {
        synchronized (calibrationSeries) {
            for (Map.Entry<String, CalibrationSnapshot> e : bySource.entrySet()) {
                String source = e.getKey();
                CalibrationSnapshot s = e.getValue();
                calibrationSeries.set(windowLabelledBySource, s.count(), source);
                calibrationSeries.set(accuracyBySource, s.accuracy(), source);
                calibrationSeries.set(eceBySource, s.ece(), source);
            }
            calibrationSeries.endWindow();
        }
    }

    /** The labelled series one window set, so that the next window can remove those it does not set again. */
    private static final class WindowSeries {
        private final Map<Gauge, Set<List<String>>> previous = new IdentityHashMap<>();
        private final Map<Gauge, Set<List<String>>> current = new IdentityHashMap<>();

        void set(Gauge gauge, double value, String... labels) {
            if (Double.isNaN(value)) {
                return;
            }
            gauge.labels(labels).set(value);
            current.computeIfAbsent(gauge, g -> new HashSet<>()).add(List.of(labels));
        }

        void endWindow() {
            for (Map.Entry<Gauge, Set<List<String>>> e : previous.entrySet()) {
                Set<List<String>> now = current.getOrDefault(e.getKey(), Set.of());
                for (List<String> labels : e.getValue()) {
                    if (!now.contains(labels)) {
                        e.getKey().remove(labels.toArray(new String[0]));
                    }
                }
            }
            previous.clear();
            current.forEach((gauge, labels) -> previous.put(gauge, new HashSet<>(labels)));
            current.clear();
        }
    }

    /**
     * Sets {@code e3_review_ratio_reference{model}} from the bundle's {@code reference.review_rate}, once its model
     * is loaded. Not exported when the bundle has none (the review-ratio alert then compares with the previous day)
     * or when the job overrides the bundle's triage thresholds: the reference was measured under the bundle's policy
     * and would mislead under another.
     *
     * @return the value exported, or null
     */
    public Double exportReviewRatioReference(BundleManifest manifest, boolean triageOverridden) {
        Double reference = ReferenceDistributions.fromJson(manifest.referenceJson()).reviewRate();
        if (reference == null || triageOverridden) {
            reviewRatioReference.remove(manifest.name());
            return null;
        }
        reviewRatioReference.labels(manifest.name()).set(reference);
        return reference;
    }

    public static PipelineMetrics get() {
        return INSTANCE;
    }
}
