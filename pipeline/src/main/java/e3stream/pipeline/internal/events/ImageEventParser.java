package e3stream.pipeline.internal.events;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Base64;

import com.fasterxml.jackson.databind.JsonNode;
import org.apache.flink.annotation.Internal;

/**
 * Validates the JSON of an image event (schemas/image-event.schema.json) and turns it into an {@link ImageEvent}.
 * Checks the envelope only; whether the content type is supported and the image decodes is the decoder's business
 * ({@code e3stream.runtime.decode.ImageDecoder}). Stateless and thread-safe.
 */
@Internal
public final class ImageEventParser {

    /** Longest accepted event id (characters). */
    public static final int MAX_ID_LENGTH = 128;

    private ImageEventParser() {
    }

    /**
     * Parses and validates one image record; its event time is its {@code timestamp}, else the Kafka record
     * timestamp, and must lie in {@code window} around the time the record was read.
     */
    public static ImageEvent parse(RawRecord raw, TimestampWindow window) throws EventException {
        JsonNode root = readObject(raw.value);
        String id = requireId(root);
        ImageEvent event = new ImageEvent();
        event.id = id;
        event.receivedAtMs = raw.receivedAtMs;
        event.timestamp = optionalTimestamp(root, id, raw.timestamp);
        String refused = window.refusal(event.timestamp, raw.receivedAtMs);
        if (refused != null) {
            throw new EventException(EventException.TIMESTAMP_OUT_OF_RANGE, refused, id);
        }
        JsonNode source = root.get("source");
        if (source != null && !source.isNull()) {
            if (!source.isTextual()) {
                throw new EventException(EventException.INVALID_FIELD, "field 'source' must be a string, found "
                        + source.getNodeType(), id);
            }
            event.source = source.asText();
        }
        event.contentType = requireString(root, "content_type", id);
        // Presence and consistency of the raw dimensions are the decoder's check (BAD_RAW_DIMENSIONS).
        event.width = optionalInt(root, "width", id);
        event.height = optionalInt(root, "height", id);
        event.channels = optionalInt(root, "channels", id);
        String image = requireString(root, "image", id);
        try {
            event.image = Base64.getMimeDecoder().decode(image);
        } catch (IllegalArgumentException e) {
            throw new EventException(EventException.INVALID_BASE64, "field 'image' is not valid base64: " + e.getMessage(), id);
        }
        return event;
    }

    /** Reads a UTF-8 JSON object, or throws INVALID_JSON. */
    static JsonNode readObject(byte[] value) throws EventException {
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(value)).toString();
        } catch (CharacterCodingException e) {
            throw new EventException(EventException.INVALID_JSON, "value is not valid UTF-8", null);
        }
        JsonNode root;
        try {
            root = Json.MAPPER.readTree(text);
        } catch (Exception e) {
            throw new EventException(EventException.INVALID_JSON, "value is not valid JSON: "
                    + firstLine(e.getMessage()), null);
        }
        if (root == null || !root.isObject()) {
            throw new EventException(EventException.INVALID_JSON, "value must be a JSON object, found "
                    + (root == null ? "nothing" : root.getNodeType()), null);
        }
        return root;
    }

    static String requireId(JsonNode root) throws EventException {
        JsonNode id = root.get("id");
        if (id == null || id.isNull()) {
            throw new EventException(EventException.MISSING_FIELD, "required field 'id' is missing", null);
        }
        if (!id.isTextual()) {
            throw new EventException(EventException.INVALID_FIELD, "field 'id' must be a string, found " + id.getNodeType(), null);
        }
        String text = id.asText();
        if (text.isEmpty() || text.length() > MAX_ID_LENGTH) {
            throw new EventException(EventException.INVALID_FIELD, "field 'id' must have 1.." + MAX_ID_LENGTH
                    + " characters, found " + text.length(), null);
        }
        return text;
    }

    static long optionalTimestamp(JsonNode root, String id, long fallback) throws EventException {
        JsonNode ts = root.get("timestamp");
        if (ts == null || ts.isNull()) {
            return fallback;
        }
        if (!ts.canConvertToLong() || !ts.isIntegralNumber() || ts.asLong() < 0) {
            throw new EventException(EventException.INVALID_FIELD, "field 'timestamp' must be epoch milliseconds "
                    + "(a non-negative integer), found " + ts, id);
        }
        return ts.asLong();
    }

    private static String requireString(JsonNode root, String field, String id) throws EventException {
        JsonNode node = root.get(field);
        if (node == null || node.isNull()) {
            throw new EventException(EventException.MISSING_FIELD, "required field '" + field + "' is missing", id);
        }
        if (!node.isTextual()) {
            throw new EventException(EventException.INVALID_FIELD, "field '" + field + "' must be a string, found "
                    + node.getNodeType(), id);
        }
        return node.asText();
    }

    private static Integer optionalInt(JsonNode root, String field, String id) throws EventException {
        JsonNode node = root.get(field);
        if (node == null || node.isNull()) {
            return null;
        }
        if (!node.isIntegralNumber() || !node.canConvertToInt()) {
            throw new EventException(EventException.INVALID_FIELD, "field '" + field
                    + "' must be an integer, found " + node, id);
        }
        return node.asInt();
    }

    private static String firstLine(String s) {
        if (s == null) {
            return "";
        }
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }
}
