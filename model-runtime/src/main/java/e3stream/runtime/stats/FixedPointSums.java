package e3stream.runtime.stats;

import java.io.Serializable;
import java.util.Arrays;

/**
 * A fixed number of order-independent sums of non-negative doubles. Each value is truncated to 62 fractional bits (an
 * error below 2.2e-19 per value) and added as a fixed-point integer (a whole part and a 62-bit fraction). Integer
 * addition is associative, so the state, and hence {@link #value(int)}, is identical whichever order values and
 * partial sums are combined in: that is what makes {@code merge(a, b)} of the statistics equal, bit for bit, to
 * accumulating the union. Not thread-safe.
 */
final class FixedPointSums implements Serializable {

    private static final long serialVersionUID = 1L;
    private static final double SCALE = 0x1p62;
    private static final long ONE = 1L << 62;
    /** Values must stay below 2^52 so that their integer part is exact. */
    private static final double MAX = 0x1p52;

    private final long[] whole;
    private final long[] fraction; // each in [0, 2^62)

    FixedPointSums(int size) {
        whole = new long[size];
        fraction = new long[size];
    }

    int size() {
        return whole.length;
    }

    void add(int i, double v) {
        if (!(v >= 0 && v < MAX)) {
            throw new IllegalArgumentException("value " + v + " must be in [0, 2^52)");
        }
        double w = Math.floor(v);
        whole[i] += (long) w;
        fraction[i] += (long) ((v - w) * SCALE); // v - w is exact; the scaling is exact; the cast truncates
        normalise(i);
    }

    void addAll(FixedPointSums other) {
        if (other.size() != size()) {
            throw new IllegalArgumentException("cannot merge " + other.size() + " sums into " + size());
        }
        for (int i = 0; i < whole.length; i++) {
            whole[i] += other.whole[i];
            fraction[i] += other.fraction[i];
            normalise(i);
        }
    }

    private void normalise(int i) {
        if (fraction[i] >= ONE) { // two fractions below 2^62 sum below 2^63: no overflow
            fraction[i] -= ONE;
            whole[i]++;
        }
    }

    double value(int i) {
        return whole[i] + fraction[i] / SCALE;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof FixedPointSums s && Arrays.equals(whole, s.whole) && Arrays.equals(fraction, s.fraction);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(whole) * 31 + Arrays.hashCode(fraction);
    }
}
