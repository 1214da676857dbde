package e3stream.pipeline.internal.events;

import org.apache.flink.annotation.Internal;

/**
 * A validated image event (docs/design.md, "Events and snapshots") before decoding. A Flink POJO; treat as immutable.
 */
@Internal
public class ImageEvent {
    public String id;
    /** Event time (ms): the event's {@code timestamp}, else the Kafka record timestamp. */
    public long timestamp;
    public String source;
    public String contentType;
    /** Raw images only; null otherwise. */
    public Integer width;
    public Integer height;
    public Integer channels;
    public byte[] image;
    public long receivedAtMs;

    public ImageEvent() {
    }
}
