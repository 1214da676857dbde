package e3stream.runtime.triage;

import e3stream.runtime.uncertainty.Uncertainty;
import java.util.ArrayList;
import java.util.List;

/**
 * Applies a {@link TriageConfig} to one prediction. Reasons (see {@link TriageDecision}): {@code low_confidence} if
 * confidence {@code < min_confidence}; {@code high_epistemic} if mutual information {@code > max_mutual_information};
 * {@code high_entropy} if entropy {@code > max_entropy}; {@code out_of_distribution} if the item's feature log
 * density is below {@code min_feature_log_density}; {@code ambiguous_set} if the conformal set has more than one
 * class; {@code empty_set} if it has none. Any reason means review. Without a conformal section the prediction set is
 * the predicted class alone.
 *
 * <pre>{@code
 * TriagePolicy policy = new TriagePolicy(TriageConfig.fromJson(manifest.triageJson()));
 * TriageDecision d = policy.decide(uncertainty);
 * }</pre>
 *
 * <p>Immutable and thread-safe.
 */
public final class TriagePolicy {

    private final TriageConfig config;
    private final ConformalPredictor conformal;

    public TriagePolicy(TriageConfig config) {
        if (config == null) {
            throw new IllegalArgumentException("triage config must not be null");
        }
        this.config = config;
        this.conformal = config.conformal() == null ? null : new ConformalPredictor(config.conformal());
    }

    public TriageConfig config() {
        return config;
    }

    /** The decision for an item without a feature density (the density rule does not apply). */
    public TriageDecision decide(Uncertainty u) {
        return decide(u, Double.NaN);
    }

    /**
     * The decision for an item with its {@code feature_log_density} ({@code NaN} when the bundle has no density
     * output: the density rule then does not apply).
     */
    public TriageDecision decide(Uncertainty u, double featureLogDensity) {
        List<String> reasons = new ArrayList<>(2);
        if (u.confidence() < config.minConfidence()) {
            reasons.add(TriageDecision.LOW_CONFIDENCE);
        }
        if (config.maxMutualInformation() != null && u.mutualInformation() > config.maxMutualInformation()) {
            reasons.add(TriageDecision.HIGH_EPISTEMIC);
        }
        if (config.maxEntropy() != null && u.entropy() > config.maxEntropy()) {
            reasons.add(TriageDecision.HIGH_ENTROPY);
        }
        if (config.minFeatureLogDensity() != null && featureLogDensity < config.minFeatureLogDensity()) {
            reasons.add(TriageDecision.OUT_OF_DISTRIBUTION); // NaN (no density) compares false: rule not applied
        }
        int[] set;
        if (conformal == null) {
            set = new int[] {u.classIndex()};
        } else {
            set = conformal.predictionSet(u.probabilities());
            if (set.length == 0) {
                reasons.add(TriageDecision.EMPTY_SET);
            } else if (set.length > 1) {
                reasons.add(TriageDecision.AMBIGUOUS_SET);
            }
        }
        return new TriageDecision(reasons.isEmpty() ? TriageDecision.Decision.ACCEPT : TriageDecision.Decision.REVIEW,
                reasons, set);
    }
}
