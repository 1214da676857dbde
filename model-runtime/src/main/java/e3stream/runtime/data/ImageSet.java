package e3stream.runtime.data;

import e3stream.runtime.Internal;

import e3stream.runtime.model.InputSpec;
import java.util.Arrays;
import java.util.Objects;

/**
 * Immutable set of single-channel uint8 images (row-major {@code [count][height][width]}) with integer labels.
 * Images are stored as {@code byte} (read with {@code & 0xff}). Thread-safe.
 */
@Internal
public final class ImageSet {
    private final String name;
    private final byte[] pixels;
    private final int[] labels;
    private final int count;
    private final int height;
    private final int width;

    /**
     * @param pixels {@code count * height * width} bytes (copied)
     * @param labels one label per image (copied)
     */
    public ImageSet(String name, byte[] pixels, int[] labels, int height, int width) {
        this(name, pixels.clone(), labels.clone(), height, width, true);
    }

    private ImageSet(String name, byte[] pixels, int[] labels, int height, int width, boolean validate) {
        this.name = Objects.requireNonNull(name, "name");
        if (height < 1 || width < 1) {
            throw new IllegalArgumentException(name + ": height and width must be >= 1, got " + height + "x" + width);
        }
        if (pixels.length % (height * width) != 0) {
            throw new IllegalArgumentException(name + ": " + pixels.length + " pixel bytes are not a whole number of "
                    + height + "x" + width + " images");
        }
        this.count = pixels.length / (height * width);
        if (labels.length != count) {
            throw new IllegalArgumentException(name + ": " + count + " images but " + labels.length + " labels");
        }
        this.pixels = pixels;
        this.labels = labels;
        this.height = height;
        this.width = width;
    }

    /** Wraps arrays the caller hands over and will not touch again (no copy). */
    static ImageSet adopt(String name, byte[] pixels, int[] labels, int height, int width) {
        return new ImageSet(name, pixels, labels, height, width, true);
    }

    public String name() {
        return name;
    }

    public int count() {
        return count;
    }

    public int height() {
        return height;
    }

    public int width() {
        return width;
    }

    public int pixelsPerImage() {
        return height * width;
    }

    public int label(int index) {
        return labels[index];
    }

    /** All labels (copy). */
    public int[] labels() {
        return labels.clone();
    }

    /** One image as unsigned values 0..255 in a fresh array. */
    public int[] image(int index) {
        int n = pixelsPerImage();
        int[] out = new int[n];
        int base = index * n;
        for (int i = 0; i < n; i++) {
            out[i] = pixels[base + i] & 0xff;
        }
        return out;
    }

    /** One image's bytes (copy). */
    public byte[] imageBytes(int index) {
        int n = pixelsPerImage();
        return Arrays.copyOfRange(pixels, index * n, (index + 1) * n);
    }

    /** The images at {@code indices}, in that order, under a new name. */
    public ImageSet select(String newName, int[] indices) {
        int n = pixelsPerImage();
        byte[] out = new byte[indices.length * n];
        int[] outLabels = new int[indices.length];
        for (int i = 0; i < indices.length; i++) {
            Objects.checkIndex(indices[i], count);
            System.arraycopy(pixels, indices[i] * n, out, i * n, n);
            outLabels[i] = labels[indices[i]];
        }
        return adopt(newName, out, outLabels, height, width);
    }

    /** The first {@code n} images. */
    public ImageSet first(int n) {
        if (n < 0 || n > count) {
            throw new IllegalArgumentException(name + " has " + count + " images, cannot take the first " + n);
        }
        int p = pixelsPerImage();
        return adopt(name + "[:" + n + "]", Arrays.copyOf(pixels, n * p), Arrays.copyOf(labels, n), height, width);
    }

    /**
     * The model input for images {@code [from, to)}: float NCHW, normalised by {@link InputSpec#normalise} as the
     * stream's decoder normalises the same image. The input spec must be single-channel and of this set's size.
     */
    public float[] normalised(int from, int to, InputSpec spec) {
        Objects.checkFromToIndex(from, to, count);
        if (spec.channels() != 1 || spec.height() != height || spec.width() != width) {
            throw new IllegalArgumentException(name + " holds 1x" + height + "x" + width + " images but the model "
                    + "expects " + spec.channels() + "x" + spec.height() + "x" + spec.width());
        }
        float mean = (float) spec.mean(0);
        float std = (float) spec.std(0);
        int n = pixelsPerImage();
        float[] out = new float[(to - from) * n];
        for (int i = 0, src = from * n; i < out.length; i++, src++) {
            out[i] = InputSpec.normalise(pixels[src] & 0xff, mean, std);
        }
        return out;
    }

    @Override
    public String toString() {
        return "ImageSet[" + name + ", " + count + " x " + height + "x" + width + "]";
    }
}
