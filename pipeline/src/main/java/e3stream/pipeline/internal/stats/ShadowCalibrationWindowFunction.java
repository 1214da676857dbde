package e3stream.pipeline.internal.stats;

import e3stream.pipeline.internal.events.Json;
import e3stream.pipeline.internal.events.ModelTag;
import e3stream.pipeline.internal.events.OutputRecord;
import e3stream.pipeline.internal.metrics.PipelineMetrics;
import e3stream.runtime.stats.CalibrationStats;
import e3stream.runtime.stats.CalibrationStats.CalibrationSnapshot;
import org.apache.flink.annotation.Internal;
import org.apache.flink.streaming.api.functions.windowing.ProcessWindowFunction;
import org.apache.flink.streaming.api.windowing.windows.TimeWindow;
import org.apache.flink.util.Collector;

/**
 * Publishes a closed window's labelled figures of one shadow model (the window is keyed by the shadow's
 * {@link ModelTag}; {@link CalibrationAggregate} without per-source figures): the {@code e3_shadow_accuracy} and
 * {@code e3_shadow_calibration_*} gauges and a {@code shadow-calibration} record on the calibration topic, beside the
 * active model's {@code calibration} record.
 */
@Internal
public final class ShadowCalibrationWindowFunction
        extends ProcessWindowFunction<CalibrationStats, OutputRecord, ModelTag, TimeWindow> {

    private static final long serialVersionUID = 1L;

    private final String topic;

    public ShadowCalibrationWindowFunction(String topic) {
        this.topic = topic;
    }

    @Override
    public void process(ModelTag model, Context context, Iterable<CalibrationStats> elements,
                        Collector<OutputRecord> out) {
        CalibrationSnapshot s = elements.iterator().next().snapshot();
        PipelineMetrics.get().publishShadowCalibration(model.label, s);
        TimeWindow w = context.window();
        out.collect(new OutputRecord(topic, Snapshots.SHADOW_CALIBRATION + "-" + model.label + "-" + w.getStart(),
                Json.bytes(Snapshots.shadowCalibration(s, w.getStart(), w.getEnd(), model.name, model.version)),
                w.maxTimestamp()));
    }
}
