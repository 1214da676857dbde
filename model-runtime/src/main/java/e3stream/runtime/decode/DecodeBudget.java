package e3stream.runtime.decode;

import e3stream.runtime.decode.DecodeException.Code;

/**
 * The memory budget of {@link ImageDecoder} (its class documentation, "Memory budget", gives the accounting): the
 * pixel limit and the upper bound of what decoding one payload holds, computed from the header alone, checked against
 * {@link DecodeLimits}. Immutable.
 */
final class DecodeBudget {

    /** Allowance in the memory bound for a javax.imageio reader's own state, tables and metadata (PNG, JPEG). */
    static final long DECODER_FIXED_BYTES = 1L << 20;

    private final int channels;
    private final int height;
    private final int width;
    private final DecodeLimits limits;

    /** For a model input of {@code channels x height x width}. */
    DecodeBudget(int channels, int height, int width, DecodeLimits limits) {
        this.channels = channels;
        this.height = height;
        this.width = width;
        this.limits = limits;
    }

    void checkPixels(long w, long h, String format) throws DecodeException {
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
    record Layout(String format, String detail, long rasterBitsPerPixel, long bufferBytesPerPixel,
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

    /** The upper bound, in bytes, of what decoding an image of this layout and size holds. */
    long bytes(Layout layout, long w, long h, long payloadLength) {
        return footprint(layout, w, h, payloadLength).total();
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

    void checkBudget(Layout layout, long w, long h, long payloadLength) throws DecodeException {
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

    /** What an {@link OutOfMemoryError} while decoding a payload of this content type becomes. */
    DecodeException outOfMemory(String type, OutOfMemoryError e) {
        return new DecodeException(Code.OUT_OF_MEMORY, "the heap ran out while decoding the " + type
                + " payload (" + e.getMessage() + "), although it fits the decode budget of " + limits.maxDecodeBytes()
                + " bytes; its buffers are released. Lower the decoder's maxDecodeBytes below the heap that is free"
                + " for decoding, or give the process more heap", e);
    }
}
