package e3stream.runtime.data;

import e3stream.runtime.Internal;

import java.util.Arrays;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * One corruption type with five severities, on single-channel uint8 images (the shift set of the evaluation, in the
 * spirit of ImageNet-C / MNIST-C; parameters chosen for 28x28 greyscale). Pixel values are handled in [0, 1] and
 * rounded back to uint8. Randomised types draw from the generator they are given, so a seed fixes the result.
 */
@Internal
public enum Corruption {
    /** Additive Gaussian noise, sigma (in [0,1] units) by severity. */
    GAUSSIAN_NOISE(0.08, 0.12, 0.18, 0.26, 0.38) {
        @Override
        void apply(double[] x, int h, int w, double s, SplittableRandom rng) {
            for (int i = 0; i < x.length; i++) {
                x[i] += gaussian(rng) * s;
            }
        }
    },
    /** Poisson (shot) noise: Poisson(x * lambda) / lambda, fewer photons at higher severity. */
    SHOT_NOISE(60, 25, 12, 5, 3) {
        @Override
        void apply(double[] x, int h, int w, double s, SplittableRandom rng) {
            for (int i = 0; i < x.length; i++) {
                x[i] = poisson(rng, Math.max(0, x[i]) * s) / s;
            }
        }
    },
    /** Gaussian blur, kernel sigma in pixels by severity (edges clamped). */
    GAUSSIAN_BLUR(0.6, 0.9, 1.2, 1.6, 2.0) {
        @Override
        void apply(double[] x, int h, int w, double s, SplittableRandom rng) {
            int r = (int) Math.ceil(3 * s);
            double[] k = new double[2 * r + 1];
            double sum = 0;
            for (int i = -r; i <= r; i++) {
                k[i + r] = Math.exp(-(i * i) / (2 * s * s));
                sum += k[i + r];
            }
            for (int i = 0; i < k.length; i++) {
                k[i] /= sum;
            }
            double[] tmp = new double[x.length];
            for (int y = 0; y < h; y++) {
                for (int c = 0; c < w; c++) {
                    double acc = 0;
                    for (int i = -r; i <= r; i++) {
                        acc += k[i + r] * x[y * w + clamp(c + i, w)];
                    }
                    tmp[y * w + c] = acc;
                }
            }
            for (int y = 0; y < h; y++) {
                for (int c = 0; c < w; c++) {
                    double acc = 0;
                    for (int i = -r; i <= r; i++) {
                        acc += k[i + r] * tmp[clamp(y + i, h) * w + c];
                    }
                    x[y * w + c] = acc;
                }
            }
        }
    },
    /** Contrast reduction towards the image mean by factor c. */
    CONTRAST(0.5, 0.35, 0.25, 0.15, 0.08) {
        @Override
        void apply(double[] x, int h, int w, double s, SplittableRandom rng) {
            double mean = Arrays.stream(x).average().orElse(0);
            for (int i = 0; i < x.length; i++) {
                x[i] = (x[i] - mean) * s + mean;
            }
        }
    },
    /** Additive brightness shift. */
    BRIGHTNESS(0.1, 0.2, 0.3, 0.4, 0.5) {
        @Override
        void apply(double[] x, int h, int w, double s, SplittableRandom rng) {
            for (int i = 0; i < x.length; i++) {
                x[i] += s;
            }
        }
    },
    /** Rotation about the centre by +/- the angle in degrees (sign drawn per image), bilinear, black fill. */
    ROTATION(15, 30, 45, 60, 75) {
        @Override
        void apply(double[] x, int h, int w, double s, SplittableRandom rng) {
            double angle = Math.toRadians(rng.nextBoolean() ? s : -s);
            double cos = Math.cos(angle);
            double sin = Math.sin(angle);
            double cy = (h - 1) / 2.0;
            double cx = (w - 1) / 2.0;
            double[] src = x.clone();
            for (int y = 0; y < h; y++) {
                for (int c = 0; c < w; c++) {
                    // Inverse mapping: where in the source does this output pixel come from.
                    double dx = c - cx;
                    double dy = y - cy;
                    double sx = cos * dx + sin * dy + cx;
                    double sy = -sin * dx + cos * dy + cy;
                    x[y * w + c] = bilinear(src, h, w, sy, sx);
                }
            }
        }
    },
    /** Pixelation: average blocks of the given size, then blow them back up. */
    PIXELATE(2, 3, 4, 5, 7) {
        @Override
        void apply(double[] x, int h, int w, double s, SplittableRandom rng) {
            int b = (int) s;
            for (int y0 = 0; y0 < h; y0 += b) {
                for (int x0 = 0; x0 < w; x0 += b) {
                    double sum = 0;
                    int n = 0;
                    for (int y = y0; y < Math.min(h, y0 + b); y++) {
                        for (int c = x0; c < Math.min(w, x0 + b); c++) {
                            sum += x[y * w + c];
                            n++;
                        }
                    }
                    for (int y = y0; y < Math.min(h, y0 + b); y++) {
                        for (int c = x0; c < Math.min(w, x0 + b); c++) {
                            x[y * w + c] = sum / n;
                        }
                    }
                }
            }
        }
    };

