package e3stream.runtime.stats;

import java.io.Serializable;
import java.util.Arrays;

/**
 * Label-free comparison of a shadow model with the active model on the events both scored (a mergeable
 * accumulator). Per event it takes each model's predicted class, confidence and triage decision. Figures
 * ({@link ShadowSnapshot}; NaN when no event was added):
 * <ul>
 *   <li>agreement: share of events where the shadow's class equals the active's;</li>
 *   <li>review rates of both models on these events, and their difference (shadow minus active);</li>
 *   <li>mean confidence of both models;</li>
 *   <li>PSI of the shadow's confidence distribution against the active's, over the bins of the active bundle's
 *       reference confidence (its validation deciles), with {@link DriftStats}'s PSI (shares floored at
 *       {@link DriftStats#PSI_EPSILON}): below 0.1 the two models are about equally confident.</li>
 * </ul>
 * Counts are integers and sums exact fixed point, so {@code a.merge(b)} leaves exactly the state of adding both
 * streams to one accumulator. Not thread-safe: one accumulator per Flink subtask, combined with {@link #merge}.
 *
 * <pre>{@code
 * ShadowComparison c = new ShadowComparison(activeReference.signal(ReferenceDistributions.CONFIDENCE));
 * c.add(active.classIndex(), active.confidence(), activeReviewed, shadow.classIndex(), shadow.confidence(), shadowReviewed);
 * double agreement = c.snapshot().agreement();
 * }</pre>
 */
public final class ShadowComparison implements MergeableStats<ShadowComparison> {

    private static final long serialVersionUID = 1L;

    private static final int ACTIVE = 0;
    private static final int SHADOW = 1;

    private final SignalReference confidenceBins;
    private long count;
    private long agreed;
    private final long[] reviewed = new long[2];
    private final long[][] confidenceCounts;
    private final FixedPointSums confidenceSums = new FixedPointSums(2);
    /** The models compared, as last named ({@link #models}); null until named. */
    private String activeName;
    private String shadowName;
    private String shadowVersion;

    /**
     * A comparison whose confidence PSI uses the bins of {@code confidenceBins} (the active bundle's reference
     * confidence).
     */
    public ShadowComparison(SignalReference confidenceBins) {
        if (confidenceBins == null) {
            throw new IllegalArgumentException("the shadow comparison needs the active bundle's reference confidence");
        }
        this.confidenceBins = confidenceBins;
        confidenceCounts = new long[2][confidenceBins.bins()];
    }

    @Override
    public long count() {
        return count;
    }

    /**
     * Adds one event scored by both models.
     *
     * @throws IllegalArgumentException on a negative class or a confidence outside [0, 1]
     */
    public void add(int activeClass, double activeConfidence, boolean activeReviewed, int shadowClass,
                    double shadowConfidence, boolean shadowReviewed) {
        if (activeClass < 0 || shadowClass < 0) {
            throw new IllegalArgumentException("classes must be >= 0, found active " + activeClass + ", shadow "
                    + shadowClass);
        }
        if (!(activeConfidence >= 0 && activeConfidence <= 1) || !(shadowConfidence >= 0 && shadowConfidence <= 1)) {
            throw new IllegalArgumentException("confidences must be in [0, 1], found active " + activeConfidence
                    + ", shadow " + shadowConfidence);
        }
        count++;
        agreed += activeClass == shadowClass ? 1 : 0;
        reviewed[ACTIVE] += activeReviewed ? 1 : 0;
        reviewed[SHADOW] += shadowReviewed ? 1 : 0;
        confidenceCounts[ACTIVE][confidenceBins.bin(activeConfidence)]++;
        confidenceCounts[SHADOW][confidenceBins.bin(shadowConfidence)]++;
        confidenceSums.add(ACTIVE, activeConfidence);
        confidenceSums.add(SHADOW, shadowConfidence);
    }

    /**
     * Names the two models compared (the last names win: a stream whose shadow model changes names the latest one).
     */
    public void models(String activeName, String shadowName, String shadowVersion) {
        this.activeName = activeName;
        this.shadowName = shadowName;
        this.shadowVersion = shadowVersion;
    }

    /** The active model's name, or null when the models were not named. */
    public String activeName() {
        return activeName;
    }

    /** The shadow model's name, or null when the models were not named. */
    public String shadowName() {
        return shadowName;
    }

    /** The shadow model's version, or null when the models were not named. */
    public String shadowVersion() {
        return shadowVersion;
    }

    @Override
    public String mergeConflict(ShadowComparison other) {
        return confidenceBins.equals(other.confidenceBins) ? null
                : "over different confidence bins (different active bundles)";
    }

    /**
     * Adds another accumulator's events to this one (and its model names, when it has them).
     *
     * @throws IllegalArgumentException if the two use different confidence bins
     */
    @Override
    public ShadowComparison merge(ShadowComparison other) {
        String conflict = mergeConflict(other);
        if (conflict != null) {
            throw new IllegalArgumentException("cannot merge shadow comparisons " + conflict);
        }
        count += other.count;
        agreed += other.agreed;
        for (int m = 0; m < 2; m++) {
            reviewed[m] += other.reviewed[m];
            for (int i = 0; i < confidenceCounts[m].length; i++) {
                confidenceCounts[m][i] += other.confidenceCounts[m][i];
            }
        }
        confidenceSums.addAll(other.confidenceSums);
        if (other.shadowName != null) {
            models(other.activeName, other.shadowName, other.shadowVersion);
        }
        return this;
    }

    @Override
    public ShadowComparison emptyLike() {
        return new ShadowComparison(confidenceBins);
    }

    public ShadowSnapshot snapshot() {
        if (count == 0) {
            return new ShadowSnapshot(0, Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN);
        }
        double n = count;
        double[] activeShares = new double[confidenceBins.bins()];
        for (int i = 0; i < activeShares.length; i++) {
            activeShares[i] = confidenceCounts[ACTIVE][i] / n;
        }
        return new ShadowSnapshot(count, agreed / n, reviewed[ACTIVE] / n, reviewed[SHADOW] / n,
                confidenceSums.value(ACTIVE) / n, confidenceSums.value(SHADOW) / n,
                DriftStats.psi(confidenceCounts[SHADOW], activeShares, count));
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ShadowComparison c && confidenceBins.equals(c.confidenceBins) && count == c.count
                && agreed == c.agreed && Arrays.equals(reviewed, c.reviewed)
                && Arrays.deepEquals(confidenceCounts, c.confidenceCounts) && confidenceSums.equals(c.confidenceSums);
    }

    @Override
    public int hashCode() {
        return Long.hashCode(count) * 31 + Long.hashCode(agreed);
    }

    /**
     * The comparison's figures at one moment (see {@link ShadowComparison}); NaN where undefined.
     *
     * @param count               events scored by both models
     * @param agreement           share of them where the shadow's class equals the active's
     * @param activeReviewRate    share the active model sent to review
     * @param shadowReviewRate    share the shadow model would have sent to review
     * @param activeMeanConfidence mean confidence of the active model
     * @param shadowMeanConfidence mean confidence of the shadow model
     * @param confidencePsi       PSI of the shadow's confidence against the active's
     */
    public record ShadowSnapshot(long count, double agreement, double activeReviewRate, double shadowReviewRate,
                                 double activeMeanConfidence, double shadowMeanConfidence, double confidencePsi)
            implements Serializable {

        /** Shadow minus active review rate. */
        public double reviewRateDifference() {
            return shadowReviewRate - activeReviewRate;
        }
    }
}
