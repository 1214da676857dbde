package e3stream.runtime.decode;

import java.io.Serializable;

/**
 * Limits applied to a payload before any pixel is decoded. Immutable; serializable, so a stream operator can carry it.
 *
 * <pre>{@code
 * DecodeLimits limits = new DecodeLimits(1 << 20, 4096L * 4096, 64L << 20);
 * ImageDecoder decoder = ImageDecoder.forInput(bundle.manifest().input(), limits);
 * }</pre>
 *
 * @param maxPayloadBytes largest accepted payload, in bytes (the encoded bytes, after base64 decoding)
 * @param maxPixels largest accepted width x height declared by an image header (or given for raw pixels); guards
 *     against decompression bombs, whose few kilobytes claim gigapixels
 * @param maxDecodeBytes largest amount of memory, in bytes, that decoding one payload may hold at once, computed from
 *     the header alone (the decoded raster at its declared bit depth and samples per pixel, the decoder's own copies
 *     and buffers; see {@link ImageDecoder}); refused as {@link DecodeException.Code#DECODE_BUDGET_EXCEEDED} before
 *     decoding. The pixel limit alone does not bound memory: 4096 x 4096 pixels at 16 bits x 4 samples is a 128 MiB
 *     raster from a 130 KB PNG.
 */
public record DecodeLimits(long maxPayloadBytes, long maxPixels, long maxDecodeBytes) implements Serializable {

    /**
     * 1 MiB: far above any real 28x28 image, small enough that one event cannot exhaust a TaskManager. The one source
     * of this default (the job's option reads it).
     */
    public static final long DEFAULT_MAX_PAYLOAD_BYTES = 1024 * 1024;

    /**
     * 4096 x 4096 pixels: a cheap first check against decompression bombs. Memory is bounded by
     * {@link #DEFAULT_MAX_DECODE_BYTES}, which refuses some images under this pixel count (e.g. 4096 x 4096 RGB).
     */
    public static final long DEFAULT_MAX_PIXELS = 4096L * 4096;

    /**
     * 64 MiB: the most one event may hold while it is decoded. A TaskManager decodes one event per parallel subtask at
     * a time, so two slots of the local cluster (1280 MiB process, a few hundred MiB of task heap) hold at most 128 MiB
     * for decoding; real inputs (28x28 images) need about 1 MiB. For a one-channel model it admits squares up to about
     * 3600 (8-bit grey PNG), 3050 (8-bit RGB), 2850 (8-bit RGBA) and 2300 (16-bit RGBA) pixels a side; for a
     * three-channel model colour images up to about 2000.
     */
    public static final long DEFAULT_MAX_DECODE_BYTES = 64L * 1024 * 1024;

    private static final long serialVersionUID = 1L;

    public DecodeLimits {
        if (maxPayloadBytes <= 0) {
            throw new IllegalArgumentException("maxPayloadBytes must be positive, found " + maxPayloadBytes);
        }
        if (maxPixels <= 0) {
            throw new IllegalArgumentException("maxPixels must be positive, found " + maxPixels);
        }
        if (maxDecodeBytes <= 0) {
            throw new IllegalArgumentException("maxDecodeBytes must be positive, found " + maxDecodeBytes);
        }
    }

    /** The given payload and pixel limits with the {@link #DEFAULT_MAX_DECODE_BYTES} memory budget. */
    public DecodeLimits(long maxPayloadBytes, long maxPixels) {
        this(maxPayloadBytes, maxPixels, DEFAULT_MAX_DECODE_BYTES);
    }

    /** {@link #DEFAULT_MAX_PAYLOAD_BYTES}, {@link #DEFAULT_MAX_PIXELS} and {@link #DEFAULT_MAX_DECODE_BYTES}. */
    public static DecodeLimits defaults() {
        return new DecodeLimits(DEFAULT_MAX_PAYLOAD_BYTES, DEFAULT_MAX_PIXELS, DEFAULT_MAX_DECODE_BYTES);
    }

    /** A copy with another memory budget. */
    public DecodeLimits withMaxDecodeBytes(long maxDecodeBytes) {
        return new DecodeLimits(maxPayloadBytes, maxPixels, maxDecodeBytes);
    }
}
