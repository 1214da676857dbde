package e3stream.pipeline.internal.events;

import java.io.Serializable;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

import org.apache.flink.annotation.Internal;

/**
 * What the brokers accept on each output topic, read at start-up ({@code TopicCheck.outputLimits}), and the bounds
 * the job derives from it: the largest record (key plus value) it writes to a topic, and the timestamp it gives a
 * record there.
 *
 * <p>Size: a record's key and value together stay within {@link #maxRecordBytes}: the smaller of the producer's
 * {@code max.request.size} and the topic's {@code max.message.bytes}, less {@value #RECORD_OVERHEAD_MARGIN_BYTES}
 * bytes for Kafka's framing (batch header, record header, headers).
 *
 * <p>Timestamps: a record keeps its own timestamp (the event time) when the topic accepts it with
 * {@value #TIMESTAMP_MARGIN_MS} ms to spare ({@code message.timestamp.before.max.ms} into the past,
 * {@code message.timestamp.after.max.ms} into the future, measured when the record is handed to the producer: the
 * spare covers the time until the broker appends it); otherwise it gets the time it is handed to the producer. The
 * event time stays in the record's JSON either way. A topic with {@code message.timestamp.type=LogAppendTime} takes
 * any timestamp (the broker replaces it).
 *
 * <p>Immutable and serializable (it travels with the job graph to the sink).
 */
@Internal
public final class OutputLimits implements Serializable {

    private static final long serialVersionUID = 1L;

    /** Bytes of the limit left for what Kafka adds to key and value ({@link DeadLetters#RECORD_OVERHEAD_MARGIN_BYTES}). */
    public static final int RECORD_OVERHEAD_MARGIN_BYTES = DeadLetters.RECORD_OVERHEAD_MARGIN_BYTES;

    /**
     * Smallest record limit (the smaller of {@code max.request.size} and a topic's {@code max.message.bytes}) the job
     * accepts for an output topic: the largest record it writes without cutting anything (a dead letter with its
     * capped texts, a prediction of up to about a thousand classes) fits it.
     */
    public static final int MIN_RECORD_LIMIT = DeadLetters.MIN_MAX_REQUEST_SIZE;

    /**
     * How much of a topic's timestamp bounds the job leaves unused: a record waits in the producer at most its
     * {@code delivery.timeout.ms} (2 min by default) before the broker appends it, and the broker measures its
     * timestamp then.
     */
    public static final long TIMESTAMP_MARGIN_MS = 5 * 60_000L;

    /** Kafka's default {@code max.message.bytes} (1 MiB plus 12 bytes of legacy log overhead). */
    public static final int KAFKA_DEFAULT_MAX_MESSAGE_BYTES = 1024 * 1024 + 12;

    /** Kafka's default {@code message.timestamp.after.max.ms} (1 h since Kafka 4.0). */
    public static final long KAFKA_DEFAULT_AFTER_MAX_MS = 3_600_000L;

    /**
     * One topic's settings as the brokers report them.
     *
     * @param maxMessageBytes {@code max.message.bytes}
     * @param beforeMaxMs     {@code message.timestamp.before.max.ms} ({@link Long#MAX_VALUE}: no bound)
     * @param afterMaxMs      {@code message.timestamp.after.max.ms} ({@link Long#MAX_VALUE}: no bound)
     * @param logAppendTime   {@code message.timestamp.type} is {@code LogAppendTime}
     */
    public record Topic(int maxMessageBytes, long beforeMaxMs, long afterMaxMs, boolean logAppendTime)
            implements Serializable {

        /** Kafka's defaults (what a broker without settings of its own reports). */
        public static Topic kafkaDefaults() {
            return new Topic(KAFKA_DEFAULT_MAX_MESSAGE_BYTES, Long.MAX_VALUE, KAFKA_DEFAULT_AFTER_MAX_MS, false);
        }
    }

    private final int maxRequestSize;
    private final LinkedHashMap<String, Topic> topics;

    /**
     * @param maxRequestSize the sink producer's {@code max.request.size}
     * @param topics         every output topic's settings
     */
    public OutputLimits(int maxRequestSize, Map<String, Topic> topics) {
        this.maxRequestSize = maxRequestSize;
        this.topics = new LinkedHashMap<>(topics);
    }

