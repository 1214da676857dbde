package e3stream.pipeline.internal.stats;

import e3stream.pipeline.internal.events.OutputRecord;
import e3stream.pipeline.internal.metrics.PipelineMetrics;
import e3stream.runtime.stats.CalibrationStats;
import org.apache.flink.annotation.Internal;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.util.Collector;

/**
 * Counts labelled predictions that came after their calibration window closed ({@code e3_labels_late_total}), from
 * the late partials of the calibration {@code windowAll} ({@link WindowPreAggregator}); emits
 * nothing (its output joins the sink's union only so that Flink keeps the operator in the graph).
 */
@Internal
public final class LateLabelCounter extends ProcessFunction<CalibrationStats, OutputRecord> {

    private static final long serialVersionUID = 1L;

    @Override
    public void processElement(CalibrationStats late, Context ctx, Collector<OutputRecord> out) {
        PipelineMetrics.get().labelsLate.inc(late.count());
    }
}
