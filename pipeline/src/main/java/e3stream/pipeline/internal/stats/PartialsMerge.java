package e3stream.pipeline.internal.stats;

import e3stream.runtime.stats.MergeableStats;
import org.apache.flink.annotation.Internal;
import org.apache.flink.api.common.functions.AggregateFunction;

/**
 * The {@code windowAll} half of a pre-aggregated window ({@link WindowPreAggregator}): merges the subtasks' partial
 * accumulators into one, which the window function then reads as it read the item-by-item accumulator before.
 */
@Internal
public final class PartialsMerge<A extends MergeableStats<A>> implements AggregateFunction<A, A, A> {

    private static final long serialVersionUID = 1L;

    private final AggregateFunction<?, A, A> items;

    /** @param items the item-by-item aggregate of the pre-aggregation: it makes the empty accumulator */
    public PartialsMerge(AggregateFunction<?, A, A> items) {
        this.items = items;
    }

    @Override
    public A createAccumulator() {
        return items.createAccumulator();
    }

    @Override
    public A add(A partial, A accumulator) {
        return accumulator.merge(partial);
    }

    @Override
    public A getResult(A accumulator) {
        return accumulator;
    }

    @Override
    public A merge(A a, A b) {
        return a.merge(b);
    }
}
