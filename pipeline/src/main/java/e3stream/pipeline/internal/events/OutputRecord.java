package e3stream.pipeline.internal.events;

import java.nio.charset.StandardCharsets;
import org.apache.flink.annotation.Internal;

/** One record for an output topic: the single type every output stream is turned into before the Kafka sink. */
@Internal
public class OutputRecord {
    public String topic;
    public byte[] key;
    public byte[] value;
    public long timestamp;

    public OutputRecord() {
    }

    public OutputRecord(String topic, String key, byte[] value, long timestamp) {
        this.topic = topic;
        this.key = key == null ? null : key.getBytes(StandardCharsets.UTF_8);
        this.value = value;
        this.timestamp = timestamp;
    }
}
