package e3stream.runtime.triage;

/**
 * The "conformal" part of the triage section: the score, the miscoverage level {@code alpha} (sets contain the true
 * class with probability at least {@code 1 - alpha}) and the calibrated score threshold {@code q̂} (the
 * {@code ceil((n+1)(1-alpha))}-th smallest calibration score, see {@link ConformalPredictor}).
 */
public record ConformalConfig(ConformalMethod method, double alpha, double threshold) {

    public ConformalConfig {
        if (method == null) {
            throw new IllegalArgumentException("conformal.method must be set, expected one of [lac, aps]");
        }
        if (!(alpha > 0 && alpha < 1)) {
            throw new IllegalArgumentException("conformal.alpha must be in (0, 1), got " + alpha);
        }
        if (!Double.isFinite(threshold) || threshold < 0) {
            throw new IllegalArgumentException("conformal.threshold must be a finite number >= 0, got " + threshold
                    + " (run the calibrate command to fit it)");
        }
    }
}
