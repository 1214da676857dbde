package e3stream.pipeline.testutils;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Predicate;

import com.fasterxml.jackson.databind.JsonNode;
import e3stream.pipeline.embedded.EmbeddedKafka;
import e3stream.pipeline.internal.events.Json;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/** Plain Kafka clients for tests: produce records, read topics as a read_committed consumer. */
public final class KafkaIO {

    private KafkaIO() {
    }

    /** One record read back: topic, key, parsed JSON value, and the raw value. */
    public record Read(String topic, String key, JsonNode json, byte[] value) { }

    /** {@link EmbeddedKafka#producer}: one request in flight, so no first batch is lost. */
    public static KafkaProducer<byte[], byte[]> producer(String servers) {
        return EmbeddedKafka.producer(servers);
    }

    /** Sends asynchronously; a failed send makes the next {@link #flush} throw. */
    public static void send(KafkaProducer<byte[], byte[]> producer, String topic, String key, byte[] value, long timestamp) {
        send(producer, topic, null, key, value, timestamp);
    }

    /** As {@link #send(KafkaProducer, String, String, byte[], long)}, to the given partition (null: by key). */
    public static void send(KafkaProducer<byte[], byte[]> producer, String topic, Integer partition, String key,
                            byte[] value, long timestamp) {
        producer.send(new ProducerRecord<>(topic, partition, timestamp, key == null ? null : key.getBytes(StandardCharsets.UTF_8), value),
                (metadata, error) -> {
                    if (error != null) {
                        SEND_FAILURE.compareAndSet(null, new IllegalStateException("sending to " + topic + " failed", error));
                    }
                });
    }

    /** Flushes and throws if any {@link #send} of this JVM failed: a test never waits for records that were lost. */
    public static void flush(KafkaProducer<byte[], byte[]> producer) {
        producer.flush();
        IllegalStateException failure = SEND_FAILURE.getAndSet(null);
        if (failure != null) {
            throw failure;
        }
    }

    private static final AtomicReference<IllegalStateException> SEND_FAILURE = new AtomicReference<>();

    /**
     * Reads the topics from the beginning as a read_committed consumer until {@code done} holds for what was read
     * (then reads for {@code settle} more, to see duplicates) or {@code timeout} passes.
     */
    public static List<Read> readUntil(String servers, List<String> topics, Predicate<List<Read>> done,
                                       Duration timeout, Duration settle) {
        Properties props = new Properties();
        props.put("bootstrap.servers", servers);
        props.put("group.id", "test-" + UUID.randomUUID());
        props.put("auto.offset.reset", "earliest");
        props.put("isolation.level", "read_committed");
        props.put("enable.auto.commit", "false");
        props.put("key.deserializer", ByteArrayDeserializer.class.getName());
        props.put("value.deserializer", ByteArrayDeserializer.class.getName());
        List<Read> out = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(props)) {
            consumer.subscribe(topics);
            long deadline = System.nanoTime() + timeout.toNanos();
            long settleUntil = Long.MAX_VALUE;
            while (System.nanoTime() < Math.min(deadline, settleUntil)) {
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                    JsonNode json;
                    try {
                        json = Json.MAPPER.readTree(r.value());
                    } catch (Exception e) {
                        throw new AssertionError("output record on " + r.topic() + " is not JSON", e);
                    }
                    out.add(new Read(r.topic(), r.key() == null ? null : new String(r.key(), StandardCharsets.UTF_8),
                            json, r.value()));
                }
                if (settleUntil == Long.MAX_VALUE && done.test(out)) {
                    settleUntil = System.nanoTime() + settle.toNanos();
                }
            }
        }
        return out;
    }

    public static Map<String, String> map(String... kv) {
        java.util.LinkedHashMap<String, String> m = new java.util.LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            m.put(kv[i], kv[i + 1]);
        }
        return m;
    }
}
