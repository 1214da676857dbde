package e3stream.pipeline.internal.stats;

import java.util.Map;

import e3stream.pipeline.internal.events.Json;
import e3stream.pipeline.internal.events.ModelTag;
import e3stream.pipeline.internal.events.OutputRecord;
import e3stream.pipeline.internal.metrics.PipelineMetrics;
import e3stream.runtime.stats.CalibrationStats;
import e3stream.runtime.stats.CalibrationStats.CalibrationSnapshot;
import org.apache.flink.annotation.Internal;
import org.apache.flink.streaming.api.functions.windowing.ProcessAllWindowFunction;
import org.apache.flink.streaming.api.windowing.windows.TimeWindow;
import org.apache.flink.util.Collector;

/**
 * Publishes a closed window's labelled figures of each shadow model ({@link ShadowCalibrations}, merged from the
 * subtasks' partials): per model the {@code e3_shadow_accuracy} and {@code e3_shadow_calibration_*} gauges and a
 * {@code shadow-calibration} record on the calibration topic, beside the active model's {@code calibration} record.
 */
@Internal
public final class ShadowCalibrationWindowFunction
        extends ProcessAllWindowFunction<ShadowCalibrations, OutputRecord, TimeWindow> {

    private static final long serialVersionUID = 1L;

    private final String topic;

    public ShadowCalibrationWindowFunction(String topic) {
        this.topic = topic;
    }

    @Override
    public void process(Context context, Iterable<ShadowCalibrations> elements, Collector<OutputRecord> out) {
        TimeWindow w = context.window();
        for (Map.Entry<ModelTag, CalibrationStats> e : elements.iterator().next().byModel().entrySet()) {
            ModelTag model = e.getKey();
            CalibrationSnapshot s = e.getValue().snapshot();
            PipelineMetrics.get().publishShadowCalibration(model.label, s);
            out.collect(new OutputRecord(topic, Snapshots.SHADOW_CALIBRATION + "-" + model.label + "-" + w.getStart(),
                    Json.bytes(Snapshots.shadowCalibration(s, w.getStart(), w.getEnd(), model.name, model.version)),
                    w.maxTimestamp()));
        }
    }
}
