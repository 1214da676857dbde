package e3stream.pipeline.internal.stats;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

import e3stream.pipeline.internal.events.ModelTag;
import e3stream.pipeline.internal.labels.LabelledPrediction;
import e3stream.runtime.stats.CalibrationStats;
import e3stream.runtime.stats.MergeableStats;
import org.apache.flink.annotation.Internal;

/**
 * One window's labelled figures of each shadow model (usually one; two while one replaces another), so that the
 * shadow calibration window can be pre-aggregated per subtask like the active one ({@link WindowPreAggregator}) and
 * merged in one {@code windowAll}. Per model a {@link CalibrationStats} without per-source figures. Not thread-safe.
 */
@Internal
public final class ShadowCalibrations implements MergeableStats<ShadowCalibrations> {

    private static final long serialVersionUID = 1L;

    private final int numClasses;
    private final Map<ModelTag, CalibrationStats> byModel = new LinkedHashMap<>();

    public ShadowCalibrations(int numClasses) {
        this.numClasses = numClasses;
    }

    /** Adds a labelled shadow prediction to its model's figures ({@link LabelledPrediction#shadowOf}). */
    public ShadowCalibrations add(LabelledPrediction item) {
        byModel.computeIfAbsent(item.shadowOf, m -> new CalibrationStats(numClasses, 0))
                .add(item.source, item.probabilities, item.label, item.reviewed);
        return this;
    }

    /** Each shadow model's figures, in the order the models first came. */
    public Map<ModelTag, CalibrationStats> byModel() {
        return Collections.unmodifiableMap(byModel);
    }

    @Override
    public long count() {
        return byModel.values().stream().mapToLong(CalibrationStats::count).sum();
    }

    @Override
    public String mergeConflict(ShadowCalibrations other) {
        return numClasses == other.numClasses ? null
                : "of " + other.numClasses + " classes into " + numClasses + " classes";
    }

    @Override
    public ShadowCalibrations merge(ShadowCalibrations other) {
        String conflict = mergeConflict(other);
        if (conflict != null) {
            throw new IllegalArgumentException("cannot merge shadow calibrations " + conflict);
        }
        other.byModel.forEach((model, stats) -> {
            CalibrationStats mine = byModel.get(model);
            if (mine == null) {
                byModel.put(model, stats.copy()); // never share other's accumulator
            } else {
                mine.merge(stats);
            }
        });
        return this;
    }

    @Override
    public ShadowCalibrations emptyLike() {
        return new ShadowCalibrations(numClasses);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ShadowCalibrations s && numClasses == s.numClasses && byModel.equals(s.byModel);
    }

    @Override
    public int hashCode() {
        return byModel.hashCode();
    }
}
