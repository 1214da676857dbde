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

    /**
     * Why {@code other} cannot be merged into this accumulator (built against another reference or with other
     * settings, as a window restored from a savepoint of an earlier bundle can be), or null when it can. What
     * {@link #merge} checks before it changes anything.
     */
    String mergeConflict(A other);

    /**
     * Adds {@code other}'s items to this accumulator and returns it.
     *
     * @throws IllegalArgumentException with the {@link #mergeConflict} when there is one; nothing is changed then
     */
    A merge(A other);

    /** A new, empty accumulator of the same kind and configuration (reference, classes) as this one. */
    A emptyLike();
}
