package e3stream.runtime.stats;

import java.io.Serializable;

/**
 * A mergeable statistics accumulator ({@link CalibrationStats}, {@link DriftStats}): what {@link TopSources} needs to
 * keep one per source.
 *
 * @param <A> the accumulator's own type
 */
public interface MergeableStats<A extends MergeableStats<A>> extends Serializable {

    /** Items added so far. */
    long count();

    /** Adds {@code other}'s items to this accumulator and returns it. */
    A merge(A other);

    /** A new, empty accumulator of the same kind and configuration (reference, classes) as this one. */
    A emptyLike();
}
