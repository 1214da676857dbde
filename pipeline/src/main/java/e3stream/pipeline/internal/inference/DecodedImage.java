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

    public DecodedImage() {
    }

    public DecodedImage(String id, long timestamp, long receivedAtMs, float[] tensor) {
        this.id = id;
        this.timestamp = timestamp;
        this.receivedAtMs = receivedAtMs;
        this.tensor = tensor;
    }
}
