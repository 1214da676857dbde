package e3stream.pipeline.internal.events;

import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import org.apache.flink.annotation.Internal;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one guard every output record passes on its way to Kafka ({@link OutputRecordSerializer}): it makes the record
 * fit its topic's {@link OutputLimits}, so that no record's content can fail the sink's transaction.
 *
 * <ul>
 *   <li>A record within its topic's size bound is written as it is. A larger one is cut by what it is, and its JSON
 *       stays valid for its schema, with the cut marked:
 *     <ul>
 *       <li>a dead letter keeps the first bytes of {@code original} that fit, {@code truncated: true}
 *           ({@code original_length} and {@code original_sha256} still describe the whole original);</li>
 *       <li>a calibration or drift snapshot drops the least busy named sources (never {@code other}), then adds
 *           {@code truncated: true} and {@code sources_omitted}: how many it dropped;</li>
 *       <li>a control answer (and a snapshot still too large) has its longest texts cut, each ending in an ellipsis,
 *           and gets {@code truncated: true};</li>
 *       <li>a prediction, review or shadow record is never cut.</li>
 *     </ul></li>
 *   <li>A record that still does not fit goes to the dead-letter topic instead: code {@value #OUTPUT_TOO_LARGE},
 *       {@code id} its key (a prediction's event id), {@code source} the topic it did not fit, partition and offset
 *       -1, {@code original} its first bytes.</li>
 *   <li>Its timestamp is the one {@link OutputLimits#timestamp} allows.</li>
 * </ul>
 *
 * <p>Thread-safe; serializable.
 */
@Internal
public final class OutputFit implements Serializable {

    private static final long serialVersionUID = 1L;
    private static final Logger LOG = LoggerFactory.getLogger(OutputFit.class);

    /** Dead-letter code of an output record that cannot be made to fit its topic. */
    public static final String OUTPUT_TOO_LARGE = "OUTPUT_TOO_LARGE";

    /** What a record on a topic is, which decides how it may be cut. */
    public enum Kind {
        /** predictions, review, shadow: never cut. */
        DECISION,
        DEAD_LETTER,
        /** calibration, drift and shadow-calibration records. */
        SNAPSHOT,
        CONTROL_RESULT
    }

    /** Texts of at most this many characters are never cut (ids, hashes, enum values, short names). */
    private static final int MIN_TEXT_CHARS = 128;
    private static final String ELLIPSIS = "\u2026";

    private final OutputLimits limits;
    private final LinkedHashMap<String, Kind> kinds;
    private final String deadLetterTopic;

    /**
     * @param limits          the output topics' limits
     * @param kinds           what each output topic holds; a topic named for two kinds keeps the first
     * @param deadLetterTopic where records that cannot be made to fit go
     */
    public OutputFit(OutputLimits limits, Map<String, Kind> kinds, String deadLetterTopic) {
        this.limits = limits;
        this.kinds = new LinkedHashMap<>(kinds);
        this.deadLetterTopic = deadLetterTopic;
    }

    /** The topics' kinds, from the job's topic names ({@code shadow} and {@code controlResults} may be null). */
    public static Map<String, Kind> kinds(String predictions, String review, String deadLetters, String calibration,
                                          String shadow, String controlResults) {
        Map<String, Kind> kinds = new LinkedHashMap<>();
        kinds.putIfAbsent(deadLetters, Kind.DEAD_LETTER);
        kinds.putIfAbsent(predictions, Kind.DECISION);
        kinds.putIfAbsent(review, Kind.DECISION);
        if (shadow != null) {
            kinds.putIfAbsent(shadow, Kind.DECISION);
        }
        kinds.putIfAbsent(calibration, Kind.SNAPSHOT);
        if (controlResults != null) {
            kinds.putIfAbsent(controlResults, Kind.CONTROL_RESULT);
        }
        return kinds;
    }

    public OutputLimits limits() {
        return limits;
    }

    /** {@code record} made to fit its topic at {@code nowMs}: as it is, cut, or as a dead letter. */
    public OutputRecord fit(OutputRecord record, long nowMs) {
        OutputRecord out = record;
        int bound = limits.maxRecordBytes(record.topic);
        if (size(record) > bound) {
            out = cut(record, bound);
            if (out == null || size(out) > bound) {
                out = deadLetter(record, nowMs);
            } else {
                LOG.warn("{} record {} of {} bytes cut to {} bytes to fit the topic's limit of {} bytes",
                        record.topic, abbreviate(record.key), size(record), size(out), bound);
            }
        }
        long timestamp = limits.timestamp(out.topic, out.timestamp, nowMs);
        if (out == record && timestamp == record.timestamp) {
            return record;
        }
        return copy(out.topic, out.key, out.value, timestamp);
    }

    private OutputRecord cut(OutputRecord record, int bound) {
        Kind kind = kinds.getOrDefault(record.topic, Kind.DECISION);
        if (kind == Kind.DECISION) {
            return null;
        }
        ObjectNode node;
        try {
            JsonNode parsed = Json.MAPPER.readTree(record.value);
            if (!(parsed instanceof ObjectNode object)) {
                return null;
            }
            node = object;
        } catch (Exception e) {
            return null;
        }
        byte[] key = record.key;
        if (key != null && key.length > 3 * DeadLetters.MAX_TEXT_CHARS) {
            key = DeadLetters.cap(new String(key, StandardCharsets.UTF_8)).getBytes(StandardCharsets.UTF_8);
        }
        int room = bound - (key == null ? 0 : key.length);
        byte[] value = switch (kind) {
            case DEAD_LETTER -> cutOriginal(node, room);
            case SNAPSHOT -> {
                byte[] v = dropSources(node, room);
                yield v.length <= room ? v : cutTexts(node, room);
            }
            default -> cutTexts(node, room);
        };
        return copy(record.topic, key, value, record.timestamp);
    }

    /** A dead letter with as many of the first bytes of its original as fit {@code room}. */
    private static byte[] cutOriginal(ObjectNode node, int room) {
        JsonNode original = node.get("original");
        if (original == null || !original.isTextual()) {
            return cutTexts(node, room);
        }
        node.put("original", "");
        node.put("truncated", true);
        int left = room - Json.bytes(node).length;
        // base64 is ASCII without escapes: whole quanta of 4 characters decode to the original's first bytes
        int keep = Math.max(0, Math.min(original.asText().length(), left) / 4 * 4);
        node.put("original", original.asText().substring(0, keep));
        byte[] value = Json.bytes(node);
        if (value.length <= room) {
            return value;
        }
        node.put("original", ""); // never cut mid-quantum by the texts' cut below: an empty prefix stays base64
        return cutTexts(node, room);
    }

    /** A snapshot without its least busy named sources, as many as needed to fit {@code room}. */
    private static byte[] dropSources(ObjectNode node, int room) {
        JsonNode sources = node.get("sources");
        if (!(sources instanceof ObjectNode bySource)) {
            return Json.bytes(node);
        }
        node.put("truncated", true);
        node.put("sources_omitted", 0);
        long size = Json.bytes(node).length;
        // Sources come busiest first, then "other": drop from the end, keeping "other". Each entry is its name as
        // a JSON string, a colon, its figures and a comma.
        List<String> named = new ArrayList<>();
        for (Iterator<String> names = bySource.fieldNames(); names.hasNext(); ) {
            String name = names.next();
            if (!"other".equals(name)) {
                named.add(name);
            }
        }
        int omitted = 0;
        for (int i = named.size() - 1; i >= 0 && size > room; i--) {
            String name = named.get(i);
            size -= Json.bytes(TextNode.valueOf(name)).length + 2 + Json.bytes(bySource.get(name)).length;
            bySource.remove(name);
            omitted++;
        }
        node.put("sources_omitted", omitted);
        byte[] value = Json.bytes(node);
        while (value.length > room && bySource.size() > (bySource.has("other") ? 1 : 0)) {
            // the estimate is exact for Jackson's compact output; this only guards it
            String last = null;
            for (Iterator<String> names = bySource.fieldNames(); names.hasNext(); ) {
                String name = names.next();
                if (!"other".equals(name)) {
                    last = name;
                }
            }
            bySource.remove(last);
            node.put("sources_omitted", ++omitted);
            value = Json.bytes(node);
        }
        return value;
    }

    /**
     * {@code node} with its texts longer than {@value #MIN_TEXT_CHARS} characters cut, each to the same cap (half
     * of {@code room} in characters, halved until it fits, down to {@value #MIN_TEXT_CHARS}); marked
     * {@code truncated}.
     */
    private static byte[] cutTexts(ObjectNode node, int room) {
        node.put("truncated", true);
        byte[] value = Json.bytes(node);
        for (int cap = room / 2; value.length > room && cap > MIN_TEXT_CHARS / 2; cap /= 2) {
            capTexts(node, Math.max(cap, MIN_TEXT_CHARS));
            value = Json.bytes(node);
        }
        return value;
    }

    private static void capTexts(JsonNode node, int cap) {
        if (node instanceof ObjectNode object) {
            for (Iterator<Map.Entry<String, JsonNode>> fields = object.fields(); fields.hasNext(); ) {
                Map.Entry<String, JsonNode> field = fields.next();
                if (field.getValue().isTextual()) {
                    field.setValue(TextNode.valueOf(cap(field.getValue().asText(), cap)));
                } else {
                    capTexts(field.getValue(), cap);
                }
            }
        } else if (node != null && node.isArray()) {
            for (int i = 0; i < node.size(); i++) {
                JsonNode item = node.get(i);
                if (item.isTextual()) {
                    ((com.fasterxml.jackson.databind.node.ArrayNode) node).set(i,
                            TextNode.valueOf(cap(item.asText(), cap)));
                } else {
                    capTexts(item, cap);
                }
            }
        }
    }

    /** {@code text} cut to {@code cap} characters, the last an ellipsis, never splitting a surrogate pair. */
    private static String cap(String text, int cap) {
        if (text.length() <= cap) {
            return text;
        }
        int end = cap - ELLIPSIS.length();
        if (Character.isHighSurrogate(text.charAt(end - 1))) {
            end--;
        }
        return text.substring(0, end) + ELLIPSIS;
    }

    private OutputRecord deadLetter(OutputRecord record, long nowMs) {
        String key = record.key == null ? null : new String(record.key, StandardCharsets.UTF_8);
        String message = "the record for topic " + record.topic + " has " + size(record) + " bytes (key and value), "
                + "more than the " + limits.maxRecordBytes(record.topic) + " bytes that topic takes (the smaller of "
                + "its max.message.bytes, " + limits.topic(record.topic).maxMessageBytes() + ", and the producer's "
                + "max.request.size, " + limits.maxRequestSize() + ", less " + OutputLimits.RECORD_OVERHEAD_MARGIN_BYTES
                + " bytes of Kafka framing)";
        LOG.warn("{}: dead-lettered as {} ({})", abbreviate(record.key), OUTPUT_TOO_LARGE, message);
        RawRecord raw = new RawRecord(record.topic, -1, -1, record.timestamp, nowMs, record.key, record.value);
        return DeadLetters.of(deadLetterTopic, raw, key, OUTPUT_TOO_LARGE, message,
                limits.recordLimit(deadLetterTopic));
    }

    private static OutputRecord copy(String topic, byte[] key, byte[] value, long timestamp) {
        OutputRecord r = new OutputRecord();
        r.topic = topic;
        r.key = key;
        r.value = value;
        r.timestamp = timestamp;
        return r;
    }

    private static long size(OutputRecord r) {
        return (long) (r.key == null ? 0 : r.key.length) + (r.value == null ? 0 : r.value.length);
    }

    private static String abbreviate(byte[] key) {
        return key == null ? "(no key)" : cap(new String(key, StandardCharsets.UTF_8), MIN_TEXT_CHARS);
    }
}
