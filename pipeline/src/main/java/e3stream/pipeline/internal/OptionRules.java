package e3stream.pipeline.internal;

import static e3stream.pipeline.E3StreamOptions.*;
import static e3stream.pipeline.KafkaOptions.*;

import e3stream.pipeline.E3StreamOptions;
import e3stream.pipeline.KafkaOptions;
import e3stream.pipeline.internal.events.DeadLetters;
import e3stream.pipeline.internal.metrics.PortRange;
import e3stream.runtime.session.SessionSpec;
import e3stream.runtime.stats.TopSources;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.apache.flink.annotation.Internal;
import org.apache.flink.configuration.ConfigOption;

/**
 * Every rule of the job's options, checked once when they are parsed ({@link E3StreamOptions#of}): each value's type
 * and range, and every rule that involves several options, with a message that names the keys. The runtime's own
 * rules (the session's, the batcher's, the decoder's) are checked by building what the tasks build, so a
 * configuration accepted here never fails a task.
 */
@Internal
public final class OptionRules {

    private final E3StreamOptions options;

    private OptionRules(E3StreamOptions options) {
        this.options = options;
    }

    /**
     * @throws IllegalArgumentException naming the key(s) of the first rule {@code options} break
     */
    public static void check(E3StreamOptions options) {
        new OptionRules(options).validate();
    }

    private <T> T get(ConfigOption<T> option) {
        return options.get(option);
    }

    private boolean isSet(ConfigOption<?> option) {
        return options.isSet(option);
    }

