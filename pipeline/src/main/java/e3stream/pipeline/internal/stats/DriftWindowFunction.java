package e3stream.pipeline.internal.stats;

import java.util.Map;

import e3stream.pipeline.internal.events.Json;
import e3stream.pipeline.internal.events.OutputRecord;
import e3stream.pipeline.internal.metrics.PipelineMetrics;
import e3stream.runtime.stats.DriftStats;
import e3stream.runtime.stats.DriftStats.DriftSnapshot;
import org.apache.flink.annotation.Internal;
import org.apache.flink.streaming.api.functions.windowing.ProcessAllWindowFunction;
import org.apache.flink.streaming.api.windowing.windows.TimeWindow;
import org.apache.flink.util.Collector;

/** Publishes a closed window's label-free drift figures: Prometheus gauges and one record on the calibration topic. */
@Internal
public final class DriftWindowFunction extends ProcessAllWindowFunction<DriftStats, OutputRecord, TimeWindow> {

    private static final long serialVersionUID = 1L;

    private final String topic;
    private final String model;
    private final String version;

    public DriftWindowFunction(String topic, String model, String version) {
        this.topic = topic;
        this.model = model;
        this.version = version;
    }

    @Override
    public void process(Context context, Iterable<DriftStats> elements, Collector<OutputRecord> out) {
        DriftSnapshot s = elements.iterator().next().snapshot();
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
        TimeWindow w = context.window();
        out.collect(new OutputRecord(topic, Snapshots.DRIFT + "-" + w.getStart(),
                Json.bytes(Snapshots.drift(s, w.getStart(), w.getEnd(), model, version)), w.maxTimestamp()));
    }
}
