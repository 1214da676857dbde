package e3stream.pipeline.internal.events;

import org.apache.flink.annotation.Internal;

/**
 * An input event that cannot be processed; {@link #code()} is the machine-readable error code written to the
 * dead-letter topic, the message says what was wrong and with which value.
 */
@Internal
public final class EventException extends Exception {

    private static final long serialVersionUID = 1L;

    /** Not valid UTF-8 JSON, or not a JSON object. */
    public static final String INVALID_JSON = "INVALID_JSON";
    /** A required field is absent or null. */
    public static final String MISSING_FIELD = "MISSING_FIELD";
    /** A field has the wrong type or an out-of-range value. */
    public static final String INVALID_FIELD = "INVALID_FIELD";
    /** The {@code image} field is not valid base64. */
    public static final String INVALID_BASE64 = "INVALID_BASE64";
    /** The record is larger than {@code images.max-record-bytes}; not parsed. */
    public static final String RECORD_TOO_LARGE = "RECORD_TOO_LARGE";
    /** The event's {@code timestamp} is outside the accepted window around the time it was read ({@link TimestampWindow}). */
    public static final String TIMESTAMP_OUT_OF_RANGE = "TIMESTAMP_OUT_OF_RANGE";

    private final String code;
    private final String id;

    public EventException(String code, String message, String id) {
        super(message);
        this.code = code;
        this.id = id;
    }

    public String code() {
        return code;
    }

    /** The event id when it could be read, else {@code null}. */
    public String id() {
        return id;
    }
}
