package e3stream.pipeline.internal.events;

import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import org.apache.flink.annotation.Internal;

/**
 * Validates a label event (schemas/label-event.schema.json); {@code label} may be a class index or a class name of
 * the model's classes. Immutable and thread-safe.
 */
@Internal
public final class LabelEventParser implements java.io.Serializable {

    private static final long serialVersionUID = 1L;

    private final List<String> classes;

    public LabelEventParser(List<String> classes) {
        this.classes = List.copyOf(classes);
    }

    public LabelEvent parse(RawRecord raw) throws EventException {
        JsonNode root = ImageEventParser.readObject(raw.value);
        String id = ImageEventParser.requireId(root);
        long timestamp = ImageEventParser.optionalTimestamp(root, id, raw.timestamp);
        JsonNode label = root.get("label");
        if (label == null || label.isNull()) {
            throw new EventException(EventException.MISSING_FIELD, "required field 'label' is missing", id);
        }
        int index;
        if (label.isIntegralNumber() && label.canConvertToInt()) {
            index = label.asInt();
            if (index < 0 || index >= classes.size()) {
                throw new EventException(EventException.INVALID_FIELD, "field 'label' must be a class index 0.."
                        + (classes.size() - 1) + ", found " + index, id);
            }
        } else if (label.isTextual()) {
            index = classes.indexOf(label.asText());
            if (index < 0) {
                throw new EventException(EventException.INVALID_FIELD, "unknown class name '" + label.asText()
                        + "' in field 'label', expected one of " + classes, id);
            }
        } else {
            throw new EventException(EventException.INVALID_FIELD, "field 'label' must be a class index or name, found "
                    + label.getNodeType(), id);
        }
        return new LabelEvent(id, index, timestamp);
    }
}
