package e3stream.pipeline.testutils;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * Checks a JSON value against one of the published schemas ({@code src/main/resources/schemas/<name>.schema.json}),
 * for the subset of JSON Schema those schemas use: {@code type} (one or a list), {@code const}, {@code enum},
 * {@code required}, {@code properties}, {@code additionalProperties}, {@code items}, {@code $ref} to
 * {@code #/$defs/...}, {@code minLength}, {@code maxLength}, {@code pattern}, {@code minimum}, {@code maximum} and
 * {@code maxItems}
 * ({@code format}, {@code contentEncoding} and the like are annotations, not checked). Any other keyword fails the
 * check, so a schema cannot silently outgrow it.
 */
public final class SchemaCheck {

    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final List<String> KNOWN = List.of("$schema", "$id", "title", "description", "type", "const",
            "enum", "required", "properties", "additionalProperties", "items", "$ref", "$defs", "maxLength", "pattern",
            "minimum", "maximum", "minLength", "maxItems", "format", "contentEncoding", "contentMediaType", "default", "examples",
            "$comment");

    private SchemaCheck() {
    }

    /** The published schema {@code name} (e.g. "drift-snapshot"), from the class path. */
    public static JsonNode schema(String name) {
        String path = "/schemas/" + name + ".schema.json";
        try (InputStream in = SchemaCheck.class.getResourceAsStream(path)) {
            if (in == null) {
                throw new IllegalArgumentException(path + " is not on the class path");
            }
            return MAPPER.readTree(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** What in {@code value} breaks the schema {@code name}; empty when it matches. */
    public static List<String> violations(String name, JsonNode value) {
        JsonNode root = schema(name);
        List<String> violations = new ArrayList<>();
        check(root, root, value, "$", violations);
        return violations;
    }

    private static void check(JsonNode root, JsonNode schema, JsonNode value, String path, List<String> violations) {
        for (Iterator<String> it = schema.fieldNames(); it.hasNext(); ) {
            String keyword = it.next();
            if (!KNOWN.contains(keyword)) {
                throw new AssertionError("schema keyword " + keyword + " at " + path + " is not checked here");
            }
        }
        if (schema.has("$ref")) {
            String ref = schema.get("$ref").textValue();
            if (!ref.startsWith("#/$defs/")) {
                throw new AssertionError("only #/$defs/ references are checked here, found " + ref);
            }
            JsonNode target = root.path("$defs").path(ref.substring("#/$defs/".length()));
            if (target.isMissingNode()) {
                violations.add(path + ": the schema has no " + ref);
                return;
            }
            check(root, target, value, path, violations);
        }
        JsonNode type = schema.get("type");
        if (type != null) {
            boolean ok = false;
            for (JsonNode t : type.isArray() ? type : List.of(type)) {
                ok |= is(t.textValue(), value, path);
            }
            if (!ok) {
                violations.add(path + " is " + value.getNodeType() + ", expected " + type);
                return;
            }
        }
        if (schema.has("const") && !schema.get("const").equals(value)) {
            violations.add(path + " = " + value + ", expected " + schema.get("const"));
        }
        if (schema.has("enum")) {
            boolean member = false;
            for (JsonNode allowed : schema.get("enum")) {
                member |= allowed.equals(value);
            }
            if (!member) {
                violations.add(path + " = " + value + " is not one of " + schema.get("enum"));
            }
        }
        if (value.isTextual()) {
            if (schema.has("maxLength") && value.textValue().codePointCount(0, value.textValue().length())
                    > schema.get("maxLength").intValue()) {
                violations.add(path + " is longer than " + schema.get("maxLength"));
            }
            if (schema.has("minLength") && value.textValue().codePointCount(0, value.textValue().length())
                    < schema.get("minLength").intValue()) {
                violations.add(path + " is shorter than " + schema.get("minLength"));
            }
            if (schema.has("pattern") && !Pattern.compile(schema.get("pattern").textValue())
                    .matcher(value.textValue()).find()) {
                violations.add(path + " = " + value + " does not match " + schema.get("pattern"));
            }
        }
        if (value.isNumber() && schema.has("minimum") && value.doubleValue() < schema.get("minimum").doubleValue()) {
            violations.add(path + " = " + value + " is below " + schema.get("minimum"));
        }
        if (value.isNumber() && schema.has("maximum") && value.doubleValue() > schema.get("maximum").doubleValue()) {
            violations.add(path + " = " + value + " is above " + schema.get("maximum"));
        }
        if (value.isArray() && schema.has("maxItems") && value.size() > schema.get("maxItems").intValue()) {
            violations.add(path + " has more than " + schema.get("maxItems") + " items");
        }
        if (value.isObject()) {
            for (JsonNode required : schema.path("required")) {
                if (!value.has(required.textValue())) {
                    violations.add(path + " lacks required field " + required.textValue());
                }
            }
            JsonNode properties = schema.path("properties");
            for (Iterator<Map.Entry<String, JsonNode>> it = value.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> field = it.next();
                String at = path + "." + field.getKey();
                if (properties.has(field.getKey())) {
                    check(root, properties.get(field.getKey()), field.getValue(), at, violations);
                } else if (schema.has("additionalProperties")) {
                    JsonNode extra = schema.get("additionalProperties");
                    if (extra.isBoolean() && !extra.booleanValue()) {
                        violations.add(at + " is not allowed");
                    } else if (extra.isObject()) {
                        check(root, extra, field.getValue(), at, violations);
                    }
                }
            }
        }
        if (value.isArray() && schema.has("items")) {
            for (int i = 0; i < value.size(); i++) {
                check(root, schema.get("items"), value.get(i), path + "[" + i + "]", violations);
            }
        }
    }

    private static boolean is(String type, JsonNode value, String path) {
        return switch (type) {
            case "object" -> value.isObject();
            case "array" -> value.isArray();
            case "string" -> value.isTextual();
            case "integer" -> value.isIntegralNumber();
            case "number" -> value.isNumber();
            case "boolean" -> value.isBoolean();
            case "null" -> value.isNull();
            default -> throw new AssertionError("schema type " + type + " at " + path + " is not checked here");
        };
    }
}
