package e3stream.runtime.eval;

import e3stream.runtime.Internal;

import e3stream.runtime.data.Corruption;
import e3stream.runtime.data.Corruptions;
import e3stream.runtime.data.ImageSet;
import java.util.ArrayList;
import java.util.List;

/**
 * The data one evaluation runs every model over: the in-distribution test set, an out-of-distribution set, and the
 * corrupted copies of the test set (every {@link Corruption} at severities 1..5, generated once with a seed).
 */
@Internal
public final class EvaluationData {
    private final ImageSet test;
    private final ImageSet ood;
    private final List<CorruptedSet> corrupted;
    private final long seed;

    /** One corrupted copy of (a prefix of) the test set. */
    public record CorruptedSet(Corruption corruption, int severity, ImageSet images) {
    }

    /**
     * @param corruptionLimit corrupt only the first this many test images (all when {@code <= 0} or larger than the set)
     */
    public EvaluationData(ImageSet test, ImageSet ood, int corruptionLimit, long seed) {
        this.test = test;
        this.ood = ood;
        this.seed = seed;
        ImageSet base = corruptionLimit > 0 && corruptionLimit < test.count() ? test.first(corruptionLimit) : test;
        List<CorruptedSet> sets = new ArrayList<>();
        for (Corruption c : Corruption.values()) {
            for (int s = 1; s <= Corruption.SEVERITIES; s++) {
                sets.add(new CorruptedSet(c, s, Corruptions.apply(base, c, s, seed)));
            }
        }
        this.corrupted = List.copyOf(sets);
    }

    public ImageSet test() {
        return test;
    }

    public ImageSet ood() {
        return ood;
    }

    public List<CorruptedSet> corrupted() {
        return corrupted;
    }

    public int corruptedCount() {
        return corrupted.get(0).images().count();
    }

    public long seed() {
        return seed;
    }
}
