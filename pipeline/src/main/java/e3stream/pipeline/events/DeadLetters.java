package e3stream.pipeline.events;

import java.util.Base64;

import com.fasterxml.jackson.databind.node.ObjectNode;

/** Builds dead-letter records (schemas/dead-letter.schema.json): error code and message, source coordinates, original bytes. */
public final class DeadLetters {

    private DeadLetters() {
    }

    public static OutputRecord of(String topic, RawRecord raw, String id, String code, String message) {
        ObjectNode node = Json.object();
        if (id != null) {
            node.put("id", id);
        }
        ObjectNode error = node.putObject("error");
        error.put("code", code);
        error.put("message", message);
        ObjectNode source = node.putObject("source");
        source.put("topic", raw.topic);
        source.put("partition", raw.partition);
        source.put("offset", raw.offset);
        node.put("original", Base64.getEncoder().encodeToString(raw.value));
        String key = id != null ? id : raw.topic + "-" + raw.partition + "-" + raw.offset;
        return new OutputRecord(topic, key, Json.bytes(node), raw.timestamp);
    }
}
