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
 *       {@value #DECODER_FIXED_BYTES} bytes for reader state and tables (PNG, JPEG); for a JPEG with more than one scan
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
 * half-finished call could leave inconsistent (it is immutable, each call has its own {@link ImageReader}, disposed in
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
 * <p>Immutable and thread-safe: every call uses its own {@link ImageReader}.
 */
public final class ImageDecoder {

    public static final String PNG = "image/png";
    public static final String JPEG = "image/jpeg";
    public static final String RAW_U8 = "application/x-raw-u8";
    public static final List<String> SUPPORTED_CONTENT_TYPES = List.of(PNG, JPEG, RAW_U8);

    /** Allowance in the memory bound for a javax.imageio reader's own state, tables and metadata (PNG, JPEG). */
    static final long DECODER_FIXED_BYTES = 1L << 20;

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
                    Layout layout = Layout.png(header);
                    checkPixels(header.width(), header.height(), "PNG");
                    checkBudget(layout, header.width(), header.height(), payload.length);
                    PlainPng plain = PlainPng.parse(payload, header);
                    planes = plain != null ? plainPngPlanes(plain) : decodeWithImageIo(payload, layout);
                }
                case JPEG -> {
                    ImageHeaders.Jpeg header = ImageHeaders.jpeg(payload);
                    Layout layout = Layout.jpeg(header);
                    checkPixels(header.width(), header.height(), "JPEG");
                    checkBudget(layout, header.width(), header.height(), payload.length);
                    planes = decodeWithImageIo(payload, layout);
                }
                case RAW_U8 -> planes = decodeRaw(payload, width, height, channels);
                default -> throw new IllegalStateException(type); // normaliseContentType only returns supported types
            }
            return normalise(resize(planes));
        } catch (OutOfMemoryError e) {
            throw outOfMemory(type, e);
        } catch (MissingReaderException e) {
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
                return footprint(Layout.png(header), header.width(), header.height(), payload.length).total();
            }
            case JPEG -> {
                ImageHeaders.Jpeg header = ImageHeaders.jpeg(payload);
                return footprint(Layout.jpeg(header), header.width(), header.height(), payload.length).total();
            }
            default -> {
                checkRawShape(width, height, channels);
                checkRawLength(payload, width, height, channels);
                return footprint(Layout.raw(channels), width, height, 0).total();
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

    private void checkPixels(long w, long h, String format) throws DecodeException {
        // w, h < 2^32, so dividing avoids the overflow of w * h
        if (w > limits.maxPixels() / h) {
            throw new DecodeException(Code.TOO_MANY_PIXELS, format + " header declares " + w + "x" + h
                    + " pixels, more than the limit of " + limits.maxPixels()
                    + " pixels; send a smaller image or raise the decoder's maxPixels");
        }
    }

    /**
     * How a header's image is held while decoding, per pixel and per column (see "Memory budget" in the class
     * documentation).
     *
     * @param format "PNG", "JPEG" or "raw", for messages
     * @param detail the layout in words, for messages
     * @param rasterBitsPerPixel bits per pixel of the decoded raster (packed rows of sub-byte samples round up per row)
     * @param bufferBytesPerPixel decoder buffers that grow with the image (JPEG coefficients of a multi-scan image)
     * @param bufferBytesPerColumn decoder buffers that grow with the width (row buffers)
     * @param fixedBytes decoder state that does not grow with the image
     * @param greySource decoded into a non-indexed grey raster, read as one plane whatever the model's channels
     * @param inputCopies how many more times the payload is held: javax.imageio's stream cache (PNG, JPEG), and for
     *     a palette PNG, whose every chunk javax.imageio reads, copies of its ancillary chunks
     */
    private record Layout(String format, String detail, long rasterBitsPerPixel, long bufferBytesPerPixel,
            long bufferBytesPerColumn, long fixedBytes, boolean greySource, int inputCopies) {

        static Layout png(ImageHeaders.Png png) {
            int depth = png.bitDepth();
            int type = png.colourType();
            long samples = png.samples();
            long bits;
            if (type == 3) {
                bits = depth; // one palette index per pixel
            } else if (png.transparency() && (type == 0 || type == 2)) {
                // javax.imageio turns the tRNS key colour into an alpha sample (grey below 8 bits becomes 8-bit)
                bits = (samples + 1) * Math.max(depth, 8);
            } else {
                bits = samples * depth;
            }
            String kind = switch (type) {
                case 0 -> "grey";
                case 2 -> "RGB";
                case 3 -> "palette";
                case 4 -> "grey+alpha";
                default -> "RGBA";
            };
            boolean grey = (type == 0 || type == 4) && depth >= 8;
            // the reader's rows (current, prior, pass row) of at most 2 bytes per sample, the row copy it makes to store
            // each row in the raster, and our ARGB row for colour images
            long rowBytes = 8 * samples + (bits + 7) / 8 + argbRow(grey);
            return new Layout("PNG", depth + "-bit " + kind + (png.transparency() ? " with tRNS" : ""), bits, 0,
                    rowBytes, DECODER_FIXED_BYTES, grey, type == 3 ? 2 : 1);
        }

        static Layout jpeg(ImageHeaders.Jpeg jpeg) {
            int components = jpeg.components();
            long bytesPerSample = jpeg.precision() > 8 ? 2 : 1;
            // libjpeg keeps every DCT coefficient (2 bytes per sample per component) when the image has several
            // scans; otherwise a few MCU rows (up to 32 lines) per component
            long coefficients = jpeg.scans() > 1 ? 2L * components : 0;
            long rowBytes = 64L * components + 2 * bytesPerSample * components + argbRow(components == 1);
            return new Layout("JPEG", jpeg.precision() + "-bit, " + components + " component"
                    + (components == 1 ? "" : "s") + ", " + jpeg.scans() + " scan" + (jpeg.scans() == 1 ? "" : "s"),
                    8 * bytesPerSample * components, coefficients, rowBytes, DECODER_FIXED_BYTES, components == 1, 1);
        }

        /** Colour images are read through one row of packed ARGB ints. */
        private static long argbRow(boolean greySource) {
            return greySource ? 0 : 4;
        }

        static Layout raw(int channels) {
            return new Layout("raw", channels + " channel" + (channels == 1 ? "" : "s") + " of 8 bits",
                    8L * channels, 0, 0, 0, channels == 1, 0);
        }
    }

    /** The parts of the memory bound, in bytes; every part saturates at {@link Long#MAX_VALUE}. */
    private record Footprint(long input, long raster, long buffers, long planes, long resize, long tensor) {

        long total() {
            return add(add(add(input, raster), add(buffers, planes)), add(resize, tensor));
        }

        @Override
        public String toString() {
            return "input " + input + ", raster " + raster + ", decoder buffers " + buffers + ", planes " + planes
                    + ", resize " + resize + ", tensor " + tensor;
        }
    }

    private Footprint footprint(Layout layout, long w, long h, long payloadLength) {
        long pixels = mul(w, h);
        long rowBytes = add(mul(w, layout.rasterBitsPerPixel()), 7) / 8;
        long raster = mul(rowBytes, h);
        long buffers = add(add(mul(pixels, layout.bufferBytesPerPixel()), mul(w, layout.bufferBytesPerColumn())),
                layout.fixedBytes());
        long planes = mul(mul(pixels, 4), layout.greySource() ? 1 : channels);
        long modelPixels = (long) width * height;
        long resize = w == width && h == height ? 0 : add(mul(mul(h, width), 8), 4 * modelPixels * channels);
        return new Footprint(mul(payloadLength, layout.inputCopies()), raster, buffers, planes, resize,
                4 * modelPixels * channels);
    }

    private void checkBudget(Layout layout, long w, long h, long payloadLength) throws DecodeException {
        Footprint f = footprint(layout, w, h, payloadLength);
        long need = f.total();
        if (need > limits.maxDecodeBytes()) {
            throw new DecodeException(Code.DECODE_BUDGET_EXCEEDED, "decoding this " + w + "x" + h + " "
                    + layout.format() + " (" + layout.detail() + ") for a " + channels + "x" + height + "x" + width
                    + " model needs " + need + " bytes (" + f + "), more than the decode budget of "
                    + limits.maxDecodeBytes() + " bytes; send a smaller image (or fewer bits per sample) or raise"
                    + " the decoder's maxDecodeBytes");
        }
    }

    private static long mul(long a, long b) {
        try {
            return Math.multiplyExact(a, b);
        } catch (ArithmeticException e) {
            return Long.MAX_VALUE; // operands are never negative
        }
    }

    private static long add(long a, long b) {
        try {
            return Math.addExact(a, b);
        } catch (ArithmeticException e) {
            return Long.MAX_VALUE;
        }
    }

    private DecodeException outOfMemory(String type, OutOfMemoryError e) {
        return new DecodeException(Code.OUT_OF_MEMORY, "the heap ran out while decoding the " + type
                + " payload (" + e.getMessage() + "), although it fits the decode budget of " + limits.maxDecodeBytes()
                + " bytes; its buffers are released. Lower the decoder's maxDecodeBytes below the heap that is free"
                + " for decoding, or give the process more heap", e);
    }

    /** This JVM lacks a javax.imageio reader: a broken runtime, never the payload's fault, so never contained. */
    private static final class MissingReaderException extends IllegalStateException {
        private static final long serialVersionUID = 1L;

        MissingReaderException(String format) {
            super("no javax.imageio reader for " + format + " in this JVM");
        }
    }

    /** Source pixels at their own resolution, values 0..255: one plane (grey) or three (R, G, B). */
    private record Planes(int width, int height, float[][] planes) {}

    private Planes decodeWithImageIo(byte[] payload, Layout layout) throws DecodeException {
        String format = layout.format();
        Iterator<ImageReader> readers = ImageIO.getImageReadersByFormatName(format.toLowerCase(Locale.ROOT));
        if (!readers.hasNext()) {
            throw new MissingReaderException(format);
        }
        ImageReader reader = readers.next();
        List<String> warnings = new ArrayList<>();
        reader.addIIOReadWarningListener((source, warning) -> warnings.add(warning));
        BufferedImage image;
        try (ImageInputStream in = new MemoryCacheImageInputStream(new ByteArrayInputStream(payload))) {
            reader.setInput(in, true, true);
            // Second line of defence: the reader's own view of the header, still without reading pixels.
            long w = reader.getWidth(0);
            long h = reader.getHeight(0);
            checkPixels(w, h, format);
            checkBudget(layout, w, h, payload.length);
            image = reader.read(0);
        } catch (IOException | RuntimeException e) {
            OutOfMemoryError outOfMemory = outOfMemoryCause(e);
            if (outOfMemory != null) {
                // javax.imageio's PNG reader wraps every Throwable of read(), OutOfMemoryError included
                throw outOfMemory(format, outOfMemory);
            }
            // ImageIO reports malformed data as IIOException but also as unchecked exceptions from its codecs.
            throw new DecodeException(Code.CORRUPT_IMAGE, "cannot decode the " + format + " payload: " + e, e);
        } finally {
            reader.dispose();
        }
        if (!warnings.isEmpty()) {
            throw new DecodeException(Code.CORRUPT_IMAGE,
                    "the " + format + " payload is damaged: " + String.join("; ", warnings));
        }
        return toPlanes(image);
    }

    /** A plain PNG's stored samples in planes, as {@link #toPlanes} reads them from javax.imageio's image. */
    private Planes plainPngPlanes(PlainPng png) throws DecodeException {
        int w = png.width;
        int samples = png.samples;
        if (samples <= 2) { // grey, grey + alpha: the grey sample
            float[] grey = new float[w * png.height];
            png.read((y, row) -> {
                for (int x = 0; x < w; x++) {
                    grey[y * w + x] = row[1 + x * samples] & 0xFF;
                }
            });
            return greyPlanes(w, png.height, grey);
        }
        ColourPlanes out = new ColourPlanes(w * png.height);
        png.read((y, row) -> {
            for (int x = 0, i = 1; x < w; x++, i += samples) {
                out.set(y * w + x, row[i] & 0xFF, row[i + 1] & 0xFF, row[i + 2] & 0xFF);
            }
        });
        return out.planes(w, png.height);
    }

    /** The OutOfMemoryError in {@code e}'s cause chain, or null. */
    private static OutOfMemoryError outOfMemoryCause(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof OutOfMemoryError oom) {
                return oom;
            }
        }
        return null;
    }

    /**
     * Reads the decoded image into planes. Colour images are read one row of ARGB at a time straight into the planes
     * the model needs (luminance, or R, G and B), so the only full-resolution copies are the raster and those planes.
     */
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
        ColourPlanes out = new ColourPlanes(w * h);
        int[] argb = new int[w];
        for (int y = 0; y < h; y++) {
            image.getRGB(0, y, w, 1, argb, 0, w);
            for (int x = 0; x < w; x++) {
                out.set(y * w + x, (argb[x] >> 16) & 0xFF, (argb[x] >> 8) & 0xFF, argb[x] & 0xFF);
            }
        }
        return out.planes(w, h);
    }

    /**
     * The planes a colour source gives the model: luminance {@code 0.299 R + 0.587 G + 0.114 B} for one channel, R, G
     * and B for three; filled pixel by pixel so that no RGB copy is kept for a grey model.
     */
    private final class ColourPlanes {
        private final float[][] planes;

        ColourPlanes(int pixels) {
            planes = new float[channels][pixels];
        }

        void set(int i, int r, int g, int b) {
            if (channels == 1) {
                planes[0][i] = (float) (0.299 * r + 0.587 * g + 0.114 * b);
            } else {
                planes[0][i] = r;
                planes[1][i] = g;
                planes[2][i] = b;
            }
        }

        Planes planes(int w, int h) {
            return new Planes(w, h, planes);
        }
    }

    private static void checkRawShape(Integer w, Integer h, Integer c) throws DecodeException {
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
    }

    private static void checkRawLength(byte[] payload, int w, int h, int c) throws DecodeException {
        long expected = (long) w * h * c;
        if (payload.length != expected) {
            throw new DecodeException(Code.BAD_RAW_DIMENSIONS, RAW_U8 + " payload has " + payload.length
                    + " bytes but width x height x channels = " + w + "x" + h + "x" + c + " = " + expected
                    + "; pixels must be interleaved (HWC), one byte per channel");
        }
    }

    private Planes decodeRaw(byte[] payload, Integer w, Integer h, Integer c) throws DecodeException {
        checkRawShape(w, h, c);
        checkPixels(w, h, "raw"); // before the length, so a raw bomb is named as one
        checkRawLength(payload, w, h, c);
        checkBudget(Layout.raw(c), w, h, 0);
        int n = w * h;
        if (c == 1) {
            float[] grey = new float[n];
            for (int i = 0; i < n; i++) {
                grey[i] = payload[i] & 0xFF;
            }
            return greyPlanes(w, h, grey);
        }
        ColourPlanes out = new ColourPlanes(n);
        for (int i = 0; i < n; i++) {
            out.set(i, payload[i * c] & 0xFF, payload[i * c + 1] & 0xFF, payload[i * c + 2] & 0xFF);
        }
        return out.planes(w, h);
    }

    private Planes greyPlanes(int w, int h, float[] grey) {
        return channels == 1 ? new Planes(w, h, new float[][] {grey}) : new Planes(w, h, new float[][] {grey, grey, grey});
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
            float m = (float) mean[c];
            float s = (float) std[c];
            for (int i = 0; i < n; i++) {
                tensor[c * n + i] = InputSpec.normalise(plane[i], m, s);
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
