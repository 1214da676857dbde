package e3stream.pipeline.internal;

import e3stream.pipeline.E3StreamOptions;
import java.io.IOException;
import java.lang.reflect.Field;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import org.apache.flink.annotation.Internal;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.description.BlockElement;
import org.apache.flink.configuration.description.TextElement;
import org.apache.flink.util.TimeUtils;

/**
 * Writes the configuration reference, docs/configuration.md, from {@link E3StreamOptions}, so the two cannot drift
 * apart ({@code E3StreamOptionsTest} fails when docs/configuration.md is stale).
 *
 * <p>Regenerate: {@code ./mvnw -q -pl pipeline exec:java -Dexec.mainClass=e3stream.pipeline.internal.OptionsDoc -Dexec.args=docs/configuration.md -Dexec.classpathScope=compile}
 * (compile scope: Flink is a provided dependency of the pipeline)
 */
@Internal
public final class OptionsDoc {

    private OptionsDoc() {
    }

    public static void main(String[] args) throws IOException {
        Path out = Path.of(args.length > 0 ? args[0] : "docs/configuration.md");
        Files.writeString(out, markdown(), StandardCharsets.UTF_8);
        System.out.println("wrote " + out.toAbsolutePath());
    }

    /** The Markdown table of every option: key, type, default, description. */
    public static String markdown() {
        StringBuilder sb = new StringBuilder();
        sb.append("<!-- Generated from e3stream.pipeline.E3StreamOptions by e3stream.pipeline.internal.OptionsDoc; do not edit. -->\n");
        sb.append("# Configuration reference\n\n");
        sb.append("Every option of the job. Set them in a `--config FILE` (YAML with nested keys, or `.properties`) and ")
                .append("override any of them with `--key value`; a bad value stops start-up with a message naming the key.\n\n");
        sb.append("| key | type | default | description |\n");
        sb.append("|---|---|---|---|\n");
        for (ConfigOption<?> option : E3StreamOptions.all()) {
            sb.append("| `").append(option.key()).append("` | ").append(type(option)).append(" | ")
                    .append(option.hasDefaultValue() ? "`" + format(option.defaultValue()) + "`" : "(none)")
                    .append(" | ").append(description(option).replace("|", "\\|")).append(" |\n");
        }
        sb.append("| `").append(E3StreamOptions.KAFKA_PROPERTIES_PREFIX).append("*` | String | (none) | ")
                .append("Passed to every Kafka client with the prefix removed, e.g. `kafka.properties.security.protocol: SASL_SSL`.")
                .append(" |\n");
        return sb.toString();
    }

    public static String description(ConfigOption<?> option) {
        StringBuilder sb = new StringBuilder();
        for (BlockElement block : option.description().getBlocks()) {
            if (block instanceof TextElement text) {
                sb.append(text.getFormat());
            }
        }
        return sb.toString().replaceAll("\\s+", " ").trim();
    }

    static String type(ConfigOption<?> option) {
        try {
            Field clazz = ConfigOption.class.getDeclaredField("clazz");
            clazz.setAccessible(true);
            Class<?> c = (Class<?>) clazz.get(option);
            if (c.isEnum()) {
                StringBuilder values = new StringBuilder("Enum: ");
                Object[] constants = c.getEnumConstants();
                for (int i = 0; i < constants.length; i++) {
                    values.append(i > 0 ? ", " : "").append(constants[i]);
                }
                return values.toString();
            }
            return c.getSimpleName();
        } catch (ReflectiveOperationException | RuntimeException e) {
            return option.hasDefaultValue() ? option.defaultValue().getClass().getSimpleName() : "String";
        }
    }

    static String format(Object value) {
        return value instanceof Duration d ? TimeUtils.formatWithHighestUnit(d) : String.valueOf(value);
    }
}
