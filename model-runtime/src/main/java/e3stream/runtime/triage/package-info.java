/**
 * Triage: whether a prediction is accepted or sent to people for review, and why. {@link
 * e3stream.runtime.triage.TriageConfig} is the validated "triage" section of model.json, {@link
 * e3stream.runtime.triage.TriagePolicy} applies its threshold rules and the split-conformal prediction sets of {@link
 * e3stream.runtime.triage.ConformalPredictor}, and {@link e3stream.runtime.triage.ThresholdCalibrator} is the pure
 * logic of the {@code calibrate} command (fits temperature and thresholds on validation data).
 *
 * <p>Pure Java, no Flink.
 */
package e3stream.runtime.triage;
