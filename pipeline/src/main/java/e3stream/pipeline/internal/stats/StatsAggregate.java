package e3stream.pipeline.internal.stats;

import e3stream.pipeline.internal.events.Prediction;
import e3stream.pipeline.internal.events.ShadowPrediction;
import e3stream.pipeline.internal.labels.LabelledPrediction;
import e3stream.runtime.stats.CalibrationStats;
import e3stream.runtime.stats.DriftStats;
import e3stream.runtime.stats.MergeableStats;
import e3stream.runtime.stats.ReferenceDistributions;
import e3stream.runtime.stats.ShadowComparison;
import java.io.Serializable;
import org.apache.flink.annotation.Internal;
import org.apache.flink.types.Either;

/**
 * Adds a window's items to a statistics accumulator: the one aggregate of the drift, calibration and shadow
 * calibration windows, each made by its factory ({@link #drift}, {@link #calibration}, {@link #shadowCalibration}).
 *
 * @param <T> the items
 * @param <A> the accumulator, which merges with others of its configuration
 */
@Internal
public final class StatsAggregate<T, A extends MergeableStats<A>> extends MergingAggregate<T, A> {

    private static final long serialVersionUID = 1L;

    /** A new, empty accumulator of the job's configuration. */
    @FunctionalInterface
    interface Empty<A> extends Serializable {
        A create();
    }

    /** Adds one item to an accumulator and returns the accumulator. */
    @FunctionalInterface
    interface Adder<T, A> extends Serializable {
        A add(T item, A accumulator);
    }

    private final Empty<A> empty;
    private final Adder<T, A> adder;

    private StatsAggregate(Empty<A> empty, Adder<T, A> adder) {
        this.empty = empty;
        this.adder = adder;
    }

    /**
     * Predictions (left) against the bundle's reference, per source for the {@code topSources} busiest sources plus
     * "other"; with {@code shadow}, also the shadow results (right) in the accumulators' {@link ShadowComparison}.
     */
    public static StatsAggregate<Either<Prediction, ShadowPrediction>, DriftStats> drift(
            ReferenceDistributions reference, int topSources, boolean shadow) {
        return new StatsAggregate<>(() -> {
            DriftStats stats = new DriftStats(reference, topSources);
            return shadow ? stats.compareShadow() : stats;
        }, StatsAggregate::addDriftItem);
    }

    private static DriftStats addDriftItem(Either<Prediction, ShadowPrediction> item, DriftStats acc) {
        if (item.isRight()) {
            Prediction a = item.right().active;
            Prediction s = item.right().shadow;
            ShadowComparison comparison = acc.compareShadow().shadow().orElseThrow();
            comparison.add(a.classIndex, a.confidence, !a.accepted, s.classIndex, s.confidence, !s.accepted);
            comparison.models(a.modelName, s.modelName, s.modelVersion);
            return acc;
        }
        Prediction p = item.left();
        acc.add(p.source, p.confidence, p.entropy, p.mutualInformation, p.classIndex, !p.accepted,
                p.featureLogDensity == null ? Double.NaN : p.featureLogDensity);
        return acc;
    }

    /** Labelled predictions, per source for the {@code topSources} busiest sources plus "other". */
    public static StatsAggregate<LabelledPrediction, CalibrationStats> calibration(int numClasses, int topSources) {
        return new StatsAggregate<>(() -> new CalibrationStats(numClasses, topSources), (value, acc) -> {
            acc.add(value.source, value.probabilities, value.label, value.reviewed);
            return acc;
        });
    }

    /** Labelled shadow predictions, per shadow model ({@link ShadowCalibrations}). */
    public static StatsAggregate<LabelledPrediction, ShadowCalibrations> shadowCalibration(int numClasses) {
        return new StatsAggregate<>(() -> new ShadowCalibrations(numClasses), (value, acc) -> acc.add(value));
    }

    @Override
    public A createAccumulator() {
        return empty.create();
    }

    @Override
    public A add(T item, A accumulator) {
        return adder.add(item, accumulator);
    }
}
