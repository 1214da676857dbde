package e3stream.runtime.session;

import e3stream.runtime.model.ModelProvenance;
import e3stream.runtime.triage.TriageDecision;
import e3stream.runtime.uncertainty.Uncertainty;

/**
 * One image scored by a model: its ensemble uncertainty, the triage decision and the predicted class's name, and
 * which model decided. Immutable.
 */
public record Scored(Uncertainty uncertainty, TriageDecision decision, String label, ModelProvenance model) {

    public boolean accepted() {
        return decision.accepted();
    }
}
