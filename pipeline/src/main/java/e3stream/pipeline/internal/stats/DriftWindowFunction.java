package e3stream.pipeline.internal.stats;

import java.util.Map;

import e3stream.pipeline.internal.events.Json;
import e3stream.pipeline.internal.events.OutputRecord;
import e3stream.pipeline.internal.metrics.PipelineMetrics;
import e3stream.runtime.stats.DriftStats;
import e3stream.runtime.stats.DriftStats.DriftSnapshot;
import e3stream.runtime.stats.ShadowComparison;
import e3stream.runtime.stats.ShadowComparison.ShadowSnapshot;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.flink.annotation.Internal;
import org.apache.flink.streaming.api.functions.windowing.ProcessAllWindowFunction;
import org.apache.flink.streaming.api.windowing.windows.TimeWindow;
import org.apache.flink.util.Collector;

/**
 * Publishes a closed window's label-free drift figures, of the whole stream and per source (the
 * {@code topSources} busiest and "other"), and with a shadow model its comparison with the active one: Prometheus
 * gauges and one record on the calibration topic.
 */
@Internal
public final class DriftWindowFunction extends ProcessAllWindowFunction<DriftStats, OutputRecord, TimeWindow> {

    private static final long serialVersionUID = 1L;

    private final String topic;
    private final String model;
    private final String version;
    private final int topSources;
    private final ShadowModel shadow;

    public DriftWindowFunction(String topic, String model, String version, int topSources) {
        this(topic, model, version, topSources, null);
    }

    /** @param shadow the shadow model compared in the accumulators, or null without one */
    public DriftWindowFunction(String topic, String model, String version, int topSources, ShadowModel shadow) {
        this.topic = topic;
        this.model = model;
        this.version = version;
        this.topSources = topSources;
        this.shadow = shadow;
    }

    /**
     * The two models of a shadow comparison: the shadow's name and version (for the snapshot) and the {@code model}
     * label values of the active and the shadow model in the gauges.
     */
    public record ShadowModel(String name, String version, String activeLabel, String shadowLabel)
            implements java.io.Serializable {
    }

    /**
     * The models the window's shadow comparison is about: as the shadow results named them (with model control the
     * shadow can change while the job runs), else the configured shadow; null when there is nothing to report (no
     * configured shadow and no shadow result in the window).
     */
    private ShadowModel comparedModels(DriftStats stats) {
        ShadowComparison comparison = stats.shadow().orElse(null);
        if (comparison != null && comparison.shadowName() != null) {
            return new ShadowModel(comparison.shadowName(), comparison.shadowVersion(), comparison.activeName(),
                    PipelineMetrics.shadowLabel(comparison.activeName(), comparison.shadowName(),
                            comparison.shadowVersion()));
        }
        return shadow;
    }

    @Override
    public void process(Context context, Iterable<DriftStats> elements, Collector<OutputRecord> out) {
        DriftStats stats = elements.iterator().next();
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
        ObjectNode record = Snapshots.drift(s, bySource, topSources, context.window().getStart(),
                context.window().getEnd(), model, version);
        ShadowModel compared = comparedModels(stats);
        if (compared != null) {
            ShadowSnapshot comparison = stats.compareShadow().shadow().orElseThrow().snapshot();
            m.publishShadow(compared.activeLabel(), compared.shadowLabel(), comparison);
            Snapshots.shadow(record, comparison, compared.name(), compared.version(), compared.activeLabel());
        }
        TimeWindow w = context.window();
        out.collect(new OutputRecord(topic, Snapshots.DRIFT + "-" + w.getStart(), Json.bytes(record),
                w.maxTimestamp()));
    }
}
