package e3stream.pipeline.internal.events;

import org.apache.flink.annotation.Internal;

/**
 * A Kafka record exactly as read, with where it came from, so that a record that cannot be parsed still reaches the
 * dead-letter topic with its original bytes and coordinates. A Flink POJO; treat as immutable.
 */
@Internal
public class RawRecord {
    public String topic;
    public int partition;
    public long offset;
    /** Kafka record timestamp (ms). */
    public long timestamp;
    /** Wall-clock time (ms) the job read the record; start of {@code latency_ms}. */
    public long receivedAtMs;
    public byte[] key;
    public byte[] value;

    public RawRecord() {
    }

    public RawRecord(String topic, int partition, long offset, long timestamp, long receivedAtMs, byte[] key, byte[] value) {
        this.topic = topic;
        this.partition = partition;
        this.offset = offset;
        this.timestamp = timestamp;
        this.receivedAtMs = receivedAtMs;
        this.key = key;
        this.value = value;
    }
}
