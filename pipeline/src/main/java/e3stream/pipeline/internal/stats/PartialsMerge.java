package e3stream.pipeline.internal.stats;

import e3stream.runtime.stats.MergeableStats;
import org.apache.flink.annotation.Internal;
import org.apache.flink.api.common.functions.AggregateFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@code windowAll} half of a pre-aggregated window ({@link WindowPreAggregator}): merges the subtasks' partial
 * accumulators into one, which the window function then reads as it read the item-by-item accumulator before.
 */
@Internal
public final class PartialsMerge<A extends MergeableStats<A>> extends MergingAggregate<A, A> {

    private static final long serialVersionUID = 1L;
    private static final Logger LOG = LoggerFactory.getLogger(PartialsMerge.class);

    private final AggregateFunction<?, A, A> items;
    /** An empty accumulator of the current configuration, to check partials against. */
    private transient A current;

    /** @param items the item-by-item aggregate of the pre-aggregation: it makes the empty accumulator */
    public PartialsMerge(AggregateFunction<?, A, A> items) {
        this.items = items;
    }

    @Override
    public A createAccumulator() {
        return items.createAccumulator();
    }

    /**
     * Merges a partial into the window's accumulator. Both should be of the job's current configuration; after a
     * restore from a savepoint of another bundle or other settings, one of them may be of the earlier one and cannot
     * be merged: the window then keeps the current configuration's figures and drops the earlier items, with a
     * warning, rather than fail the task on every restart.
     */
    @Override
    public A add(A partial, A accumulator) {
        if (current == null) {
            current = items.createAccumulator(); // only ever compared with, never changed
        }
        if (!ofCurrentConfiguration(current, partial)) {
            return accumulator;
        }
        return ofCurrentConfiguration(current, accumulator) ? accumulator.merge(partial)
                : items.createAccumulator().merge(partial);
    }

    /**
     * Whether {@code restored} can be merged with accumulators like {@code current}; if not, says in the log that its
     * items are dropped. Shared with {@link WindowPreAggregator}'s restore.
     */
    static <A extends MergeableStats<A>> boolean ofCurrentConfiguration(A current, A restored) {
        String conflict = current.mergeConflict(restored);
        if (conflict != null) {
            LOG.warn("window statistics: dropping {} items restored from an earlier configuration ({})",
                    restored.count(), conflict);
        }
        return conflict == null;
    }
}
