package e3stream.pipeline.internal.stats;

import java.util.Map;

import e3stream.pipeline.internal.events.Json;
import e3stream.pipeline.internal.events.OutputRecord;
import e3stream.pipeline.internal.metrics.PipelineMetrics;
import e3stream.runtime.stats.CalibrationStats;
import e3stream.runtime.stats.CalibrationStats.CalibrationSnapshot;
import org.apache.flink.annotation.Internal;
import org.apache.flink.streaming.api.functions.windowing.ProcessAllWindowFunction;
import org.apache.flink.streaming.api.windowing.windows.TimeWindow;
import org.apache.flink.util.Collector;

/**
 * Publishes a closed window's calibration figures, of the whole stream and per source (the {@code topSources}
 * busiest and "other"): Prometheus gauges and one record on the calibration topic.
 */
@Internal
public final class CalibrationWindowFunction
        extends ProcessAllWindowFunction<CalibrationStats, OutputRecord, TimeWindow> {

    private static final long serialVersionUID = 1L;

    private final String topic;
    private final String model;
    private final String version;
    private final int topSources;

    public CalibrationWindowFunction(String topic, String model, String version, int topSources) {
        this.topic = topic;
        this.model = model;
        this.version = version;
        this.topSources = topSources;
    }

    @Override
    public void process(Context context, Iterable<CalibrationStats> elements, Collector<OutputRecord> out) {
        CalibrationStats stats = elements.iterator().next();
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
        TimeWindow w = context.window();
        out.collect(new OutputRecord(topic, Snapshots.CALIBRATION + "-" + w.getStart(), Json.bytes(
                Snapshots.calibration(s, bySource, topSources, w.getStart(), w.getEnd(), model, version)),
                w.maxTimestamp()));
    }
}
