package e3stream.runtime.session;

import java.io.IOException;
import java.util.Locale;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * One command of the {@code control} topic, which changes the models a running stream uses
 * ({@link ModelRoster#apply}):
 * <pre>{@code
 * {"id": "c-17", "command": "shadow", "bundle": "/models/de-vmoe", "share": 0.5}   // start (or replace) a shadow
 * {"id": "c-18", "command": "promote"}                                              // the shadow decides from now on
 * {"id": "c-19", "command": "rollback"}                                             // back to the model before
 * {"id": "c-20", "command": "stop-shadow"}
 * {"id": "c-21", "command": "status"}                                               // only answers
 * }</pre>
 *
 * @param id      the sender's id of the command, echoed in its answer (may be null)
 * @param kind    what to do
 * @param bundle  the bundle directory, for {@link Kind#SHADOW} only
 * @param share   the share of events the shadow scores (0..1), for {@link Kind#SHADOW} only; null for the default
 */
public record ModelCommand(String id, Kind kind, String bundle, Double share) {

    private static final ObjectMapper MAPPER = new ObjectMapper();

    /** Longest command id echoed back; longer ones are refused (the answer must stay small). */
    public static final int MAX_ID_LENGTH = 128;

    /** The commands, by their JSON names. */
    public enum Kind {
        SHADOW("shadow"), PROMOTE("promote"), ROLLBACK("rollback"), STOP_SHADOW("stop-shadow"), STATUS("status");

        private final String json;

        Kind(String json) {
            this.json = json;
        }

        public String json() {
            return json;
        }

        static Kind of(String name) {
            for (Kind k : values()) {
                if (k.json.equals(name.toLowerCase(Locale.ROOT))) {
                    return k;
                }
            }
            throw new IllegalArgumentException("unknown command '" + name + "' (one of shadow, promote, rollback, "
                    + "stop-shadow, status)");
        }
    }

    /**
     * Reads a command from a control record's value.
     *
     * @throws IllegalArgumentException saying what is wrong with it (not JSON, unknown command, missing bundle, ...)
     */
    public static ModelCommand parse(byte[] value) {
        if (value == null || value.length == 0) {
            throw new IllegalArgumentException("empty control record: expected a JSON object such as "
                    + "{\"command\": \"promote\"}");
        }
        JsonNode node;
        try {
            node = MAPPER.readTree(value);
        } catch (IOException e) {
            throw new IllegalArgumentException("control record is not JSON: " + e.getMessage());
        }
        if (node == null || !node.isObject()) {
            throw new IllegalArgumentException("control record is not a JSON object");
        }
        String id = null;
        JsonNode idNode = node.get("id");
        if (idNode != null && !idNode.isNull()) {
            if (!idNode.isTextual() || idNode.asText().length() > MAX_ID_LENGTH) {
                throw new IllegalArgumentException("\"id\" must be a string of at most " + MAX_ID_LENGTH + " characters");
            }
            id = idNode.asText();
        }
        JsonNode command = node.get("command");
        if (command == null || !command.isTextual()) {
            throw new IllegalArgumentException("\"command\" is missing or not a string (one of shadow, promote, "
                    + "rollback, stop-shadow, status)");
        }
        Kind kind = Kind.of(command.asText());
        String bundle = null;
        Double share = null;
        if (kind == Kind.SHADOW) {
            JsonNode b = node.get("bundle");
            if (b == null || !b.isTextual() || b.asText().isBlank()) {
                throw new IllegalArgumentException("\"shadow\" needs \"bundle\": the bundle directory as every "
                        + "TaskManager sees it (e.g. \"/opt/e3/models/de-vmoe\")");
            }
            bundle = b.asText();
            JsonNode s = node.get("share");
            if (s != null && !s.isNull()) {
                if (!s.isNumber() || !(s.asDouble() >= 0 && s.asDouble() <= 1)) {
                    throw new IllegalArgumentException("\"share\" must be a number from 0 to 1, found " + s);
                }
                share = s.asDouble();
            }
        }
        return new ModelCommand(id, kind, bundle, share);
    }
}
