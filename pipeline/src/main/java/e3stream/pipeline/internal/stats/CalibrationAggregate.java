package e3stream.pipeline.internal.stats;

import e3stream.pipeline.internal.labels.LabelledPrediction;
import e3stream.runtime.stats.CalibrationStats;
import org.apache.flink.annotation.Internal;
import org.apache.flink.api.common.functions.AggregateFunction;

/**
 * Adds labelled predictions of a window to a {@link CalibrationStats} accumulator, per source for the
 * {@code topSources} busiest sources plus "other" (whole-stream merges are exact).
 */
@Internal
public final class CalibrationAggregate implements AggregateFunction<LabelledPrediction, CalibrationStats, CalibrationStats> {

    private static final long serialVersionUID = 1L;

    private final int numClasses;
    private final int topSources;

    public CalibrationAggregate(int numClasses, int topSources) {
        this.numClasses = numClasses;
        this.topSources = topSources;
    }

    @Override
    public CalibrationStats createAccumulator() {
        return new CalibrationStats(numClasses, topSources);
    }

    @Override
    public CalibrationStats add(LabelledPrediction value, CalibrationStats acc) {
        acc.add(value.source, value.probabilities, value.label, value.reviewed);
        return acc;
    }

    @Override
    public CalibrationStats getResult(CalibrationStats acc) {
        return acc;
    }

    @Override
    public CalibrationStats merge(CalibrationStats a, CalibrationStats b) {
        return a.merge(b);
    }
}
