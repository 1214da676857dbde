package e3stream.pipeline.internal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import org.apache.flink.annotation.Internal;

/** The job's configuration file ({@code --config FILE}) as flat {@code key -> value} pairs. */
@Internal
public final class OptionFiles {

    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    private OptionFiles() {
    }

    /** Reads a {@code .properties} file, or YAML (nested maps become dotted keys). */
    public static Map<String, String> read(Path file) {
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException("configuration file " + file + " does not exist or is not a file");
        }
        Map<String, String> out = new LinkedHashMap<>();
        String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
        try (InputStream in = Files.newInputStream(file)) {
            if (name.endsWith(".properties")) {
                Properties props = new Properties();
                props.load(in);
                props.stringPropertyNames().forEach(k -> out.put(k.trim(), props.getProperty(k).trim()));
            } else {
                JsonNode root = YAML.readTree(in);
                if (root != null && !root.isNull()) {
                    if (!root.isObject()) {
                        throw new IllegalArgumentException("configuration file " + file + " must hold a map of keys");
                    }
                    flatten("", root, out);
                }
            }
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read configuration file " + file + ": " + e.getMessage(), e);
        }
        return out;
    }

    private static void flatten(String prefix, JsonNode node, Map<String, String> out) {
        if (node.isObject()) {
            node.fields().forEachRemaining(e -> flatten(prefix.isEmpty() ? e.getKey() : prefix + "." + e.getKey(),
                    e.getValue(), out));
        } else if (node.isArray()) {
            List<String> items = new ArrayList<>();
            node.forEach(n -> items.add(n.asText()));
            out.put(prefix, String.join(",", items));
        } else if (!node.isNull()) {
            out.put(prefix, node.asText());
        }
    }
}
