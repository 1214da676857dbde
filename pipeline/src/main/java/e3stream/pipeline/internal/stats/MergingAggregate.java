package e3stream.pipeline.internal.stats;

import e3stream.runtime.stats.MergeableStats;
import org.apache.flink.annotation.Internal;
import org.apache.flink.api.common.functions.AggregateFunction;

/** An aggregate whose accumulator is its result and merges with another of its configuration. */
@Internal
abstract class MergingAggregate<T, A extends MergeableStats<A>> implements AggregateFunction<T, A, A> {

    private static final long serialVersionUID = 1L;

    @Override
    public final A getResult(A accumulator) {
        return accumulator;
    }

    @Override
    public final A merge(A a, A b) {
        return a.merge(b);
    }
}
