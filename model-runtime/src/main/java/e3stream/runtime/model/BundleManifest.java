package e3stream.runtime.model;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.util.DefaultIndenter;
import com.fasterxml.jackson.core.util.DefaultPrettyPrinter;
import com.fasterxml.jackson.core.util.Separators;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * Immutable, validated view of a bundle's model.json (schema: models/README.md).
 *
 * <p>The typed accessors cover what the runtime needs; sections whose structure belongs to other packages
 * ({@code triage}, {@code reference}, {@code metrics}, {@code training}) are handed out as deep copies of their Jackson
 * trees. {@link #withCalibration} returns a new manifest with a new temperature and triage section and everything else
 * unchanged, which is what the {@code calibrate} command writes back. Instances are immutable and thread-safe.
 *
 * <pre>{@code
 * BundleManifest manifest = BundleManifest.read(Path.of("models/e3/model.json"));
 * int members = manifest.architecture().ensembleSize();
 * double t = manifest.temperature();
 * }</pre>
 */
public final class BundleManifest {
    static final ObjectMapper MAPPER = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    private static final Pattern SHA256 = Pattern.compile("[0-9a-f]{64}");

    private final ObjectNode json;
    private final String name;
    private final String version;
    private final Architecture architecture;
    private final InputSpec input;
    private final String outputName;
    private final List<String> classes;
    private final double temperature;
    private final long flopsPerImage;
    private final String sha256;

    private BundleManifest(ObjectNode json, String source) {
        this.json = json;
        try {
            name = text(json, "name");
            version = text(json, "version");
            architecture = parseArchitecture(object(json, "architecture"));
            input = parseInput(object(json, "input"));
            outputName = text(object(json, "output"), "name");
            classes = parseClasses(json);
            temperature = number(json, "temperature").doubleValue();
            flopsPerImage = number(json, "flops_per_image").longValue();
            sha256 = text(json, "sha256").toLowerCase(java.util.Locale.ROOT);
            object(json, "triage");
            object(json, "reference");
            object(json, "metrics");
        } catch (IllegalArgumentException e) {
            throw new BundleException(source + " is invalid: " + e.getMessage()
                    + " (see models/README.md for the model.json schema; re-export the bundle)", e);
        }
        String problem = crossCheck();
        if (problem != null) {
            throw new BundleException(source + " is invalid: " + problem
                    + " (see models/README.md for the model.json schema; re-export the bundle)");
        }
    }

    /** Parses and validates a model.json tree; {@code source} names it in error messages (e.g. its path). */
    public static BundleManifest fromJson(JsonNode json, String source) {
        if (json == null || !json.isObject()) {
            throw new BundleException(source + " is invalid: the top level must be a JSON object");
        }
        return new BundleManifest(((ObjectNode) json).deepCopy(), source);
    }

    /** Reads and validates a model.json file. */
    public static BundleManifest read(Path modelJson) {
        if (!Files.isRegularFile(modelJson)) {
            throw new BundleException(modelJson + " is missing: a bundle directory needs model.json next to model.onnx"
                    + " (see models/README.md)");
        }
        JsonNode tree;
        try {
            tree = MAPPER.readTree(modelJson.toFile());
        } catch (JsonProcessingException e) {
            throw new BundleException(modelJson + " is not valid JSON: " + e.getOriginalMessage()
                    + " (line " + (e.getLocation() == null ? "?" : e.getLocation().getLineNr()) + ")", e);
        } catch (IOException e) {
            throw new BundleException("cannot read " + modelJson + ": " + e.getMessage(), e);
        }
        return fromJson(tree, modelJson.toString());
    }

    private String crossCheck() {
        if (!Double.isFinite(temperature) || temperature <= 0) {
            return "temperature must be a finite number > 0, got " + temperature;
        }
        if (flopsPerImage <= 0) {
            return "flops_per_image must be > 0, got " + flopsPerImage;
        }
        if (!SHA256.matcher(sha256).matches()) {
            return "sha256 must be 64 hex digits, got '" + sha256 + "'";
        }
        if (classes.size() != architecture.numClasses()) {
            return "classes has " + classes.size() + " names but architecture.num_classes is "
                    + architecture.numClasses();
        }
        if (input.channels() != architecture.channels() || input.height() != architecture.imageSize()
                || input.width() != architecture.imageSize()) {
            return "input [" + input.channels() + "," + input.height() + "," + input.width()
                    + "] disagrees with architecture (channels " + architecture.channels() + ", image_size "
                    + architecture.imageSize() + ")";
        }
        return null;
    }

    private static Architecture parseArchitecture(JsonNode a) {
        List<Integer> moe = new ArrayList<>();
        JsonNode layers = a.get("moe_layers");
        if (layers != null && !layers.isNull()) {
            if (!layers.isArray()) {
                throw new IllegalArgumentException("architecture.moe_layers must be an array of layer indices");
            }
            layers.forEach(l -> {
                if (!l.canConvertToExactIntegral()) {
                    throw new IllegalArgumentException("architecture.moe_layers must hold integers, got " + l);
                }
                moe.add(l.asInt());
            });
        }
        return new Architecture(text(a, "kind"), integer(a, "layers"), integer(a, "hidden"), integer(a, "heads"),
                integer(a, "mlp_dim"), integer(a, "patch"), integer(a, "stem_channels"), optionalInt(a, "experts"),
                optionalInt(a, "top_k"), integer(a, "ensemble_size"), moe, integer(a, "num_classes"),
                integer(a, "image_size"), integer(a, "channels"));
    }

    private static InputSpec parseInput(JsonNode i) {
        return new InputSpec(text(i, "name"), integer(i, "channels"), integer(i, "height"), integer(i, "width"),
                doubles(i, "mean"), doubles(i, "std"), text(i, "layout"));
    }

    private static List<String> parseClasses(JsonNode json) {
        JsonNode c = json.get("classes");
        if (c == null || !c.isArray() || c.isEmpty()) {
            throw new IllegalArgumentException("'classes' must be a non-empty array of class names");
        }
        List<String> names = new ArrayList<>();
        c.forEach(n -> {
            if (!n.isTextual()) {
                throw new IllegalArgumentException("'classes' must hold strings, got " + n);
            }
            names.add(n.asText());
        });
        return List.copyOf(names);
    }

    private static JsonNode object(JsonNode parent, String field) {
        JsonNode node = parent.get(field);
        if (node == null || !node.isObject()) {
            throw new IllegalArgumentException("'" + field + "' must be a JSON object");
        }
        return node;
    }

    private static String text(JsonNode parent, String field) {
        JsonNode node = parent.get(field);
        if (node == null || !node.isTextual() || node.asText().isBlank()) {
            throw new IllegalArgumentException("'" + field + "' must be a non-empty string");
        }
        return node.asText();
    }

    private static Number number(JsonNode parent, String field) {
        JsonNode node = parent.get(field);
        if (node == null || !node.isNumber()) {
            throw new IllegalArgumentException("'" + field + "' must be a number");
        }
        return node.numberValue();
    }

    private static int integer(JsonNode parent, String field) {
        JsonNode node = parent.get(field);
        if (node == null || !node.isNumber() || !node.canConvertToExactIntegral() || !node.canConvertToInt()) {
            throw new IllegalArgumentException("'" + field + "' must be an integer");
        }
        return node.asInt();
    }

    private static int optionalInt(JsonNode parent, String field) {
        JsonNode node = parent.get(field);
        return node == null || node.isNull() ? 0 : integer(parent, field);
    }

    private static double[] doubles(JsonNode parent, String field) {
        JsonNode node = parent.get(field);
        if (node == null || !node.isArray()) {
            throw new IllegalArgumentException("'" + field + "' must be an array of numbers");
        }
        double[] values = new double[node.size()];
        for (int i = 0; i < values.length; i++) {
            if (!node.get(i).isNumber()) {
                throw new IllegalArgumentException("'" + field + "' must hold numbers, got " + node.get(i));
            }
            values[i] = node.get(i).asDouble();
        }
        return values;
    }

    public String name() {
        return name;
    }

    public String version() {
        return version;
    }

    public Architecture architecture() {
        return architecture;
    }

    public InputSpec input() {
        return input;
    }

    public String outputName() {
        return outputName;
    }

    public List<String> classes() {
        return classes;
    }

    /** Softmax temperature applied to member logits before averaging members. */
    public double temperature() {
        return temperature;
    }

    /** The {@code triage} section (deep copy). */
    public JsonNode triageJson() {
        return json.get("triage").deepCopy();
    }

    /** The {@code reference} section (validation distributions for drift; deep copy). */
    public JsonNode referenceJson() {
        return json.get("reference").deepCopy();
    }

    /** The {@code metrics} section (test-set figures at build time; deep copy). */
    public JsonNode metricsJson() {
        return json.get("metrics").deepCopy();
    }

    /** The {@code training} section, or an empty object when absent (deep copy). */
    public JsonNode trainingJson() {
        JsonNode t = json.get("training");
        return t == null ? MAPPER.createObjectNode() : t.deepCopy();
    }

    /** model.json {@code training.commit}: the commit of the training code, or {@code null} when not recorded. */
    public String trainingCommit() {
        JsonNode t = json.get("training");
        JsonNode commit = t == null ? null : t.get("commit");
        return commit == null || !commit.isTextual() ? null : commit.asText();
    }

    public long flopsPerImage() {
        return flopsPerImage;
    }

    /** Lower-case hex sha256 of model.onnx recorded at export time. */
    public String sha256() {
        return sha256;
    }

    /** The whole model.json tree (deep copy). */
    public ObjectNode toJson() {
        return json.deepCopy();
    }

    /**
     * A copy with {@code temperature} and {@code triage} replaced and every other field (sha256 included) unchanged.
     *
     * @throws BundleException if the result would be invalid (e.g. temperature &lt;= 0)
     */
    public BundleManifest withCalibration(double newTemperature, JsonNode newTriage) {
        if (newTriage == null || !newTriage.isObject()) {
            throw new IllegalArgumentException("triage must be a JSON object");
        }
        ObjectNode copy = json.deepCopy();
        copy.put("temperature", newTemperature);
        copy.set("triage", newTriage.deepCopy());
        return new BundleManifest(copy, "model.json of " + name + " " + version + " after calibration");
    }

    /**
     * Writes this manifest as pretty-printed JSON (atomically: temp file then move), indented like Python's
     * {@code json.dump(indent=2)} that wrote it at export, so a rewrite shows only the changed values in a diff.
     */
    public void write(Path modelJson) throws IOException {
        Path tmp = modelJson.resolveSibling(modelJson.getFileName() + ".tmp");
        DefaultIndenter indenter = new DefaultIndenter("  ", "\n");
        DefaultPrettyPrinter printer = new DefaultPrettyPrinter()
                .withSeparators(Separators.createDefaultInstance()
                        .withObjectFieldValueSpacing(Separators.Spacing.AFTER));
        printer.indentObjectsWith(indenter);
        printer.indentArraysWith(indenter);
        MAPPER.writer(printer).writeValue(tmp.toFile(), json);
        Files.move(tmp, modelJson, java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    }

    @Override
    public String toString() {
        return "BundleManifest[" + name + " " + version + ", kind=" + architecture.kind() + ", M="
                + architecture.ensembleSize() + ", T=" + temperature + "]";
    }
}
