package e3stream.runtime.decode;

import e3stream.runtime.decode.DecodeException.Code;
import e3stream.runtime.model.InputSpec;
import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.ColorModel;
import java.awt.image.IndexColorModel;
import java.awt.image.Raster;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;
import javax.imageio.stream.MemoryCacheImageInputStream;

/**
 * Decodes one image payload into the model's input tensor: a {@code float[channels * height * width]} in CHW order
 * (one image of an NCHW batch), normalised as {@code (x / 255 - mean[c]) / std[c]}.
 *
 * <pre>{@code
 * ImageDecoder decoder = ImageDecoder.forInput(bundle.manifest().input(), DecodeLimits.defaults());
 * float[] chw = decoder.decode("image/png", bytes, null, null, null);
 * // or from plain values: ImageDecoder.builder().channels(1).height(28).width(28).mean(0.286).std(0.353).build()
 * }</pre>
 *
 * <h2>Content types</h2>
 * <ul>
 *   <li>{@value #PNG} and {@value #JPEG}: decoded with {@code javax.imageio} (works headless); the header is
 *       authoritative, so the width/height/channels arguments are ignored for them. A JPEG that the decoder only
 *       reads with warnings (e.g. truncated data) is refused as {@link Code#CORRUPT_IMAGE} rather than used half-grey.
 *   <li>{@value #RAW_U8}: unsigned 8-bit pixels, interleaved (HWC, row-major, as numpy/PIL write them), with width,
 *       height and channels (1 grey, 3 RGB or 4 RGBA) required; the length must be exactly width x height x channels.
 * </ul>
 * Content types are matched case-insensitively and parameters after {@code ;} are ignored.
 *
 * <h2>Refused before decoding</h2>
 * A payload longer than {@link DecodeLimits#maxPayloadBytes()}, an unknown content type, and a header (PNG IHDR, JPEG
 * SOFn, raw width x height) that declares more than {@link DecodeLimits#maxPixels()} pixels are refused from the first
 * bytes, before any raster is allocated; each has its own {@link Code}.
 *
 * <h2>Pixel pipeline</h2>
 * <ol>
 *   <li>Colour: grey images (including 16-bit, read from the raster so no colour-space conversion alters them) give
 *       their stored value scaled to 0..255; colour images are read as sRGB. Alpha is ignored (colour values are used
 *       as stored). A 1-channel model gets the luminance {@code 0.299 R + 0.587 G + 0.114 B} (ITU-R BT.601 on the
 *       gamma-encoded values, as PIL's {@code convert("L")} computes it, without rounding); a 3-channel model gets RGB,
 *       grey replicated to all three channels.
 *   <li>Resize, only when the dimensions differ from the model's: <b>area</b> resampling — each output pixel is the
 *       average of the source pixels under its footprint, weighted by exact overlap (OpenCV's INTER_AREA). It does not
 *       alias when shrinking, preserves the mean, and duplicates pixels exactly when enlarging by an integer factor.
 *       The aspect ratio is not preserved (the image is stretched to the model's size).
 *   <li>Normalise each channel: {@code (x / 255 - mean[c]) / std[c]}.
 * </ol>
 *
 * <p>Immutable and thread-safe: every call uses its own {@link ImageReader}.
 */
public final class ImageDecoder {

    public static final String PNG = "image/png";
    public static final String JPEG = "image/jpeg";
    public static final String RAW_U8 = "application/x-raw-u8";
    public static final List<String> SUPPORTED_CONTENT_TYPES = List.of(PNG, JPEG, RAW_U8);

    private final int channels;
    private final int height;
    private final int width;
    private final double[] mean;
    private final double[] std;
    private final DecodeLimits limits;

    private ImageDecoder(Builder b) {
        this.channels = b.channels;
        this.height = b.height;
        this.width = b.width;
        this.mean = b.mean.clone();
        this.std = b.std.clone();
        this.limits = b.limits;
    }

    public static Builder builder() {
        return new Builder();
    }

