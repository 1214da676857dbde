package e3stream.runtime.triage;

import com.fasterxml.jackson.databind.node.ObjectNode;
import e3stream.runtime.stats.ReferenceDistributions;
import java.util.Locale;

/**
 * What {@link ThresholdCalibrator#calibrate} found: the temperature, the triage section, whether the goal was met on
 * the calibration half (and why not), the figures on the calibration and holdout halves, and the drift reference.
 *
 * @param note why the goal was not met, or null
 */
public record CalibrationResult(double temperature, TriageConfig triage, CalibrationGoal goal, boolean goalMet,
                                String note, long seed, ThresholdCalibrator.Evaluation calibration,
                                ThresholdCalibrator.Evaluation holdout, ReferenceDistributions reference) {

    /** This result with {@code newReference} as its drift reference. */
    public CalibrationResult withReference(ReferenceDistributions newReference) {
        return new CalibrationResult(temperature, triage, goal, goalMet, note, seed, calibration, holdout,
                newReference);
    }

    /** The "triage" section to write into model.json. */
    public ObjectNode triageJson() {
        return triage.toJson();
    }

    /** Rewrites {@code temperature}, {@code triage} and {@code reference} of a parsed model.json in place. */
    public void applyTo(ObjectNode modelJson) {
        modelJson.put("temperature", temperature);
        modelJson.set("triage", triageJson());
        modelJson.set("reference", reference.toJson());
    }

    /** A few lines for the command's output. */
    public String summary() {
        StringBuilder s = new StringBuilder();
        s.append(String.format(Locale.ROOT, "temperature %.4f (holdout NLL %.4f, at T=1 %.4f)%n", temperature,
                holdout.nll(), holdout.nllAtUnitTemperature()));
        s.append("triage: ").append(triage.describe()).append('\n');
        s.append("goal ").append(goal).append(goalMet ? " met" : " NOT met").append(" on the calibration half (")
                .append(calibration.count()).append(" items)").append(note == null ? "" : ": " + note).append('\n');
        s.append(String.format(Locale.ROOT, "holdout (%d items): review rate %.4f, accepted-item error %.4f "
                        + "(%d accepted), accuracy %.4f", holdout.count(), holdout.reviewRate(), holdout.acceptedError(),
                holdout.acceptedCount(), holdout.accuracy()));
        if (!Double.isNaN(holdout.densityFlagRate())) {
            s.append(String.format(Locale.ROOT, ", out_of_distribution (min_feature_log_density %.4f) %.4f",
                    triage.minFeatureLogDensity(), holdout.densityFlagRate()));
        }
        if (triage.conformal() != null) {
            s.append(String.format(Locale.ROOT, ", conformal coverage %.4f (target %.4f), mean set size %.3f",
                    holdout.conformalCoverage(), 1 - triage.conformal().alpha(), holdout.meanSetSize()));
        }
        return s.append('\n').toString();
    }
}
