package e3stream.pipeline.internal.stats;

import e3stream.pipeline.internal.events.Prediction;
import e3stream.pipeline.internal.events.ShadowPrediction;
import e3stream.runtime.stats.ShadowComparison;
import e3stream.runtime.stats.DriftStats;
import e3stream.runtime.stats.ReferenceDistributions;
import org.apache.flink.annotation.Internal;
import org.apache.flink.api.common.functions.AggregateFunction;
import org.apache.flink.types.Either;

/**
 * Adds a window's predictions (left) to a label-free {@link DriftStats} accumulator against the bundle's reference,
 * per source for the {@code topSources} busiest sources plus "other"; with {@code shadow}, also the window's shadow
 * results (right) to its {@link e3stream.runtime.stats.ShadowComparison}.
 */
@Internal
public final class DriftAggregate implements AggregateFunction<Either<Prediction, ShadowPrediction>, DriftStats, DriftStats> {

    private static final long serialVersionUID = 1L;

    private final ReferenceDistributions reference;
    private final int topSources;
    private final boolean shadow;

    public DriftAggregate(ReferenceDistributions reference, int topSources) {
        this(reference, topSources, false);
    }

    /** @param shadow whether a shadow model's results are compared (the accumulators carry a comparison) */
    public DriftAggregate(ReferenceDistributions reference, int topSources, boolean shadow) {
        this.reference = reference;
        this.topSources = topSources;
        this.shadow = shadow;
    }

    @Override
    public DriftStats createAccumulator() {
        DriftStats stats = new DriftStats(reference, topSources);
        return shadow ? stats.compareShadow() : stats;
    }

    @Override
    public DriftStats add(Either<Prediction, ShadowPrediction> item, DriftStats acc) {
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

    @Override
    public DriftStats getResult(DriftStats acc) {
        return acc;
    }

    @Override
    public DriftStats merge(DriftStats a, DriftStats b) {
        return a.merge(b);
    }
}
