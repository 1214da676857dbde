package e3stream.runtime.decode;

import e3stream.runtime.decode.DecodeException.Code;
import e3stream.runtime.model.InputSpec;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

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
 *   <li>{@value #PNG} and {@value #JPEG}: decoded with {@code javax.imageio} (works headless), except the plain PNGs
 *       producers send most (8-bit grey or RGB(A), not interlaced, no colour-management chunk), which {@link PlainPng}
 *       reads to the same values with a fraction of the garbage; the header is
 *       authoritative, so the width/height/channels arguments are ignored for them. A JPEG that the decoder only
 *       reads with warnings (e.g. truncated data) is refused as {@link Code#CORRUPT_IMAGE} rather than used half-grey.
 *   <li>{@value #RAW_U8}: unsigned 8-bit pixels, interleaved (HWC, row-major, as numpy/PIL write them), with width,
 *       height and channels (1 grey, 3 RGB or 4 RGBA) required; the length must be exactly width x height x channels.
 * </ul>
 * Content types are matched case-insensitively and parameters after {@code ;} are ignored.
 *
 * <h2>Refused before decoding</h2>
 * A payload longer than {@link DecodeLimits#maxPayloadBytes()}, an unknown content type, a header (PNG IHDR, JPEG
 * SOFn, raw width x height) that declares more than {@link DecodeLimits#maxPixels()} pixels, and one whose decoding
 * would hold more than {@link DecodeLimits#maxDecodeBytes()} are refused from the first bytes, before any raster is
 * allocated; each has its own {@link Code}.
 *
 * <h2>Memory budget</h2>
 * From the header alone the decoder computes an upper bound of the memory decoding holds, counting every buffer of
 * the decode as if all were alive at once, and refuses the payload as {@link Code#DECODE_BUDGET_EXCEEDED} when the
 * bound exceeds {@link DecodeLimits#maxDecodeBytes()}; the refusal's message gives the bound and its parts, so the
 * budget that admits the image can be read from it ({@link #decodeBytes} gives it without decoding). For a
 * {@code w x h} image and a model of {@code C x H x W}:
 * <ul>
 *   <li><b>input</b>: the payload once more (PNG, JPEG: javax.imageio's in-memory stream cache), twice for a palette
 *       PNG (javax.imageio reads all its chunks, keeping copies of the ancillary ones);
 *   <li><b>raster</b>: {@code w x h x samples x bytes per sample} as javax.imageio decodes it: PNG at its IHDR bit depth
 *       and colour type (sub-byte depths packed; grey or RGB with a tRNS chunk gain an alpha sample), JPEG at its SOF
 *       precision and components, raw pixels {@code w x h x channels} (the payload itself);
 *   <li><b>decoder buffers</b>: row buffers (javax.imageio's, including the copy of each row it stores into an RGB
 *       raster, which is garbage at once and so counted as one row) and a fixed allowance of
 *       {@value DecodeBudget#DECODER_FIXED_BYTES} bytes for reader state and tables (PNG, JPEG); for a JPEG with more than one scan
 *       (progressive, or components in separate scans) the decoder's whole-image coefficient buffer, 2 bytes per
 *       sample per component (native memory);
 *   <li><b>planes</b>: the full-resolution float planes, 4 bytes per pixel per plane (one for grey sources, C for
 *       colour ones);
 *   <li><b>resize</b> (when the size differs): the horizontal pass, 8 x h x W bytes, and C resized planes;
 *   <li><b>tensor</b>: the result, 4 x C x H x W bytes.
 * </ul>
 * The bound is checked twice: from the decoder's own header parse, then from javax.imageio's view of the dimensions.
 *
 * <h2>Errors contained to the payload</h2>
 * An {@link OutOfMemoryError} while decoding becomes {@link Code#OUT_OF_MEMORY} and any unchecked exception of
 * javax.imageio or the pixel conversion (e.g. an {@link ArrayIndexOutOfBoundsException} from a codec on crafted data)
 * {@link Code#CORRUPT_IMAGE} or {@link Code#DECODE_ERROR}, so that one record cannot fail the task that decodes it.
 * Catching {@code OutOfMemoryError} here is sound: the allocation that failed was this payload's raster or planes,
 * which only this call's stack frames reference, so unwinding releases them; the decoder holds no state that a
 * half-finished call could leave inconsistent (it is immutable, each call has its own {@link javax.imageio.ImageReader}, disposed in
 * a {@code finally}). It is a fallback for a heap shared with other work, not a substitute for the budget, and a
 * thread elsewhere that hits the same exhausted heap in the same moment is not protected by it. Other {@link Error}s
 * (linkage, internal VM errors) are not caught: they say the JVM or its class path is broken, not the payload.
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
 *   <li>Normalise each channel: {@code (x / 255 - mean[c]) / std[c]} by {@link InputSpec#normalise}, as the
 *       offline image sets do.
 * </ol>
 *
 * <p>This class checks the content type and dispatches on it; the jobs it dispatches to are classes of this package:
 * {@link DecodeBudget} (the limits and the memory bound), {@link PixelDecoder} (the pixels, at their own
 * resolution), {@link AreaResize} (the resize) and {@link Planes} (the normalisation).
 *
 * <p>Immutable and thread-safe: every call uses its own {@link javax.imageio.ImageReader}.
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
    private final DecodeBudget budget;
    private final PixelDecoder pixels;

    private ImageDecoder(Builder b) {
        this.channels = b.channels;
        this.height = b.height;
        this.width = b.width;
        this.mean = b.mean.clone();
        this.std = b.std.clone();
        this.limits = b.limits;
        this.budget = new DecodeBudget(channels, height, width, limits);
        this.pixels = new PixelDecoder(channels, budget);
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
     * Decodes one payload. Never lets the payload's content fail the caller with anything but a
     * {@link DecodeException}: an {@link OutOfMemoryError} or unchecked exception raised while decoding is turned into
     * one (see the class documentation for why that is safe).
     *
     * @param contentType one of {@link #SUPPORTED_CONTENT_TYPES}
     * @param payload the encoded bytes (not base64)
     * @param width raw pixels only: image width; ignored for PNG/JPEG, may be null there
     * @param height raw pixels only: image height
     * @param channels raw pixels only: 1, 3 or 4
     * @return a new array of {@link #tensorSize()} floats, CHW
     * @throws DecodeException with the reason's {@link DecodeException#code()}
     * @throws IllegalStateException if this JVM has no javax.imageio reader for the format (a broken runtime, not data)
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
        try {
            Planes planes;
            switch (type) {
                case PNG -> {
                    ImageHeaders.Png header = ImageHeaders.png(payload);
                    DecodeBudget.Layout layout = DecodeBudget.Layout.png(header);
                    budget.checkPixels(header.width(), header.height(), "PNG");
                    budget.checkBudget(layout, header.width(), header.height(), payload.length);
                    PlainPng plain = PlainPng.parse(payload, header);
                    planes = plain != null ? pixels.plainPngPlanes(plain) : pixels.decodeWithImageIo(payload, layout);
                }
                case JPEG -> {
                    ImageHeaders.Jpeg header = ImageHeaders.jpeg(payload);
                    DecodeBudget.Layout layout = DecodeBudget.Layout.jpeg(header);
                    budget.checkPixels(header.width(), header.height(), "JPEG");
                    budget.checkBudget(layout, header.width(), header.height(), payload.length);
                    planes = pixels.decodeWithImageIo(payload, layout);
                }
                case RAW_U8 -> planes = pixels.decodeRaw(payload, width, height, channels);
                default -> throw new IllegalStateException(type); // normaliseContentType only returns supported types
            }
            return AreaResize.resize(planes, this.width, this.height).normalised(mean, std);
        } catch (OutOfMemoryError e) {
            throw budget.outOfMemory(type, e);
        } catch (PixelDecoder.MissingReaderException e) {
            throw e;
        } catch (RuntimeException e) {
            throw new DecodeException(Code.DECODE_ERROR, "decoding the " + type + " payload of " + payload.length
                    + " bytes failed unexpectedly: " + e, e);
        }
    }

    /**
     * The upper bound, in bytes, of what decoding this payload holds (see "Memory budget" in the class
     * documentation), computed from its header alone; the figure {@link Code#DECODE_BUDGET_EXCEEDED} compares with
     * {@link DecodeLimits#maxDecodeBytes()}.
     *
     * @throws DecodeException if the header cannot be read, or raw dimensions are missing or inconsistent
     */
    public long decodeBytes(String contentType, byte[] payload, Integer width, Integer height, Integer channels)
            throws DecodeException {
        String type = normaliseContentType(contentType);
        if (payload == null || payload.length == 0) {
            throw new DecodeException(Code.EMPTY_PAYLOAD, "the image payload is empty; send the encoded image bytes");
        }
        switch (type) {
            case PNG -> {
                ImageHeaders.Png header = ImageHeaders.png(payload);
                return budget.bytes(DecodeBudget.Layout.png(header), header.width(), header.height(), payload.length);
            }
            case JPEG -> {
                ImageHeaders.Jpeg header = ImageHeaders.jpeg(payload);
                return budget.bytes(DecodeBudget.Layout.jpeg(header), header.width(), header.height(), payload.length);
            }
            default -> {
                PixelDecoder.checkRawShape(width, height, channels);
                PixelDecoder.checkRawLength(payload, width, height, channels);
                return budget.bytes(DecodeBudget.Layout.raw(channels), width, height, 0);
            }
        }
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