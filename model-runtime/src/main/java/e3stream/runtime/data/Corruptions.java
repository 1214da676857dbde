package e3stream.runtime.data;

import e3stream.runtime.Internal;

import java.util.SplittableRandom;

/**
 * Builds corrupted copies of an image set, deterministically: image {@code i} of corruption {@code c} at severity
 * {@code s} gets its own generator seeded from {@code (seed, c, s, i)}, so the result does not depend on order,
 * batching or threads. Stateless and thread-safe.
 *
 * <pre>{@code
 * ImageSet blurred = Corruptions.apply(test, Corruption.GAUSSIAN_BLUR, 3, 42L);
 * }</pre>
 */
@Internal
public final class Corruptions {
    /** Seed of the evaluation's corrupted test set. */
    public static final long DEFAULT_SEED = 20240607L;

    private Corruptions() {
    }

    /** {@code set} with every image corrupted by {@code corruption} at {@code severity}; labels unchanged. */
    public static ImageSet apply(ImageSet set, Corruption corruption, int severity, long seed) {
        int h = set.height();
        int w = set.width();
        int n = h * w;
        byte[] out = new byte[set.count() * n];
        long base = mix(mix(seed, corruption.ordinal() + 1L), severity);
        for (int i = 0; i < set.count(); i++) {
            SplittableRandom rng = new SplittableRandom(mix(base, i));
            System.arraycopy(corruption.apply(set.imageBytes(i), h, w, severity, rng), 0, out, i * n, n);
        }
        return new ImageSet(set.name() + " " + corruption.id() + "@" + severity, out, set.labels(), h, w);
    }

    private static long mix(long a, long b) {
        // SplitMix64 finaliser over a combination of the two values.
        long z = a * 0x9E3779B97F4A7C15L + b + 0x632BE59BD9B4E019L;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
