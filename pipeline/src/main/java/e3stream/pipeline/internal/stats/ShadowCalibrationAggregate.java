package e3stream.pipeline.internal.stats;

import e3stream.pipeline.internal.labels.LabelledPrediction;
import org.apache.flink.annotation.Internal;
import org.apache.flink.api.common.functions.AggregateFunction;

/** Adds labelled shadow predictions of a window to their models' figures ({@link ShadowCalibrations}). */
@Internal
public final class ShadowCalibrationAggregate
        implements AggregateFunction<LabelledPrediction, ShadowCalibrations, ShadowCalibrations> {

    private static final long serialVersionUID = 1L;

    private final int numClasses;

    public ShadowCalibrationAggregate(int numClasses) {
        this.numClasses = numClasses;
    }

    @Override
    public ShadowCalibrations createAccumulator() {
        return new ShadowCalibrations(numClasses);
    }

    @Override
    public ShadowCalibrations add(LabelledPrediction value, ShadowCalibrations acc) {
        return acc.add(value);
    }

    @Override
    public ShadowCalibrations getResult(ShadowCalibrations acc) {
        return acc;
    }

    @Override
    public ShadowCalibrations merge(ShadowCalibrations a, ShadowCalibrations b) {
        return a.merge(b);
    }
}