    private void validate() {
        List<String> known = new ArrayList<>();
        for (ConfigOption<?> option : all()) {
            known.add(option.key());
        }
        for (String key : options.values().keySet()) {
            if (!key.startsWith(KAFKA_PROPERTIES_PREFIX) && !known.contains(key)) {
                throw new IllegalArgumentException("unknown option '" + key + "'; valid options are " + known
                        + " and " + KAFKA_PROPERTIES_PREFIX + "<any Kafka client property>");
            }
        }
        for (ConfigOption<?> option : all()) {
            get(option); // type check, names the key
        }
        require(BOOTSTRAP_SERVERS);
        require(MODEL_BUNDLE);
        positive(PARALLELISM);
        checkRuntimeRules();
        positive(ASYNC_CAPACITY);
        int maxRequestSize = JobSettings.producerMaxRequestSize(options); // its message names the key
        try {
            DeadLetters.checkMaxRequestSize(maxRequestSize);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(KAFKA_PROPERTIES_PREFIX + "max.request.size: " + e.getMessage(), e);
        }
        positive(MAX_RECORD_BYTES);
        notNegative(TIMESTAMP_MAX_AGE);
        if (get(TIMESTAMP_MAX_FUTURE).compareTo(Duration.ofHours(1)) >= 0) {
            throw new IllegalArgumentException(TIMESTAMP_MAX_FUTURE.key() + " (" + get(TIMESTAMP_MAX_FUTURE)
                    + ") must stay below the broker's log.message.timestamp.after.max.ms (1 h by default), or the "
                    + "broker refuses the output records of such events");
        }
        if (get(RESTART_ATTEMPTS) < 0) {
            throw new IllegalArgumentException(RESTART_ATTEMPTS.key() + " must be >= 0, found " + get(RESTART_ATTEMPTS));
        }
        try {
            PortRange.parse(get(METRICS_PORT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(METRICS_PORT.key() + ": " + e.getMessage(), e);
        }
        positive(CHECKPOINT_INTERVAL);
        positive(WINDOW_SIZE);
        positive(LABEL_TTL);
        positive(INFERENCE_TIMEOUT);
        positive(MODEL_OPEN_TIMEOUT);
        notNegative(MAX_OUT_OF_ORDERNESS);
        notNegative(LABEL_MAX_DELAY);
        positive(IDLENESS);
        if (get(TOP_SOURCES) < 0 || get(TOP_SOURCES) > TopSources.MAX_TOP) {
            throw new IllegalArgumentException(TOP_SOURCES.key() + " must be in [0, " + TopSources.MAX_TOP
                    + "] (0: no per-source figures), found " + get(TOP_SOURCES));
        }
        unit(MIN_CONFIDENCE);
        unit(MODEL_SHADOW_SHARE);
        if (isSet(MODEL_SHADOW_BUNDLE) && get(MODEL_SHADOW_BUNDLE).isBlank()) {
            throw new IllegalArgumentException(MODEL_SHADOW_BUNDLE.key() + " must not be empty (leave it unset for "
                    + "no shadow)");
        }
        notNegativeDouble(MAX_ENTROPY);
        notNegativeDouble(MAX_MUTUAL_INFORMATION);
        long inFlight = (long) get(PARALLELISM) * get(ASYNC_CAPACITY);
        if (inFlight > get(QUEUE_CAPACITY)) {
            throw new IllegalArgumentException(QUEUE_CAPACITY.key() + " (" + get(QUEUE_CAPACITY) + ") must be at least "
                    + PARALLELISM.key() + " x " + ASYNC_CAPACITY.key() + " (" + inFlight + ")");
        }
        positive(CHECKPOINT_TIMEOUT);
        if (get(DELIVERY) == Delivery.EXACTLY_ONCE) {
            Duration timeout = get(TRANSACTION_TIMEOUT);
            Duration brokerMax = get(BROKER_TRANSACTION_MAX_TIMEOUT);
            if (timeout.compareTo(brokerMax) > 0) {
                throw new IllegalArgumentException(TRANSACTION_TIMEOUT.key() + " (" + timeout + ") must not exceed "
                        + BROKER_TRANSACTION_MAX_TIMEOUT.key() + " (" + brokerMax + ", the brokers' "
                        + "transaction.max.timeout.ms), or the broker refuses the sink's producers; lower it, or set "
                        + BROKER_TRANSACTION_MAX_TIMEOUT.key() + " to the brokers' value if they allow more");
            }
            if (isSet(TRANSACTIONAL_ID_PREFIX) && get(TRANSACTIONAL_ID_PREFIX).isBlank()) {
                throw new IllegalArgumentException(DELIVERY.key() + "=EXACTLY_ONCE requires a non-empty "
                        + TRANSACTIONAL_ID_PREFIX.key() + " (or none, for a unique one per job)");
            }
        }
        notNegative(RESTART_INITIAL_BACKOFF);
        positive(RESTART_MAX_BACKOFF);
        positive(RESTART_RESET_BACKOFF_THRESHOLD);
        if (get(RESTART_INITIAL_BACKOFF).compareTo(get(RESTART_MAX_BACKOFF)) > 0) {
            throw new IllegalArgumentException(RESTART_INITIAL_BACKOFF.key() + " (" + get(RESTART_INITIAL_BACKOFF)
                    + ") must not exceed " + RESTART_MAX_BACKOFF.key() + " (" + get(RESTART_MAX_BACKOFF) + ")");
        }
        if (!(get(RESTART_BACKOFF_MULTIPLIER) >= 1)) {
            throw new IllegalArgumentException(RESTART_BACKOFF_MULTIPLIER.key() + " must be >= 1, found "
                    + get(RESTART_BACKOFF_MULTIPLIER));
        }
        unit(RESTART_JITTER);
        recoveryWithinTransactionTimeout(longestRestartDelay(), RESTART_MAX_BACKOFF.key() + " x (1 + "
                + RESTART_JITTER.key() + ")");
        notNegative(TOPIC_CHECK_TIMEOUT);
        if (get(CREATE_MISSING_TOPICS) && get(TOPIC_CHECK_TIMEOUT).isZero()) {
            throw new IllegalArgumentException(CREATE_MISSING_TOPICS.key() + "=true needs "
                    + TOPIC_CHECK_TIMEOUT.key() + " > 0 (the check is what creates them)");
        }
        for (ConfigOption<Integer> option : List.of(CREATE_TOPICS_PARTITIONS, CREATE_TOPICS_REPLICATION)) {
            if (get(option) == 0 || get(option) < -1) {
                throw new IllegalArgumentException(option.key() + " must be positive or -1 (the broker's default), "
                        + "found " + get(option));
            }
        }
        if (get(CREATE_TOPICS_REPLICATION) > Short.MAX_VALUE) {
            throw new IllegalArgumentException(CREATE_TOPICS_REPLICATION.key() + " is too large: "
                    + get(CREATE_TOPICS_REPLICATION));
        }
        if (get(METRICS_BIND_ADDRESS).isBlank()) {
            throw new IllegalArgumentException(METRICS_BIND_ADDRESS.key() + " must not be empty (0.0.0.0 for all "
                    + "interfaces)");
        }
        for (ConfigOption<String> topic : List.of(TOPIC_IMAGES, TOPIC_LABELS, TOPIC_PREDICTIONS, TOPIC_REVIEW,
                TOPIC_DLQ, TOPIC_CALIBRATION, TOPIC_SHADOW, TOPIC_CONTROL, TOPIC_CONTROL_RESULTS)) {
            if (get(topic).isBlank()) {
                throw new IllegalArgumentException(topic.key() + " must not be empty");
            }
        }
    }

    /**
     * Builds what the tasks build from these options (the model session's settings, the decoder's limits) once, so
     * that the runtime's own rules, written only there, decide here at start-up: a configuration accepted here never
     * fails a task. The runtime's messages name its settings; these name the keys.
     */
    private void checkRuntimeRules() {
        try {
            SessionSpec.checkSettings(get(DEVICE), get(CUDA_DEVICE_ID), get(INTRA_OP_THREADS), get(INTRA_OP_SPINNING),
                    get(MAX_BATCH_SIZE), get(MAX_DELAY), get(QUEUE_CAPACITY), get(MODEL_IDLE_RELEASE));
            JobSettings.decodeLimits(options);
        } catch (IllegalArgumentException e) {
            Map<String, ConfigOption<?>> keys = Map.of("cudaDeviceId", CUDA_DEVICE_ID, "intraOpThreads",
                    INTRA_OP_THREADS, "maxBatchSize", MAX_BATCH_SIZE, "maxDelay", MAX_DELAY, "queueCapacity",
                    QUEUE_CAPACITY, "idleRelease", MODEL_IDLE_RELEASE, "maxPayloadBytes", MAX_PAYLOAD_BYTES,
                    "maxPixels", MAX_PIXELS, "maxDecodeBytes", MAX_DECODE_BYTES);
            String message = Pattern.compile("\\b(" + String.join("|", keys.keySet()) + ")\\b")
                    .matcher(e.getMessage()).replaceAll(m -> keys.get(m.group(1)).key());
            throw new IllegalArgumentException(message, e);
        }
    }

    /** The longest wait before one restart under the job's own restart strategy (the job.restart.* options). */
    private Duration longestRestartDelay() {
        return Duration.ofNanos((long) (get(RESTART_MAX_BACKOFF).toNanos() * (1 + get(RESTART_JITTER))));
    }

    /**
     * With EXACTLY_ONCE, stops start-up when a recovery could outlast {@code kafka.transaction-timeout}: the
     * transactions a restart commits were opened up to checkpoint.interval + checkpoint.timeout before the failure,
     * and the restart waits up to {@code longestRestartDelay} more; the broker aborts them once they are older than
     * the timeout, and their outputs are lost.
     *
     * @param restartDelayKeys the setting(s) that make that delay, named in the message
     * @throws IllegalArgumentException naming kafka.transaction-timeout and {@code restartDelayKeys}
     */
    public static void checkRecoveryWithinTransactionTimeout(E3StreamOptions options, Duration longestRestartDelay,
                                                             String restartDelayKeys) {
        new OptionRules(options).recoveryWithinTransactionTimeout(longestRestartDelay, restartDelayKeys);
    }

    private void recoveryWithinTransactionTimeout(Duration longestRestartDelay, String restartDelayKeys) {
        if (get(DELIVERY) != Delivery.EXACTLY_ONCE) {
            return;
        }
        Duration timeout = get(TRANSACTION_TIMEOUT);
        Duration recovery = get(CHECKPOINT_INTERVAL).plus(get(CHECKPOINT_TIMEOUT)).plus(longestRestartDelay);
        if (timeout.compareTo(recovery) <= 0) {
            throw new IllegalArgumentException(TRANSACTION_TIMEOUT.key() + " (" + timeout + ") must exceed "
                    + CHECKPOINT_INTERVAL.key() + " + " + CHECKPOINT_TIMEOUT.key() + " + the longest restart delay, "
                    + restartDelayKeys + " (" + get(CHECKPOINT_INTERVAL) + " + " + get(CHECKPOINT_TIMEOUT) + " + "
                    + longestRestartDelay + " = " + recovery + ") with EXACTLY_ONCE: a recovery commits transactions "
                    + "opened that long before, which the broker has aborted once they are older than "
                    + TRANSACTION_TIMEOUT.key() + " (their outputs would be lost). Raise " + TRANSACTION_TIMEOUT.key()
                    + " (at most " + BROKER_TRANSACTION_MAX_TIMEOUT.key() + ") or shorten " + restartDelayKeys);
        }
    }

    private void require(ConfigOption<?> option) {
        Object value = get(option);
        if (value == null || value.toString().isBlank()) {
            throw new IllegalArgumentException("missing required option " + option.key() + ": "
                    + option.description().toString().replaceAll("\\s+", " "));
        }
    }

    private void positive(ConfigOption<?> option) {
        Object value = get(option);
        boolean ok = value instanceof Duration d ? !d.isNegative() && !d.isZero() : ((Number) value).longValue() > 0;
        if (!ok) {
            throw new IllegalArgumentException(option.key() + " must be positive, found " + options.values().get(option.key()));
        }
    }

    private void notNegative(ConfigOption<Duration> option) {
        if (get(option).isNegative()) {
            throw new IllegalArgumentException(option.key() + " must not be negative, found " + options.values().get(option.key()));
        }
    }

    private void unit(ConfigOption<Double> option) {
        Double v = get(option);
        if (v != null && !(v >= 0 && v <= 1)) {
            throw new IllegalArgumentException(option.key() + " must be in [0, 1], found " + v);
        }
    }

    private void notNegativeDouble(ConfigOption<Double> option) {
        Double v = get(option);
        if (v != null && !(v >= 0)) {
            throw new IllegalArgumentException(option.key() + " must be >= 0, found " + v);
        }
    }
}
