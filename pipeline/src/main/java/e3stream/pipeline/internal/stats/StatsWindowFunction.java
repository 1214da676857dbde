package e3stream.pipeline.internal.stats;

import com.fasterxml.jackson.databind.node.ObjectNode;
import e3stream.pipeline.internal.events.Json;
import e3stream.pipeline.internal.events.ModelTag;
import e3stream.pipeline.internal.events.OutputRecord;
import e3stream.pipeline.internal.metrics.PipelineMetrics;
import e3stream.runtime.stats.CalibrationStats;
import e3stream.runtime.stats.CalibrationStats.CalibrationSnapshot;
import e3stream.runtime.stats.DriftStats;
import e3stream.runtime.stats.DriftStats.DriftSnapshot;
import e3stream.runtime.stats.ShadowComparison;
import e3stream.runtime.stats.ShadowComparison.ShadowSnapshot;
import java.io.Serializable;
import java.util.Map;
import org.apache.flink.annotation.Internal;
import org.apache.flink.streaming.api.functions.windowing.ProcessAllWindowFunction;
import org.apache.flink.streaming.api.windowing.windows.TimeWindow;
import org.apache.flink.util.Collector;

/**
 * Publishes a closed window's statistics (the one accumulator merged from the subtasks' partials): Prometheus gauges
 * and records on the calibration topic. The one window function of the drift, calibration and shadow calibration
 * windows, each made by its factory ({@link #drift}, {@link #calibration}, {@link #shadowCalibration}).
 */
@Internal
public final class StatsWindowFunction<A> extends ProcessAllWindowFunction<A, OutputRecord, TimeWindow> {

    private static final long serialVersionUID = 1L;

    /** What a window's figures become: gauges set and records collected. */
    @FunctionalInterface
    interface Publisher<A> extends Serializable {
        void publish(A stats, TimeWindow window, Collector<OutputRecord> out);
    }

    private final Publisher<A> publisher;

    private StatsWindowFunction(Publisher<A> publisher) {
        this.publisher = publisher;
    }

    @Override
    public void process(Context context, Iterable<A> elements, Collector<OutputRecord> out) {
        publisher.publish(elements.iterator().next(), context.window(), out);
    }

    /**
     * The two models of a shadow comparison: the shadow's name and version (for the snapshot) and the {@code model}
     * label values of the active and the shadow model in the gauges.
     */
    public record ShadowModel(String name, String version, String activeLabel, String shadowLabel)
            implements Serializable {
    }

    /**
     * Label-free drift figures, of the whole stream and per source (the {@code topSources} busiest and "other"),
     * and with a shadow model its comparison with the active one; one {@code drift} record.
     *
     * @param shadow the configured shadow model, or null without one
     */
    public static StatsWindowFunction<DriftStats> drift(String topic, String model, String version, int topSources,
                                                        ShadowModel shadow) {
        return new StatsWindowFunction<>((stats, w, out) -> {
            DriftSnapshot s = stats.snapshot();
            Map<String, DriftSnapshot> bySource = stats.snapshotBySource();
            PipelineMetrics m = PipelineMetrics.get();
            m.reviewRatio.set(s.reviewRate());
            m.estimatedAccuracy.labels("confidence").set(s.estimatedAccuracy());
            if (!Double.isNaN(s.estimatedAccuracyAtc())) {
                m.estimatedAccuracy.labels("atc").set(s.estimatedAccuracyAtc());
            }
            m.windowEvents.set(s.count());
            for (Map.Entry<String, Double> e : s.psi().entrySet()) {
                m.psi.labels(e.getKey()).set(e.getValue());
            }
            for (Map.Entry<String, Double> e : s.ks().entrySet()) {
                m.ks.labels(e.getKey()).set(e.getValue());
            }
            m.predictedClassJs.set(s.predictedClassJsDivergence());
            if (topSources > 0) {
                m.publishDriftBySource(bySource);
            }
            ObjectNode record = Snapshots.drift(s, bySource, topSources, w.getStart(), w.getEnd(), model, version);
            ShadowModel compared = comparedModels(stats, shadow);
            if (compared != null) {
                ShadowSnapshot comparison = stats.compareShadow().shadow().orElseThrow().snapshot();
                m.publishShadow(compared.activeLabel(), compared.shadowLabel(), comparison);
                Snapshots.shadow(record, comparison, compared.name(), compared.version(), compared.activeLabel());
            }
            out.collect(new OutputRecord(topic, Snapshots.DRIFT + "-" + w.getStart(), Json.bytes(record),
                    w.maxTimestamp()));
        });
    }

    /**
     * The models the window's shadow comparison is about: as the shadow results named them (with model control the
     * shadow can change while the job runs), else the configured shadow; null when there is nothing to report (no
     * configured shadow and no shadow result in the window).
     */
    private static ShadowModel comparedModels(DriftStats stats, ShadowModel configured) {
        ShadowComparison comparison = stats.shadow().orElse(null);
        if (comparison != null && comparison.shadowName() != null) {
            return new ShadowModel(comparison.shadowName(), comparison.shadowVersion(), comparison.activeName(),
                    PipelineMetrics.shadowLabel(comparison.activeName(), comparison.shadowName(),
                            comparison.shadowVersion()));
        }
        return configured;
    }

    /**
     * Calibration figures, of the whole stream and per source (the {@code topSources} busiest and "other"); one
     * {@code calibration} record.
     */
    public static StatsWindowFunction<CalibrationStats> calibration(String topic, String model, String version,
                                                                    int topSources) {
        return new StatsWindowFunction<>((stats, w, out) -> {
            CalibrationSnapshot s = stats.snapshot();
            Map<String, CalibrationSnapshot> bySource = stats.snapshotBySource();
            PipelineMetrics m = PipelineMetrics.get();
            m.ece.set(s.ece());
            m.nll.set(s.nll());
            m.brier.set(s.brier());
            m.accuracy.set(s.accuracy());
            m.windowLabelled.set(s.count());
            if (topSources > 0) {
                m.publishCalibrationBySource(bySource);
            }
            out.collect(new OutputRecord(topic, Snapshots.CALIBRATION + "-" + w.getStart(), Json.bytes(
                    Snapshots.calibration(s, bySource, topSources, w.getStart(), w.getEnd(), model, version)),
                    w.maxTimestamp()));
        });
    }

    /**
     * The labelled figures of each shadow model: per model the {@code e3_shadow_accuracy} and
     * {@code e3_shadow_calibration_*} gauges and a {@code shadow-calibration} record beside the active model's
     * {@code calibration} record.
     */
    public static StatsWindowFunction<ShadowCalibrations> shadowCalibration(String topic) {
        return new StatsWindowFunction<>((stats, w, out) -> {
            for (Map.Entry<ModelTag, CalibrationStats> e : stats.byModel().entrySet()) {
                ModelTag model = e.getKey();
                CalibrationSnapshot s = e.getValue().snapshot();
                PipelineMetrics.get().publishShadowCalibration(model.label, s);
                out.collect(new OutputRecord(topic,
                        Snapshots.SHADOW_CALIBRATION + "-" + model.label + "-" + w.getStart(),
                        Json.bytes(Snapshots.shadowCalibration(s, w.getStart(), w.getEnd(), model.name, model.version)),
                        w.maxTimestamp()));
            }
        });
    }
}