    /**
     * A decoder for a model bundle's input (model.json {@code input}).
     *
     * @throws IllegalArgumentException if the input has a channel count other than 1 or 3
     */
    public static ImageDecoder forInput(InputSpec input, DecodeLimits limits) {
        Objects.requireNonNull(input, "input");
        return builder().channels(input.channels()).height(input.height()).width(input.width()).mean(input.mean())
                .std(input.std()).limits(limits).build();
    }

    /**
     * Decodes one payload.
     *
     * @param contentType one of {@link #SUPPORTED_CONTENT_TYPES}
     * @param payload the encoded bytes (not base64)
     * @param width raw pixels only: image width; ignored for PNG/JPEG, may be null there
     * @param height raw pixels only: image height
     * @param channels raw pixels only: 1, 3 or 4
     * @return a new array of {@link #tensorSize()} floats, CHW
     * @throws DecodeException with the reason's {@link DecodeException#code()}
     */
    public float[] decode(String contentType, byte[] payload, Integer width, Integer height, Integer channels)
            throws DecodeException {
        String type = normaliseContentType(contentType);
        if (payload == null || payload.length == 0) {
            throw new DecodeException(Code.EMPTY_PAYLOAD, "the image payload is empty; send the encoded image bytes");
        }
        if (payload.length > limits.maxPayloadBytes()) {
            throw new DecodeException(Code.PAYLOAD_TOO_LARGE, "payload of " + payload.length
                    + " bytes exceeds the limit of " + limits.maxPayloadBytes()
                    + " bytes; send a smaller image or raise the decoder's maxPayloadBytes");
        }
        Planes planes;
        switch (type) {
            case PNG -> {
                checkPixels(ImageHeaders.png(payload), "PNG");
                planes = decodeWithImageIo(payload, "png");
            }
            case JPEG -> {
                checkPixels(ImageHeaders.jpeg(payload), "JPEG");
                planes = decodeWithImageIo(payload, "jpeg");
            }
            case RAW_U8 -> planes = decodeRaw(payload, width, height, channels);
            default -> throw new IllegalStateException(type); // normaliseContentType only returns supported types
        }
        return normalise(resize(planes));
    }

    /** Number of floats {@link #decode} returns: channels x height x width. */
    public int tensorSize() {
        return channels * height * width;
    }

    public int channels() {
        return channels;
    }

    public int height() {
        return height;
    }

    public int width() {
        return width;
    }

    public double[] mean() {
        return mean.clone();
    }

    public double[] std() {
        return std.clone();
    }

    public DecodeLimits limits() {
        return limits;
    }

    private static String normaliseContentType(String contentType) throws DecodeException {
        if (contentType == null || contentType.isBlank()) {
            throw new DecodeException(Code.UNSUPPORTED_CONTENT_TYPE,
                    "content type is missing; expected one of " + SUPPORTED_CONTENT_TYPES);
        }
        int semicolon = contentType.indexOf(';');
        String type = (semicolon >= 0 ? contentType.substring(0, semicolon) : contentType).trim()
                .toLowerCase(Locale.ROOT);
        if (!SUPPORTED_CONTENT_TYPES.contains(type)) {
            throw new DecodeException(Code.UNSUPPORTED_CONTENT_TYPE,
                    "unsupported content type '" + contentType + "'; expected one of " + SUPPORTED_CONTENT_TYPES);
        }
        return type;
    }

    private void checkPixels(ImageHeaders.Dimensions d, String format) throws DecodeException {
        checkPixels(d.width(), d.height(), format);
    }

    private void checkPixels(long w, long h, String format) throws DecodeException {
        // w, h < 2^32, so dividing avoids the overflow of w * h
        if (w > limits.maxPixels() / h) {
            throw new DecodeException(Code.TOO_MANY_PIXELS, format + " header declares " + w + "x" + h
                    + " pixels, more than the limit of " + limits.maxPixels()
                    + " pixels; send a smaller image or raise the decoder's maxPixels");
        }
    }

    /** Source pixels at their own resolution, values 0..255: one plane (grey) or three (R, G, B). */
    private record Planes(int width, int height, float[][] planes) {}

