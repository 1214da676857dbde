package e3stream.runtime.stats;

import java.io.Serializable;
import java.util.Arrays;

/**
 * The reference distribution of one continuous signal (model.json {@code reference.signals.<name>}): PSI bins given
 * by interior {@code edges} (bin {@code i} holds {@code edges[i-1] < v <= edges[i]}, so there are
 * {@code edges.length + 1} bins) with their reference {@code fractions}, and the 0th..100th reference
 * {@code quantiles}, read as a piecewise-linear CDF for Kolmogorov–Smirnov. Immutable (arrays are copied).
 */
public record SignalReference(double[] edges, double[] fractions, double[] quantiles) implements Serializable {

    /** Number of quantiles: the 0th to the 100th percentile. */
    public static final int QUANTILES = 101;

    public SignalReference {
        if (edges == null || fractions == null || quantiles == null) {
            throw new IllegalArgumentException("edges, fractions and quantiles are all required");
        }
        for (int i = 0; i < edges.length; i++) {
            if (!Double.isFinite(edges[i]) || (i > 0 && !(edges[i] > edges[i - 1]))) {
                throw new IllegalArgumentException("edges must be finite and strictly increasing, got "
                        + Arrays.toString(edges));
            }
        }
        if (fractions.length != edges.length + 1) {
            throw new IllegalArgumentException("fractions must have len(edges) + 1 = " + (edges.length + 1)
                    + " entries, got " + fractions.length);
        }
        checkFractions("fractions", fractions);
        if (quantiles.length != QUANTILES) {
            throw new IllegalArgumentException("quantiles must hold the 0th..100th percentiles (101 values), got "
                    + quantiles.length);
        }
        for (int i = 0; i < QUANTILES; i++) {
            if (!Double.isFinite(quantiles[i]) || (i > 0 && quantiles[i] < quantiles[i - 1])) {
                throw new IllegalArgumentException("quantiles must be finite and non-decreasing, got "
                        + Arrays.toString(quantiles));
            }
        }
        edges = edges.clone();
        fractions = fractions.clone();
        quantiles = quantiles.clone();
    }

    static void checkFractions(String what, double[] f) {
        double sum = 0;
        for (double v : f) {
            if (!(v >= 0 && v <= 1)) {
                throw new IllegalArgumentException(what + " must lie in [0, 1], got " + Arrays.toString(f));
            }
            sum += v;
        }
        if (Math.abs(sum - 1) > 1e-6) {
            throw new IllegalArgumentException(what + " must sum to 1 (within 1e-6), got " + sum);
        }
    }

    @Override
    public double[] edges() {
        return edges.clone();
    }

    @Override
    public double[] fractions() {
        return fractions.clone();
    }

    @Override
    public double[] quantiles() {
        return quantiles.clone();
    }

    public int bins() {
        return fractions.length;
    }

    /** PSI bin of {@code v}: the number of edges strictly below {@code v}. */
    public int bin(double v) {
        int lo = 0;
        int hi = edges.length;
        while (lo < hi) { // first edge >= v
            int mid = (lo + hi) >>> 1;
            if (edges[mid] < v) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        return lo;
    }

    /** The reference's {@code level}-quantile ({@code level} in [0, 1]), linear between its percentiles. */
    public double quantile(double level) {
        double pos = Math.max(0, Math.min(1, level)) * (QUANTILES - 1);
        int lo = (int) Math.floor(pos);
        if (lo >= QUANTILES - 1) {
            return quantiles[QUANTILES - 1];
        }
        return quantiles[lo] + (pos - lo) * (quantiles[lo + 1] - quantiles[lo]);
    }

    /** Reference CDF at {@code x}, linear between percentiles, 0 below the minimum and 1 from the maximum on. */
    public double cdf(double x) {
        if (x < quantiles[0]) {
            return 0;
        }
        if (x >= quantiles[QUANTILES - 1]) {
            return 1;
        }
        int lo = 0;
        int hi = QUANTILES - 1; // invariant: q[lo] <= x < q[hi]
        while (hi - lo > 1) {
            int mid = (lo + hi) >>> 1;
            if (quantiles[mid] <= x) {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        return (lo + (x - quantiles[lo]) / (quantiles[hi] - quantiles[lo])) / (QUANTILES - 1);
    }

    /**
     * Builds a reference from sample values: {@code quantiles} by linear interpolation between order statistics (as
     * numpy's default), {@code edges} the deduplicated 10th..90th percentiles, {@code fractions} the share per bin.
     */
    public static SignalReference fromSamples(double[] values) {
        if (values.length == 0) {
            throw new IllegalArgumentException("a reference needs at least one value");
        }
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        if (!Double.isFinite(sorted[0]) || !Double.isFinite(sorted[sorted.length - 1])) {
            throw new IllegalArgumentException("reference values must be finite");
        }
        double[] q = new double[QUANTILES];
        for (int p = 0; p < QUANTILES; p++) {
            double pos = p / 100.0 * (sorted.length - 1);
            int i = (int) Math.floor(pos);
            double frac = pos - i;
            q[p] = i + 1 < sorted.length ? sorted[i] + frac * (sorted[i + 1] - sorted[i]) : sorted[i];
        }
        double[] edges10 = new double[9];
        int n = 0;
        for (int p = 10; p <= 90; p += 10) {
            if (n == 0 || q[p] > edges10[n - 1]) {
                edges10[n++] = q[p];
            }
        }
        double[] edges = Arrays.copyOf(edges10, n);
        SignalReference shape = new SignalReference(edges, uniform(n + 1), q);
        long[] counts = new long[n + 1];
        for (double v : values) {
            counts[shape.bin(v)]++;
        }
        double[] fractions = new double[n + 1];
        for (int i = 0; i <= n; i++) {
            fractions[i] = (double) counts[i] / values.length;
        }
        return new SignalReference(edges, fractions, q);
    }

    private static double[] uniform(int bins) {
        double[] f = new double[bins];
        Arrays.fill(f, 1.0 / bins);
        return f;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof SignalReference r && Arrays.equals(edges, r.edges) && Arrays.equals(fractions, r.fractions)
                && Arrays.equals(quantiles, r.quantiles);
    }

    @Override
    public int hashCode() {
        return (Arrays.hashCode(edges) * 31 + Arrays.hashCode(fractions)) * 31 + Arrays.hashCode(quantiles);
    }

    @Override
    public String toString() {
        return "SignalReference[edges=" + Arrays.toString(edges) + ", fractions=" + Arrays.toString(fractions) + "]";
    }
}
