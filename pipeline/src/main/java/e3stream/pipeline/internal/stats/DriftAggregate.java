package e3stream.pipeline.internal.stats;

import e3stream.pipeline.internal.events.Prediction;
import e3stream.runtime.stats.DriftStats;
import e3stream.runtime.stats.ReferenceDistributions;
import org.apache.flink.annotation.Internal;
import org.apache.flink.api.common.functions.AggregateFunction;

/**
 * Adds a window's predictions to a label-free {@link DriftStats} accumulator against the bundle's reference, per
 * source for the {@code topSources} busiest sources plus "other".
 */
@Internal
public final class DriftAggregate implements AggregateFunction<Prediction, DriftStats, DriftStats> {

    private static final long serialVersionUID = 1L;

    private final ReferenceDistributions reference;
    private final int topSources;

    public DriftAggregate(ReferenceDistributions reference, int topSources) {
        this.reference = reference;
        this.topSources = topSources;
    }

    @Override
    public DriftStats createAccumulator() {
        return new DriftStats(reference, topSources);
    }

    @Override
    public DriftStats add(Prediction p, DriftStats acc) {
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
