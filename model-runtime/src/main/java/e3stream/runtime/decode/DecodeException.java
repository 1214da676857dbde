package e3stream.runtime.decode;

import java.util.Objects;

/**
 * Thrown when a payload cannot be turned into a model input. The {@link #code()} is stable and machine-readable (for
 * dead-letter records and metrics); the message says what was found and what to do.
 *
 * <p>Checked on purpose: every caller must decide where a refused event goes (nothing is dropped silently).
 */
public final class DecodeException extends Exception {

    private static final long serialVersionUID = 1L;

    /** Why a payload was refused. Names are stable: they appear in dead-letter records. */
    public enum Code {
        /** The payload is null or has no bytes. */
        EMPTY_PAYLOAD,
        /** The payload has more bytes than {@link DecodeLimits#maxPayloadBytes()}; checked before decoding. */
        PAYLOAD_TOO_LARGE,
        /** The header declares more pixels than {@link DecodeLimits#maxPixels()}; checked before decoding. */
        TOO_MANY_PIXELS,
        /** The content type is not one of {@link ImageDecoder#SUPPORTED_CONTENT_TYPES}. */
        UNSUPPORTED_CONTENT_TYPE,
        /** The bytes are not a readable image of the declared type (bad signature, truncated, unsupported variant). */
        CORRUPT_IMAGE,
        /** Raw pixels with missing, non-positive or unsupported width/height/channels, or a length that does not match. */
        BAD_RAW_DIMENSIONS,
        /**
         * Decoding the image the header declares would hold more than {@link DecodeLimits#maxDecodeBytes()} (raster at
         * its bit depth and samples per pixel, plus the decoder's copies); checked from the header, before decoding.
         */
        DECODE_BUDGET_EXCEEDED,
        /**
         * The heap ran out while this payload was decoded although the budget admitted it (the heap is shared with
         * other work); the payload's buffers are released and only this payload is refused.
         */
        OUT_OF_MEMORY,
        /** The decoder failed on this payload with an unexpected exception (a defect in javax.imageio or here). */
        DECODE_ERROR
    }

    private final Code code;

    public DecodeException(Code code, String message) {
        super(Objects.requireNonNull(code, "code") + ": " + message);
        this.code = code;
    }

    public DecodeException(Code code, String message, Throwable cause) {
        super(Objects.requireNonNull(code, "code") + ": " + message, cause);
        this.code = code;
    }

    /** The machine-readable reason; never null. */
    public Code code() {
        return code;
    }
}
