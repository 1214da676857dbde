package e3stream.pipeline.internal.events;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import java.util.Objects;

import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.flink.annotation.Internal;

/**
 * Builds dead-letter records (schemas/dead-letter.schema.json): error code and message, source coordinates, and the
 * original value, so that a record that cannot be processed is kept instead of dropped.
 *
 * <p>A dead letter always fits the producer: its key, value and Kafka's record framing stay within the
 * {@code max.request.size} it is built for, whatever the input. The whole original is kept when the complete dead
 * letter fits; otherwise {@code original} holds as many of its first bytes as fit and {@code truncated} is
 * {@code true}. Either way {@code original_length} and {@code original_sha256} describe the whole original, so a
 * truncated one can still be matched with the record on the input topic (found by {@code source}). The id, code,
 * message and source topic are user-controlled or may quote user text: each is capped at {@value #MAX_TEXT_CHARS}
 * characters, ending in an ellipsis when cut. The record timestamp is the input's Kafka timestamp, or the time the job
 * read the record when that is negative (no timestamp), so the producer never refuses it.
 *
 * <pre>{@code
 * int maxRequestSize = 1024 * 1024; // the sink producer's max.request.size
 * OutputRecord dlq = DeadLetters.of("images-dlq", raw, id, "CORRUPT_IMAGE", e.getMessage(), maxRequestSize);
 * }</pre>
 *
 * <p>Stateless and thread-safe.
 */
@Internal
public final class DeadLetters {

    /** Kafka's default {@code max.request.size} (1 MiB), the limit of {@link #of(String, RawRecord, String, String, String)}. */
    public static final int KAFKA_DEFAULT_MAX_REQUEST_SIZE = 1024 * 1024;

    /**
     * Bytes of {@code max.request.size} left for what Kafka adds to key and value: the producer refuses a record whose
     * upper-bound size (KafkaProducer's {@code estimateSizeInBytesUpperBound}: a 61-byte batch header, at most 21 bytes
     * of record framing and the key and value lengths as varints, plus headers) exceeds {@code max.request.size}. 1 KiB
     * covers that framing about ten times over, leaving room for headers a serializer might add.
     */
    public static final int RECORD_OVERHEAD_MARGIN_BYTES = 1024;

    /** Longest id, error code, error message and source topic kept in a dead letter, in characters. */
    public static final int MAX_TEXT_CHARS = 1024;

    /**
     * Smallest accepted {@code max.request.size}: the margin, the longest key (3 bytes per character) and the JSON of
     * four capped texts (6 bytes per character when every one is escaped as {@code \\uXXXX}) with the other fields
     * still leave room; real producers allow 1 MiB.
     */
    public static final int MIN_MAX_REQUEST_SIZE = 32 * 1024;

    private static final String ELLIPSIS = "\u2026";

    private DeadLetters() {
    }

    /** A dead letter that fits Kafka's default {@code max.request.size} ({@value #KAFKA_DEFAULT_MAX_REQUEST_SIZE} bytes). */
    public static OutputRecord of(String topic, RawRecord raw, String id, String code, String message) {
        return of(topic, raw, id, code, message, KAFKA_DEFAULT_MAX_REQUEST_SIZE);
    }

