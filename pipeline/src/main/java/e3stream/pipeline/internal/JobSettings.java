package e3stream.pipeline.internal;

import static e3stream.pipeline.E3StreamOptions.*;
import static e3stream.pipeline.KafkaOptions.*;

import e3stream.pipeline.E3StreamOptions;
import e3stream.pipeline.KafkaOptions;
import e3stream.pipeline.internal.events.DeadLetters;
import e3stream.pipeline.internal.events.TimestampWindow;
import e3stream.runtime.decode.DecodeLimits;
import e3stream.runtime.model.BundleDescription;
import e3stream.runtime.session.BundleRoot;
import e3stream.runtime.session.SessionSpec;
import e3stream.runtime.session.TriageOverrides;
import java.nio.file.Path;
import org.apache.flink.annotation.Internal;

/** What the job's stages are built with, made from its options: the runtime's settings objects, one place each. */
@Internal
public final class JobSettings {

    private JobSettings() {
    }

    /**
     * The folder model commands may name bundles in: {@link E3StreamOptions#MODEL_BUNDLE_ROOT}, else the one holding
     * {@code active}.
     *
     * @throws IllegalArgumentException naming the key when it is not an existing directory
     */
    public static BundleRoot bundleRoot(E3StreamOptions options, BundleDescription active) {
        boolean set = options.isSet(MODEL_BUNDLE_ROOT);
        Path root = set ? Path.of(options.get(MODEL_BUNDLE_ROOT)) : active.directory().getParent();
        try {
            return BundleRoot.of(root);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException((set ? MODEL_BUNDLE_ROOT.key() : MODEL_BUNDLE.key() + " (its parent is "
                    + "the default " + MODEL_BUNDLE_ROOT.key() + ")") + ": " + e.getMessage(), e);
        }
    }

    /** The model session the inference operators share, for a bundle described at job build. */
    public static SessionSpec sessionSpec(E3StreamOptions options, BundleDescription bundle) {
        return new SessionSpec(bundle, options.get(DEVICE), options.get(CUDA_DEVICE_ID), options.get(INTRA_OP_THREADS), options.get(INTRA_OP_SPINNING),
                options.get(MAX_BATCH_SIZE), options.get(MAX_DELAY), options.get(QUEUE_CAPACITY), options.get(MODEL_IDLE_RELEASE),
                options.get(INFERENCE_TIMEOUT));
    }

    /** The triage rules set in this configuration, replacing the bundle's. */
    public static TriageOverrides triageOverrides(E3StreamOptions options) {
        return new TriageOverrides(options.isSet(MIN_CONFIDENCE) ? options.get(MIN_CONFIDENCE) : null,
                options.isSet(MAX_ENTROPY) ? options.get(MAX_ENTROPY) : null,
                options.isSet(MAX_MUTUAL_INFORMATION) ? options.get(MAX_MUTUAL_INFORMATION) : null,
                options.isSet(MIN_FEATURE_LOG_DENSITY) ? options.get(MIN_FEATURE_LOG_DENSITY) : null);
    }

    /** The decoder's limits set in this configuration. */
    public static DecodeLimits decodeLimits(E3StreamOptions options) {
        return new DecodeLimits(options.get(MAX_PAYLOAD_BYTES), options.get(MAX_PIXELS), options.get(MAX_DECODE_BYTES));
    }

    /**
     * The producer's {@code max.request.size} (from {@code kafka.properties.max.request.size}, else Kafka's 1 MiB
     * default): every record the job writes, dead letters included, must fit it.
     */
    public static int producerMaxRequestSize(E3StreamOptions options) {
        // The job sizes dead letters by it, so it reads this one value itself: a ${provider:...} reference is
        // resolved here, as the producer would resolve it.
        String value = KafkaConfigReferences.resolve(options.kafkaProperties(), "max.request.size");
        try {
            return value == null ? DeadLetters.KAFKA_DEFAULT_MAX_REQUEST_SIZE : Integer.parseInt(value.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(KAFKA_PROPERTIES_PREFIX + "max.request.size must be a number of "
                    + "bytes, found " + value + (value.contains("${") ? " (a reference to a config provider that "
                    + KAFKA_PROPERTIES_PREFIX + "config.providers does not name?)" : ""), e);
        }
    }

    /** The event timestamps the job accepts. */
    public static TimestampWindow timestampWindow(E3StreamOptions options) {
        return new TimestampWindow(options.get(TIMESTAMP_MAX_FUTURE), options.get(TIMESTAMP_MAX_AGE));
    }
}