    /** Kafka's defaults for each of {@code topics}: the bounds when the job does not ask the brokers. */
    public static OutputLimits assumed(int maxRequestSize, List<String> topics) {
        Map<String, Topic> all = new LinkedHashMap<>();
        for (String topic : topics) {
            all.put(topic, Topic.kafkaDefaults());
        }
        return new OutputLimits(maxRequestSize, all);
    }

    /** The producer's {@code max.request.size}. */
    public int maxRequestSize() {
        return maxRequestSize;
    }

    /** The settings of {@code topic}; Kafka's defaults for a topic not read. */
    public Topic topic(String topic) {
        Topic t = topics.get(topic);
        return t != null ? t : Topic.kafkaDefaults();
    }

    /** The smaller of {@code max.request.size} and the topic's {@code max.message.bytes}. */
    public int recordLimit(String topic) {
        return Math.min(maxRequestSize, topic(topic).maxMessageBytes());
    }

    /** The most bytes the key and value of a record on {@code topic} may have together. */
    public int maxRecordBytes(String topic) {
        return recordLimit(topic) - RECORD_OVERHEAD_MARGIN_BYTES;
    }

    /**
     * The timestamp to write a record of timestamp {@code timestamp} with to {@code topic} at {@code nowMs}: its own
     * when the topic accepts it with {@value #TIMESTAMP_MARGIN_MS} ms to spare, else {@code nowMs}.
     */
    public long timestamp(String topic, long timestamp, long nowMs) {
        if (timestamp < 0) {
            return nowMs; // the producer refuses negative timestamps
        }
        Topic t = topic(topic);
        if (t.logAppendTime()) {
            return timestamp;
        }
        long age = nowMs - timestamp; // both are epoch ms, no overflow
        boolean tooOld = age > 0 && age > t.beforeMaxMs() - TIMESTAMP_MARGIN_MS;
        boolean tooNew = age < 0 && -age > t.afterMaxMs() - TIMESTAMP_MARGIN_MS;
        return tooOld || tooNew ? nowMs : timestamp;
    }

    /**
     * Checks that the job can write to every topic.
     *
     * @throws IllegalArgumentException naming the setting and topic when a record limit is below
     *                                  {@value #MIN_RECORD_LIMIT} bytes or a topic refuses records older than
     *                                  {@value #TIMESTAMP_MARGIN_MS} ms (so that even the time a record is written
     *                                  may be refused when the broker appends it)
     */
    public void check() {
        for (Map.Entry<String, Topic> e : topics.entrySet()) {
            Topic t = e.getValue();
            if (t.maxMessageBytes() < MIN_RECORD_LIMIT) {
                throw new IllegalArgumentException("max.message.bytes of topic " + e.getKey() + " is "
                        + t.maxMessageBytes() + " bytes: the job needs at least " + MIN_RECORD_LIMIT + " bytes on each "
                        + "output topic (its largest uncut records, dead letters with their texts, must fit); raise "
                        + "it (kafka-configs.sh --alter --entity-type topics --entity-name " + e.getKey()
                        + " --add-config max.message.bytes=...) or name another topic");
            }
            if (!t.logAppendTime() && t.beforeMaxMs() <= TIMESTAMP_MARGIN_MS) {
                throw new IllegalArgumentException("message.timestamp.before.max.ms of topic " + e.getKey() + " is "
                        + t.beforeMaxMs() + " ms: the job needs more than " + TIMESTAMP_MARGIN_MS + " ms (a record "
                        + "may wait that long in the producer before the broker appends it); raise it or set "
                        + "message.timestamp.type=LogAppendTime on the topic");
            }
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof OutputLimits other && maxRequestSize == other.maxRequestSize
                && topics.equals(other.topics);
    }

    @Override
    public int hashCode() {
        return Objects.hash(maxRequestSize, topics);
    }

    @Override
    public String toString() {
        return "OutputLimits{max.request.size=" + maxRequestSize + ", topics=" + topics + "}";
    }
}
