package e3stream.pipeline.internal.events;

import org.apache.flink.annotation.Internal;

/**
 * A label event (docs/design.md, "Events and snapshots"): the true class of an image, known later. {@code label}
 * is the class index; names are resolved against the bundle's classes by {@link LabelEventParser}. A Flink POJO.
 */
@Internal
public class LabelEvent {
    public String id;
    public int label;
    public long timestamp;

    public LabelEvent() {
    }

    public LabelEvent(String id, int label, long timestamp) {
        this.id = id;
        this.label = label;
        this.timestamp = timestamp;
    }
}
