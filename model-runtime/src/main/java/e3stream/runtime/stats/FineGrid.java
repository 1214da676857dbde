package e3stream.runtime.stats;

import java.io.Serializable;

/**
 * A fixed fine histogram grid over {@code [lo, hi]} whose bins are uniform in the square root of the distance from
 * one end, so they are finest where a signal's mass concentrates: confidence near 1, entropy and mutual information
 * near 0. With {@code b} bins over a range of width {@code w}, the bin at distance {@code d} from the dense end is
 * about {@code 2 sqrt(d w) / b} wide; the bin touching the dense end is {@code w / b²} wide. Values outside the range
 * (rounding) fall into the end bins. Immutable.
 */
final class FineGrid implements Serializable {

    private static final long serialVersionUID = 1L;

    /** Bins of every fine histogram: 2048 (e.g. confidence 0.99 lies in a bin about 1e-4 wide). */
    static final int BINS = 2048;

    private final double lo;
    private final double hi;
    private final boolean denseAtHigh;

    FineGrid(double lo, double hi, boolean denseAtHigh) {
        if (!(hi > lo)) {
            throw new IllegalArgumentException("grid range [" + lo + ", " + hi + "] is empty");
        }
        this.lo = lo;
        this.hi = hi;
        this.denseAtHigh = denseAtHigh;
    }

    int bins() {
        return BINS;
    }

    /** Bin index in increasing-value order. */
    int bin(double v) {
        double d = denseAtHigh ? (hi - v) / (hi - lo) : (v - lo) / (hi - lo);
        int k = (int) Math.floor(Math.sqrt(Math.max(0.0, d)) * BINS);
        k = Math.min(BINS - 1, Math.max(0, k));
        return denseAtHigh ? BINS - 1 - k : k;
    }

    /** Upper edge of bin {@code j} (increasing-value order). */
    double upperEdge(int j) {
        if (denseAtHigh) {
            double u = (double) (BINS - 1 - j) / BINS;
            return hi - (hi - lo) * u * u;
        }
        double u = (double) (j + 1) / BINS;
        return lo + (hi - lo) * u * u;
    }

    double lowerEdge(int j) {
        return j == 0 ? lo : upperEdge(j - 1);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof FineGrid g && g.lo == lo && g.hi == hi && g.denseAtHigh == denseAtHigh;
    }

    @Override
    public int hashCode() {
        return Double.hashCode(lo) * 31 + Double.hashCode(hi) + (denseAtHigh ? 1 : 0);
    }
}
