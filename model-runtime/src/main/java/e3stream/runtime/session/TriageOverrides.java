package e3stream.runtime.session;

import java.io.Serializable;

import e3stream.runtime.triage.TriageConfig;

/**
 * A job's replacements for rules of the bundle's triage policy; a {@code null} field keeps the bundle's value.
 * Immutable and serializable.
 *
 * @param minConfidence        replaces {@code triage.min_confidence}, in [0, 1]
 * @param maxEntropy           replaces {@code triage.max_entropy}, nats
 * @param maxMutualInformation replaces {@code triage.max_mutual_information}, nats
 * @param minFeatureLogDensity replaces {@code triage.min_feature_log_density}
 */
public record TriageOverrides(Double minConfidence, Double maxEntropy, Double maxMutualInformation,
                              Double minFeatureLogDensity) implements Serializable {

    public static final TriageOverrides NONE = new TriageOverrides(null, null, null, null);

    /** Overrides of the three uncertainty rules, none of the density rule. */
    public TriageOverrides(Double minConfidence, Double maxEntropy, Double maxMutualInformation) {
        this(minConfidence, maxEntropy, maxMutualInformation, null);
    }

    public boolean isEmpty() {
        return minConfidence == null && maxEntropy == null && maxMutualInformation == null
                && minFeatureLogDensity == null;
    }

    /**
     * The bundle's config with these rules replaced.
     *
     * @throws IllegalArgumentException when a value is out of range (the message names the rule)
     */
    public TriageConfig applyTo(TriageConfig config) {
        TriageConfig out = config;
        if (minConfidence != null) {
            out = out.withMinConfidence(minConfidence);
        }
        if (maxEntropy != null) {
            out = out.withMaxEntropy(maxEntropy);
        }
        if (maxMutualInformation != null) {
            out = out.withMaxMutualInformation(maxMutualInformation);
        }
        if (minFeatureLogDensity != null) {
            out = out.withMinFeatureLogDensity(minFeatureLogDensity);
        }
        return out;
    }
}
