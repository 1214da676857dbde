package e3stream.pipeline.internal.inference;

import org.apache.flink.annotation.Internal;

/** An image decoded into the model's normalised CHW tensor, waiting for inference. A Flink POJO. */
@Internal
public class DecodedImage {
    public String id;
    /** Event time (ms). */
    public long timestamp;
    public long receivedAtMs;
    public float[] tensor;
    /** The event's source as the statistics name it ({@code TopSources.name}: "other" when it had none). */
    public String source;
    /** The models that score it, stamped by the model selector; null without {@code model.control}. */
    public ModelChoice choice;

    public DecodedImage() {
    }

    public DecodedImage(String id, long timestamp, long receivedAtMs, float[] tensor, String source) {
        this.id = id;
        this.timestamp = timestamp;
        this.receivedAtMs = receivedAtMs;
        this.tensor = tensor;
        this.source = source;
    }
}
