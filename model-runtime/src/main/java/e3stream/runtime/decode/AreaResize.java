package e3stream.runtime.decode;

/**
 * Resizing to the model's size by <b>area</b> resampling (OpenCV's INTER_AREA): each output pixel is the average of
 * the source pixels under its footprint, weighted by exact overlap. It does not alias when shrinking, preserves the
 * mean, and repeats pixels exactly when enlarging by an integer factor. The aspect ratio is not preserved.
 */
final class AreaResize {

    private AreaResize() {
    }

    /** {@code src} at {@code width x height} ({@code src} itself when it has that size already). */
    static Planes resize(Planes src, int width, int height) {
        if (src.width() == width && src.height() == height) {
            return src;
        }
        AreaWeights horizontal = AreaWeights.of(src.width(), width);
        AreaWeights vertical = AreaWeights.of(src.height(), height);
        float[][] out = new float[src.planes().length][];
        for (int p = 0; p < out.length; p++) {
            float[] plane = src.planes()[p];
            double[] rows = new double[src.height() * width]; // horizontal pass: src.height x width
            for (int y = 0; y < src.height(); y++) {
                for (int ox = 0; ox < width; ox++) {
                    double sum = 0;
                    double[] w = horizontal.weights()[ox];
                    int base = y * src.width() + horizontal.first()[ox];
                    for (int k = 0; k < w.length; k++) {
                        sum += w[k] * plane[base + k];
                    }
                    rows[y * width + ox] = sum;
                }
            }
            float[] resized = new float[height * width];
            for (int oy = 0; oy < height; oy++) {
                double[] w = vertical.weights()[oy];
                int firstRow = vertical.first()[oy];
                for (int ox = 0; ox < width; ox++) {
                    double sum = 0;
                    for (int k = 0; k < w.length; k++) {
                        sum += w[k] * rows[(firstRow + k) * width + ox];
                    }
                    resized[oy * width + ox] = (float) sum;
                }
            }
            out[p] = resized;
        }
        return new Planes(width, height, out);
    }

    /**
     * Exact area weights along one axis: source pixel s spans [s*dst, (s+1)*dst) and output pixel o spans
     * [o*src, (o+1)*src) in units of 1/(src*dst) of the axis, so overlaps are integers and only the final division
     * rounds.
     */
    private record AreaWeights(int[] first, double[][] weights) {

        static AreaWeights of(int src, int dst) {
            int[] first = new int[dst];
            double[][] weights = new double[dst][];
            for (int o = 0; o < dst; o++) {
                long lo = (long) o * src;
                long hi = (long) (o + 1) * src;
                int s0 = (int) (lo / dst);
                int s1 = (int) ((hi - 1) / dst);
                first[o] = s0;
                weights[o] = new double[s1 - s0 + 1];
                for (int s = s0; s <= s1; s++) {
                    long overlap = Math.min(hi, (long) (s + 1) * dst) - Math.max(lo, (long) s * dst);
                    weights[o][s - s0] = (double) overlap / src;
                }
            }
            return new AreaWeights(first, weights);
        }
    }
}
