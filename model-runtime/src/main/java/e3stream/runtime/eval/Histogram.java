package e3stream.runtime.eval;

import e3stream.runtime.Internal;

/** Equal-width histogram of values over {@code [lo, hi]} as shares of all values (values outside are clamped). */
@Internal
public record Histogram(double lo, double hi, double[] fractions) {

    public static Histogram of(double[] values, double lo, double hi, int bins) {
        if (!(hi > lo) || bins < 1) {
            throw new IllegalArgumentException("histogram needs hi > lo and bins >= 1, got [" + lo + ", " + hi + "], "
                    + bins);
        }
        double[] f = new double[bins];
        for (double v : values) {
            int b = (int) Math.floor((v - lo) / (hi - lo) * bins);
            f[Math.max(0, Math.min(bins - 1, b))]++;
        }
        for (int b = 0; b < bins; b++) {
            f[b] = values.length == 0 ? 0 : f[b] / values.length;
        }
        return new Histogram(lo, hi, f);
    }
}