    /**
     * A dead letter for {@code raw} whose key and value, with {@value #RECORD_OVERHEAD_MARGIN_BYTES} bytes for Kafka's
     * framing, fit {@code maxRequestSize}.
     *
     * @param topic the dead-letter topic
     * @param raw the record as read; a null value (a tombstone) is kept as an empty original
     * @param id the event id when it was readable, else null (the key is then topic-partition-offset)
     * @param code the machine-readable error code
     * @param message what was wrong; null is written as an empty message
     * @param maxRequestSize the {@code max.request.size} of the producer that writes the dead letter, in bytes
     * @throws IllegalArgumentException if {@code maxRequestSize} is below {@value #MIN_MAX_REQUEST_SIZE}
     */
    public static OutputRecord of(String topic, RawRecord raw, String id, String code, String message,
            int maxRequestSize) {
        Objects.requireNonNull(topic, "topic");
        Objects.requireNonNull(raw, "raw");
        Objects.requireNonNull(code, "code");
        checkMaxRequestSize(maxRequestSize);
        String cappedId = id == null ? null : cap(id);
        String key = cappedId != null ? cappedId : cap(raw.topic + "-" + raw.partition + "-" + raw.offset);
        int maxValueBytes = maxRequestSize - RECORD_OVERHEAD_MARGIN_BYTES - key.getBytes(StandardCharsets.UTF_8).length;

        byte[] original = raw.value == null ? new byte[0] : raw.value;
        ObjectNode node = Json.object();
        if (cappedId != null) {
            node.put("id", cappedId);
        }
        ObjectNode error = node.putObject("error");
        error.put("code", cap(code));
        error.put("message", message == null ? "" : cap(message));
        ObjectNode source = node.putObject("source");
        source.put("topic", raw.topic == null ? "" : cap(raw.topic));
        source.put("partition", raw.partition);
        source.put("offset", raw.offset);
        node.put("original", "");
        node.put("original_length", original.length);
        node.put("original_sha256", sha256(original));
        node.put("truncated", false);

        // Base64 and the JSON around it are ASCII without escapes, so the size of the record with n original bytes is
        // the size with none plus the base64 length: no need to encode what will not fit.
        long complete = Json.bytes(node).length + base64Length(original.length);
        byte[] value;
        if (complete <= maxValueBytes) {
            node.put("original", Base64.getEncoder().encodeToString(original));
            value = Json.bytes(node);
        } else {
            node.put("truncated", true);
            int room = maxValueBytes - Json.bytes(node).length;
            int kept = Math.max(0, room / 4 * 3); // whole base64 quanta: 3 bytes take 4 characters, no padding
            node.put("original", Base64.getEncoder().encodeToString(Arrays.copyOf(original, kept)));
            value = Json.bytes(node);
        }
        if (value.length > maxValueBytes) {
            // cannot happen: the texts are capped and maxRequestSize is at least MIN_MAX_REQUEST_SIZE
            throw new IllegalStateException("dead letter of " + value.length + " bytes exceeds its limit of "
                    + maxValueBytes + " bytes");
        }
        return new OutputRecord(topic, key, value, timestamp(raw));
    }

    /**
     * Checks a producer's {@code max.request.size} for dead letters; call it at start-up, so that a setting too small
     * fails the job once instead of every dead letter.
     *
     * @return {@code maxRequestSize}
     * @throws IllegalArgumentException if it is below {@value #MIN_MAX_REQUEST_SIZE}
     */
    public static int checkMaxRequestSize(int maxRequestSize) {
        if (maxRequestSize < MIN_MAX_REQUEST_SIZE) {
            throw new IllegalArgumentException("maxRequestSize (the producer's max.request.size) must be at least "
                    + MIN_MAX_REQUEST_SIZE + " bytes to hold a dead letter, got " + maxRequestSize);
        }
        return maxRequestSize;
    }

    /** The input's Kafka timestamp; when negative (none), the time the job read it, or now. */
    static long timestamp(RawRecord raw) {
        if (raw.timestamp >= 0) {
            return raw.timestamp;
        }
        return raw.receivedAtMs > 0 ? raw.receivedAtMs : System.currentTimeMillis();
    }

    /** {@code text} cut to {@value #MAX_TEXT_CHARS} characters, the last an ellipsis, never splitting a surrogate pair. */
    static String cap(String text) {
        if (text.length() <= MAX_TEXT_CHARS) {
            return text;
        }
        int end = MAX_TEXT_CHARS - ELLIPSIS.length();
        if (Character.isHighSurrogate(text.charAt(end - 1)) && Character.isLowSurrogate(text.charAt(end))) {
            end--;
        }
        return text.substring(0, end) + ELLIPSIS;
    }

    private static long base64Length(long bytes) {
        return (bytes + 2) / 3 * 4;
    }

    private static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required of every Java platform", e);
        }
    }
}
