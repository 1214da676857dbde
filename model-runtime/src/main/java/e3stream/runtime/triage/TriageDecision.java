package e3stream.runtime.triage;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * The outcome of {@link TriagePolicy#decide}: accept or send to review, the reasons that fired (in the fixed order
 * {@link #LOW_CONFIDENCE}, {@link #HIGH_EPISTEMIC}, {@link #HIGH_ENTROPY}, then {@link #AMBIGUOUS_SET} or
 * {@link #EMPTY_SET}; empty exactly when accepted) and the conformal prediction set (most probable class first).
 * Immutable.
 */
public record TriageDecision(Decision decision, List<String> reasons, int[] predictionSet) {

    /** Confidence below {@code min_confidence}. */
    public static final String LOW_CONFIDENCE = "low_confidence";
    /** Mutual information above {@code max_mutual_information} (members disagree: unfamiliar input). */
    public static final String HIGH_EPISTEMIC = "high_epistemic";
    /** Predictive entropy above {@code max_entropy}. */
    public static final String HIGH_ENTROPY = "high_entropy";
    /** The conformal set holds more than one class. */
    public static final String AMBIGUOUS_SET = "ambiguous_set";
    /** The conformal set is empty: no class is plausible at the calibrated level. */
    public static final String EMPTY_SET = "empty_set";
    /** The item's feature log density is below {@code min_feature_log_density}: unlike the training data. */
    public static final String OUT_OF_DISTRIBUTION = "out_of_distribution";

    /** Accept or review; {@link #wireName()} is the value of the event's "decision" field. */
    public enum Decision {
        ACCEPT, REVIEW;

        public String wireName() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    public TriageDecision {
        if (decision == null || reasons == null || predictionSet == null) {
            throw new IllegalArgumentException("decision, reasons and predictionSet must not be null");
        }
        reasons = List.copyOf(reasons);
        if ((decision == Decision.ACCEPT) != reasons.isEmpty()) {
            throw new IllegalArgumentException("a decision is review exactly when a reason fired, got " + decision
                    + " with reasons " + reasons);
        }
        predictionSet = predictionSet.clone();
    }

    /** A copy of the prediction set. */
    @Override
    public int[] predictionSet() {
        return predictionSet.clone();
    }

    public boolean accepted() {
        return decision == Decision.ACCEPT;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TriageDecision d && decision == d.decision && reasons.equals(d.reasons)
                && Arrays.equals(predictionSet, d.predictionSet);
    }

    @Override
    public int hashCode() {
        return (decision.hashCode() * 31 + reasons.hashCode()) * 31 + Arrays.hashCode(predictionSet);
    }

    @Override
    public String toString() {
        return "TriageDecision[" + decision.wireName() + ", reasons=" + reasons + ", predictionSet="
                + Arrays.toString(predictionSet) + "]";
    }
}
