package e3stream.runtime.session;

import e3stream.runtime.model.ModelProvenance;
import e3stream.runtime.triage.TriageDecision;
import e3stream.runtime.uncertainty.Uncertainty;

/**
 * One image scored by a model: its ensemble uncertainty, its feature log density ({@code NaN} when the bundle has no
 * density output), the triage decision and the predicted class's name, and which model decided. Immutable.
 */
public record Scored(Uncertainty uncertainty, double featureLogDensity, TriageDecision decision, String label,
                     ModelProvenance model) {

    /** Whether the bundle gave this image a feature log density. */
    public boolean hasFeatureLogDensity() {
        return !Double.isNaN(featureLogDensity);
    }

    public boolean accepted() {
        return decision.accepted();
    }
}
