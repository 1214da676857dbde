package e3stream.runtime.session;

import java.io.IOException;
import java.util.Locale;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * One command of the {@code control} topic, which changes the models a running stream uses
 * ({@link ModelRoster#apply}):
 * <pre>{@code
 * {"id": "c-17", "command": "shadow", "bundle": "/models/de-vmoe", "share": 0.5}   // start (or replace) a shadow
 * {"id": "c-17", "command": "shadow", "bundle": "de-vmoe", "bundle_sha256": "..."} // ... only if the bundle has it
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
 * @param bundleSha256 the digest the bundle must have ({@code ModelBundle#bundleSha256}), for {@link Kind#SHADOW}
 *                     only; null to accept the bundle as verified by its own model.json
 */
public record ModelCommand(String id, Kind kind, String bundle, Double share, String bundleSha256) {

    /** Deepest JSON nesting a command may have: a command is flat, so deeper records are refused unread. */
    public static final int MAX_NESTING = 16;

    private static final ObjectMapper MAPPER = new ObjectMapper(JsonFactory.builder()
            .streamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(MAX_NESTING).build()).build());

    /** Longest command id accepted; a longer one is refused and echoed back cut to this length. */
    public static final int MAX_ID_LENGTH = 256;

    /** Longest bundle path accepted; a longer one is refused and echoed back cut to this length. */
    public static final int MAX_BUNDLE_LENGTH = 1024;

    /** Longest command name quoted in a refusal. */
    private static final int MAX_QUOTED = 64;

    /**
     * Why a control record is not a command, with what of it can be echoed in the answer: its id and bundle, each
     * cut to its maximum length ({@link #truncated()} says whether one was cut).
     */
    public static final class InvalidCommand extends IllegalArgumentException {
        private static final long serialVersionUID = 1L;
        private final String id;
        private final String bundle;
        private final boolean truncated;

        InvalidCommand(String message, JsonNode node) {
            super(message);
            String rawId = textOf(node, "id");
            String rawBundle = textOf(node, "bundle");
            this.id = cut(rawId, MAX_ID_LENGTH);
            this.bundle = cut(rawBundle, MAX_BUNDLE_LENGTH);
            this.truncated = (rawId != null && rawId.length() > MAX_ID_LENGTH)
                    || (rawBundle != null && rawBundle.length() > MAX_BUNDLE_LENGTH);
        }

        /** The record's {@code id} when it is a string, cut to {@link #MAX_ID_LENGTH}; else null. */
        public String id() {
            return id;
        }

        /** The record's {@code bundle} when it is a string, cut to {@link #MAX_BUNDLE_LENGTH}; else null. */
        public String bundle() {
            return bundle;
        }

        /** Whether {@link #id()} or {@link #bundle()} was cut. */
        public boolean truncated() {
            return truncated;
        }

        private static String textOf(JsonNode node, String field) {
            JsonNode value = node == null ? null : node.get(field);
            return value != null && value.isTextual() ? value.asText() : null;
        }
    }

    /** A command that names no bundle digest. */
    public ModelCommand(String id, Kind kind, String bundle, Double share) {
        this(id, kind, bundle, share, null);
    }

    /** {@code text} cut to at most {@code max} characters (null stays null). */
    public static String cut(String text, int max) {
        return text == null || text.length() <= max ? text : text.substring(0, max);
    }

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
            throw new InvalidCommand("empty control record: expected a JSON object such as "
                    + "{\"command\": \"promote\"}", null);
        }
        JsonNode node;
        try {
            node = MAPPER.readTree(value);
        } catch (IOException e) {
            // The parser's own message quotes the record; its location is enough.
            String where = e instanceof com.fasterxml.jackson.core.JsonProcessingException j && j.getLocation() != null
                    ? " at line " + j.getLocation().getLineNr() + ", column " + j.getLocation().getColumnNr() : "";
            String what = e instanceof com.fasterxml.jackson.core.exc.StreamConstraintsException
                    ? "nested deeper than " + MAX_NESTING + " levels" : "malformed";
            throw new InvalidCommand("control record is not JSON: " + what + where, null);
        }
        if (node == null || !node.isObject()) {
            throw new InvalidCommand("control record is not a JSON object", null);
        }
        JsonNode idNode = node.get("id");
        if (idNode != null && !idNode.isNull() && (!idNode.isTextual() || idNode.asText().length() > MAX_ID_LENGTH)) {
            throw new InvalidCommand("\"id\" must be a string of at most " + MAX_ID_LENGTH + " characters", node);
        }
        String id = idNode == null || idNode.isNull() ? null : idNode.asText();
        JsonNode command = node.get("command");
        if (command == null || !command.isTextual()) {
            throw new InvalidCommand("\"command\" is missing or not a string (one of shadow, promote, "
                    + "rollback, stop-shadow, status)", node);
        }
        Kind kind;
        try {
            kind = Kind.of(cut(command.asText(), MAX_QUOTED));
        } catch (IllegalArgumentException e) {
            throw new InvalidCommand(e.getMessage(), node);
        }
        String bundle = null;
        Double share = null;
        String bundleSha256 = null;
        if (kind == Kind.SHADOW) {
            JsonNode b = node.get("bundle");
            if (b == null || !b.isTextual() || b.asText().isBlank()) {
                throw new InvalidCommand("\"shadow\" needs \"bundle\": the bundle directory as every "
                        + "TaskManager sees it (e.g. \"/opt/e3/models/de-vmoe\")", node);
            }
            if (b.asText().length() > MAX_BUNDLE_LENGTH) {
                throw new InvalidCommand("\"bundle\" must be at most " + MAX_BUNDLE_LENGTH + " characters, found "
                        + b.asText().length(), node);
            }
            bundle = b.asText();
            JsonNode s = node.get("share");
            if (s != null && !s.isNull()) {
                if (!s.isNumber() || !(s.asDouble() >= 0 && s.asDouble() <= 1)) {
                    throw new InvalidCommand("\"share\" must be a number from 0 to 1, found "
                            + cut(s.toString(), MAX_QUOTED), node);
                }
                share = s.asDouble();
            }
            JsonNode d = node.get("bundle_sha256");
            if (d != null && !d.isNull()) {
                if (!d.isTextual() || !d.asText().matches("[0-9a-f]{64}")) {
                    throw new InvalidCommand("\"bundle_sha256\" must be 64 lower-case hex digits: "
                            + "(cd BUNDLE && sha256sum model.json model.onnx) | sha256sum", node);
                }
                bundleSha256 = d.asText();
            }
        }
        return new ModelCommand(id, kind, bundle, share, bundleSha256);
    }
}