    /** Severities are 1..5. */
    public static final int SEVERITIES = 5;

    private final double[] parameters;

    Corruption(double... parameters) {
        this.parameters = parameters;
    }

    abstract void apply(double[] x, int h, int w, double parameter, SplittableRandom rng);

    /** Name used in reports and JSON, e.g. {@code gaussian_noise}. */
    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The strength parameter of a severity (sigma, lambda, factor, degrees or block size; see each type). */
    public double parameter(int severity) {
        checkSeverity(severity);
        return parameters[severity - 1];
    }

    /**
     * Corrupts one {@code h x w} uint8 image.
     *
     * @param severity 1 (mild) to 5 (strong)
     * @param rng      source of randomness for noise and rotation direction
     */
    public byte[] apply(byte[] image, int h, int w, int severity, SplittableRandom rng) {
        checkSeverity(severity);
        if (image.length != h * w) {
            throw new IllegalArgumentException("image has " + image.length + " pixels, expected " + h + "x" + w);
        }
        double[] x = new double[image.length];
        for (int i = 0; i < x.length; i++) {
            x[i] = (image[i] & 0xff) / 255.0;
        }
        apply(x, h, w, parameters[severity - 1], rng);
        byte[] out = new byte[x.length];
        for (int i = 0; i < x.length; i++) {
            out[i] = (byte) Math.max(0, Math.min(255, Math.round(x[i] * 255.0)));
        }
        return out;
    }

    public static Corruption fromId(String id) {
        for (Corruption c : values()) {
            if (c.id().equals(id)) {
                return c;
            }
        }
        throw new IllegalArgumentException("unknown corruption '" + id + "', expected one of "
                + Arrays.stream(values()).map(Corruption::id).toList());
    }

    private static void checkSeverity(int severity) {
        if (severity < 1 || severity > SEVERITIES) {
            throw new IllegalArgumentException("severity must be 1.." + SEVERITIES + ", got " + severity);
        }
    }

    static int clamp(int i, int n) {
        return i < 0 ? 0 : i >= n ? n - 1 : i;
    }

    static double bilinear(double[] src, int h, int w, double y, double x) {
        int y0 = (int) Math.floor(y);
        int x0 = (int) Math.floor(x);
        double fy = y - y0;
        double fx = x - x0;
        return (1 - fy) * ((1 - fx) * at(src, h, w, y0, x0) + fx * at(src, h, w, y0, x0 + 1))
                + fy * ((1 - fx) * at(src, h, w, y0 + 1, x0) + fx * at(src, h, w, y0 + 1, x0 + 1));
    }

    private static double at(double[] src, int h, int w, int y, int x) {
        return y < 0 || y >= h || x < 0 || x >= w ? 0 : src[y * w + x];
    }

    static double gaussian(SplittableRandom rng) {
        // Box-Muller; SplittableRandom has no nextGaussian in Java 17.
        double u1 = 1.0 - rng.nextDouble();
        double u2 = rng.nextDouble();
        return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
    }

    static int poisson(SplittableRandom rng, double lambda) {
        // Knuth's multiplication method; lambda <= 60 here, so exp(-lambda) stays well inside double range.
        double limit = Math.exp(-lambda);
        double p = 1;
        int k = -1;
        do {
            k++;
            p *= rng.nextDouble();
        } while (p > limit);
        return k;
    }
}
