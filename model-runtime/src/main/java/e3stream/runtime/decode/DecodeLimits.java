package e3stream.runtime.decode;

/**
 * Limits applied to a payload before any pixel is decoded. Immutable.
 *
 * @param maxPayloadBytes largest accepted payload, in bytes (the encoded bytes, after base64 decoding)
 * @param maxPixels largest accepted width x height declared by an image header (or given for raw pixels); guards
 *     against decompression bombs, whose few kilobytes claim gigapixels
 */
public record DecodeLimits(long maxPayloadBytes, long maxPixels) implements java.io.Serializable {

    /** 4 MiB: far above any real 28x28 image, small enough that one event cannot exhaust a TaskManager. */
    public static final long DEFAULT_MAX_PAYLOAD_BYTES = 4L * 1024 * 1024;

    /** 4096 x 4096 pixels: decoding such an image needs ~64 MiB of heap, the most one event may take. */
    public static final long DEFAULT_MAX_PIXELS = 4096L * 4096;

    public DecodeLimits {
        if (maxPayloadBytes <= 0) {
            throw new IllegalArgumentException("maxPayloadBytes must be > 0, got " + maxPayloadBytes);
        }
        if (maxPixels <= 0) {
            throw new IllegalArgumentException("maxPixels must be > 0, got " + maxPixels);
        }
    }

    /** {@link #DEFAULT_MAX_PAYLOAD_BYTES} and {@link #DEFAULT_MAX_PIXELS}. */
    public static DecodeLimits defaults() {
        return new DecodeLimits(DEFAULT_MAX_PAYLOAD_BYTES, DEFAULT_MAX_PIXELS);
    }
}