    private Planes decodeWithImageIo(byte[] payload, String format) throws DecodeException {
        Iterator<ImageReader> readers = ImageIO.getImageReadersByFormatName(format);
        if (!readers.hasNext()) {
            throw new IllegalStateException("no javax.imageio reader for " + format + " in this JVM");
        }
        ImageReader reader = readers.next();
        List<String> warnings = new ArrayList<>();
        reader.addIIOReadWarningListener((source, warning) -> warnings.add(warning));
        BufferedImage image;
        try (ImageInputStream in = new MemoryCacheImageInputStream(new ByteArrayInputStream(payload))) {
            reader.setInput(in, true, true);
            // Second line of defence: the reader's own view of the header, still without reading pixels.
            checkPixels(reader.getWidth(0), reader.getHeight(0), format.toUpperCase(Locale.ROOT));
            image = reader.read(0);
        } catch (IOException | RuntimeException e) {
            // ImageIO reports malformed data as IIOException but also as unchecked exceptions from its codecs.
            throw new DecodeException(Code.CORRUPT_IMAGE,
                    "cannot decode the " + format.toUpperCase(Locale.ROOT) + " payload: " + e, e);
        } finally {
            reader.dispose();
        }
        if (!warnings.isEmpty()) {
            throw new DecodeException(Code.CORRUPT_IMAGE,
                    "the " + format.toUpperCase(Locale.ROOT) + " payload is damaged: " + String.join("; ", warnings));
        }
        return toPlanes(image);
    }

