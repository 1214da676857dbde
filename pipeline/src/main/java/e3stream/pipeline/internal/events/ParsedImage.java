package e3stream.pipeline.internal.events;

import org.apache.flink.annotation.Internal;

/**
 * An image record as the source read it, parsed once: either a valid {@link #event} or the reason it is not one
 * ({@link #errorCode}, {@link #errorMessage}, and {@link #errorId} when the id could be read) with the record itself
 * for the dead-letter topic. A Flink POJO; treat as immutable.
 */
@Internal
public class ParsedImage {
    /** The record as read; its value is dropped once parsed into a valid event, unless decoding may need it. */
    public RawRecord raw;
    /** The valid event, or null. */
    public ImageEvent event;
    public String errorCode;
    public String errorMessage;
    public String errorId;

    public ParsedImage() {
    }

    public static ParsedImage valid(RawRecord raw, ImageEvent event) {
        ParsedImage p = new ParsedImage();
        p.raw = raw;
        p.event = event;
        return p;
    }

    public static ParsedImage invalid(RawRecord raw, EventException e) {
        ParsedImage p = new ParsedImage();
        p.raw = raw;
        p.errorCode = e.code();
        p.errorMessage = e.getMessage();
        p.errorId = e.id();
        return p;
    }

    /** Event time: the valid event's timestamp; for an invalid record the Kafka timestamp (it is dead-lettered). */
    public long eventTime() {
        return event != null ? event.timestamp : raw.timestamp;
    }
}
