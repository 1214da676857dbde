package e3stream.pipeline.internal;

import java.util.Properties;

import org.apache.flink.annotation.Internal;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.config.AbstractConfig;
import org.apache.kafka.common.config.ConfigDef;

/**
 * Kafka config-provider references ({@code ${file:/path:key}}, {@code ${env:NAME}} with {@code config.providers}
 * set) in the few Kafka client properties the job reads itself, resolved as every Kafka client resolves them (by
 * {@link AbstractConfig}, with the providers those properties configure). Every other {@code kafka.properties.*}
 * value goes to the Kafka clients unchanged, which resolve it where they run; so the reference, not the secret, is
 * what the job's configuration, its log and its job graph hold.
 *
 * <pre>{@code
 * String maxRequestSize = KafkaConfigReferences.resolve(options.kafkaProperties(), "max.request.size");
 * }</pre>
 */
@Internal
public final class KafkaConfigReferences {

    private KafkaConfigReferences() {
    }

    /**
     * The value of {@code key} in {@code kafkaProperties}, its references resolved; {@code null} when unset. A value
     * without {@code ${} is returned as is, without instantiating any provider.
     *
     * @throws IllegalArgumentException when a provider fails (e.g. its file cannot be read), naming the key
     */
    public static String resolve(Properties kafkaProperties, String key) {
        String raw = kafkaProperties.getProperty(key);
        if (raw == null || !raw.contains("${")) {
            return raw;
        }
        try {
            return new AbstractConfig(new ConfigDef(), kafkaProperties, false).originalsStrings().get(key);
        } catch (KafkaException e) {
            throw new IllegalArgumentException("cannot resolve the config-provider reference in " + key + " ("
                    + raw + "): " + e.getMessage(), e);
        }
    }
}