    private Planes toPlanes(BufferedImage image) {
        int w = image.getWidth();
        int h = image.getHeight();
        ColorModel cm = image.getColorModel();
        if (cm.getColorSpace().getType() == ColorSpace.TYPE_GRAY && !(cm instanceof IndexColorModel)) {
            // Read stored grey samples: getRGB would convert the linear CS_GRAY space to sRGB and change the values.
            Raster raster = image.getRaster();
            double scale = 255.0 / ((1L << cm.getComponentSize(0)) - 1);
            float[] grey = new float[w * h];
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < w; x++) {
                    grey[y * w + x] = (float) (raster.getSample(x, y, 0) * scale);
                }
            }
            return greyPlanes(w, h, grey);
        }
        int[] argb = image.getRGB(0, 0, w, h, null, 0, w);
        float[] r = new float[w * h];
        float[] g = new float[w * h];
        float[] b = new float[w * h];
        for (int i = 0; i < argb.length; i++) {
            r[i] = (argb[i] >> 16) & 0xFF;
            g[i] = (argb[i] >> 8) & 0xFF;
            b[i] = argb[i] & 0xFF;
        }
        return colourPlanes(w, h, r, g, b);
    }

    private Planes decodeRaw(byte[] payload, Integer w, Integer h, Integer c) throws DecodeException {
        if (w == null || h == null || c == null) {
            throw new DecodeException(Code.BAD_RAW_DIMENSIONS, RAW_U8 + " needs width, height and channels, got width="
                    + w + ", height=" + h + ", channels=" + c);
        }
        if (w <= 0 || h <= 0) {
            throw new DecodeException(Code.BAD_RAW_DIMENSIONS,
                    RAW_U8 + " width and height must be > 0, got " + w + "x" + h);
        }
        if (c != 1 && c != 3 && c != 4) {
            throw new DecodeException(Code.BAD_RAW_DIMENSIONS,
                    RAW_U8 + " channels must be 1 (grey), 3 (RGB) or 4 (RGBA), got " + c);
        }
        checkPixels(w, h, "raw");
        long expected = (long) w * h * c;
        if (payload.length != expected) {
            throw new DecodeException(Code.BAD_RAW_DIMENSIONS, RAW_U8 + " payload has " + payload.length
                    + " bytes but width x height x channels = " + w + "x" + h + "x" + c + " = " + expected
                    + "; pixels must be interleaved (HWC), one byte per channel");
        }
        int n = w * h;
        if (c == 1) {
            float[] grey = new float[n];
            for (int i = 0; i < n; i++) {
                grey[i] = payload[i] & 0xFF;
            }
            return greyPlanes(w, h, grey);
        }
        float[] r = new float[n];
        float[] g = new float[n];
        float[] b = new float[n];
        for (int i = 0; i < n; i++) {
            r[i] = payload[i * c] & 0xFF;
            g[i] = payload[i * c + 1] & 0xFF;
            b[i] = payload[i * c + 2] & 0xFF;
        }
        return colourPlanes(w, h, r, g, b);
    }

    private Planes greyPlanes(int w, int h, float[] grey) {
        return channels == 1 ? new Planes(w, h, new float[][] {grey}) : new Planes(w, h, new float[][] {grey, grey, grey});
    }

    private Planes colourPlanes(int w, int h, float[] r, float[] g, float[] b) {
        if (channels == 3) {
            return new Planes(w, h, new float[][] {r, g, b});
        }
        float[] grey = new float[r.length];
        for (int i = 0; i < grey.length; i++) {
            grey[i] = (float) (0.299 * r[i] + 0.587 * g[i] + 0.114 * b[i]);
        }
        return new Planes(w, h, new float[][] {grey});
    }

    private Planes resize(Planes src) {
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

    private float[] normalise(Planes planes) {
        int n = height * width;
        float[] tensor = new float[channels * n];
        for (int c = 0; c < channels; c++) {
            float[] plane = planes.planes()[c];
            double m = mean[c];
            double s = std[c];
            for (int i = 0; i < n; i++) {
                tensor[c * n + i] = (float) ((plane[i] / 255.0 - m) / s);
            }
        }
        return tensor;
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

    /** Builder; every value is validated in {@link #build()}. Not thread-safe. */
    public static final class Builder {
        private int channels = -1;
        private int height = -1;
        private int width = -1;
        private double[] mean;
        private double[] std;
        private DecodeLimits limits = DecodeLimits.defaults();

        private Builder() {}

        /** 1 (grey) or 3 (RGB). */
        public Builder channels(int channels) {
            if (channels != 1 && channels != 3) {
                throw new IllegalArgumentException("channels must be 1 or 3, got " + channels);
            }
            this.channels = channels;
            return this;
        }

        public Builder height(int height) {
            if (height <= 0) {
                throw new IllegalArgumentException("height must be > 0, got " + height);
            }
            this.height = height;
            return this;
        }

        public Builder width(int width) {
            if (width <= 0) {
                throw new IllegalArgumentException("width must be > 0, got " + width);
            }
            this.width = width;
            return this;
        }

        /** One mean per channel, on the 0..1 scale (after dividing by 255). */
        public Builder mean(double... mean) {
            Objects.requireNonNull(mean, "mean");
            for (double m : mean) {
                if (!Double.isFinite(m)) {
                    throw new IllegalArgumentException("mean must be finite, got " + Arrays.toString(mean));
                }
            }
            this.mean = mean.clone();
            return this;
        }

        /** One standard deviation per channel, on the 0..1 scale; each must be > 0. */
        public Builder std(double... std) {
            Objects.requireNonNull(std, "std");
            for (double s : std) {
                if (!(s > 0) || !Double.isFinite(s)) {
                    throw new IllegalArgumentException("std must be finite and > 0, got " + Arrays.toString(std));
                }
            }
            this.std = std.clone();
            return this;
        }

        public Builder limits(DecodeLimits limits) {
            this.limits = Objects.requireNonNull(limits, "limits");
            return this;
        }

        public ImageDecoder build() {
            if (channels < 0 || height < 0 || width < 0) {
                throw new IllegalStateException("channels, height and width must all be set, got channels=" + channels
                        + ", height=" + height + ", width=" + width);
            }
            if (mean == null || std == null) {
                throw new IllegalStateException("mean and std must be set (one value per channel)");
            }
            if (mean.length != channels || std.length != channels) {
                throw new IllegalStateException("mean and std need one value per channel (" + channels + "), got mean="
                        + Arrays.toString(mean) + ", std=" + Arrays.toString(std));
            }
            return new ImageDecoder(this);
        }
    }
}
