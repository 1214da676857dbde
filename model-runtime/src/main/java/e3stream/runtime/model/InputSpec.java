package e3stream.runtime.model;

import java.util.Arrays;

/**
 * The {@code input} section of model.json: the tensor the model takes, {@code float32 [B, channels, height, width]}
 * in layout {@code NCHW}, pixels scaled to [0, 1] then normalised per channel as {@code (x - mean[c]) / std[c]}.
 * Arrays are copied in and out, so an instance is immutable.
 */
public record InputSpec(String name, int channels, int height, int width, double[] mean, double[] std, String layout) {

    public InputSpec {
        if (name == null || name.isBlank()) {
            throw new IllegalArgumentException("input.name must be a non-empty string");
        }
        if (channels < 1 || height < 1 || width < 1) {
            throw new IllegalArgumentException("input channels/height/width must be >= 1, got "
                    + channels + "/" + height + "/" + width);
        }
        if (!"NCHW".equals(layout)) {
            throw new IllegalArgumentException("input.layout '" + layout + "' is not supported, expected NCHW");
        }
        if (mean == null || std == null || mean.length != channels || std.length != channels) {
            throw new IllegalArgumentException("input.mean and input.std need one value per channel (" + channels + ")");
        }
        for (double s : std) {
            if (!(s > 0) || Double.isInfinite(s)) {
                throw new IllegalArgumentException("input.std values must be finite and > 0, got " + Arrays.toString(std));
            }
        }
        for (double m : mean) {
            if (!Double.isFinite(m)) {
                throw new IllegalArgumentException("input.mean values must be finite, got " + Arrays.toString(mean));
            }
        }
        mean = mean.clone();
        std = std.clone();
    }

    @Override
    public double[] mean() {
        return mean.clone();
    }

    @Override
    public double[] std() {
        return std.clone();
    }

    public double mean(int channel) {
        return mean[channel];
    }

    public double std(int channel) {
        return std[channel];
    }

    /**
     * The model's input value of one pixel given on the 0..255 scale: {@code (value / 255 - mean) / std} in float32,
     * in the order numpy computes it in training. The one implementation of the input normalisation: the stream's
     * decoder and the offline image sets (evaluate, calibrate) both call it, so both score exactly the same tensor
     * for the same image.
     *
     * @param mean this channel's mean, as float32
     * @param std this channel's standard deviation, as float32
     */
    public static float normalise(float value, float mean, float std) {
        return (value / 255.0f - mean) / std;
    }

    /** Floats of one image: channels * height * width. */
    public int pixelsPerImage() {
        return channels * height * width;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof InputSpec other && name.equals(other.name) && channels == other.channels
                && height == other.height && width == other.width && Arrays.equals(mean, other.mean)
                && Arrays.equals(std, other.std) && layout.equals(other.layout);
    }

    @Override
    public int hashCode() {
        return 31 * (31 * name.hashCode() + Arrays.hashCode(mean)) + Arrays.hashCode(std) + channels + height + width;
    }

    @Override
    public String toString() {
        return "InputSpec[name=" + name + ", shape=[?," + channels + "," + height + "," + width + "], mean="
                + Arrays.toString(mean) + ", std=" + Arrays.toString(std) + ", layout=" + layout + "]";
    }
}
