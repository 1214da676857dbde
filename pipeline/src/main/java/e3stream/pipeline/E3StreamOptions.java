package e3stream.pipeline;

import java.io.Serializable;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;

import e3stream.pipeline.internal.OptionFiles;
import e3stream.pipeline.internal.OptionRules;
import e3stream.runtime.batch.DynamicBatcher;
import e3stream.runtime.decode.DecodeLimits;
import e3stream.runtime.model.ExecutionOptions;
import e3stream.runtime.session.SessionSpec;
import org.apache.flink.annotation.PublicEvolving;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ConfigOptions;
import org.apache.flink.configuration.Configuration;

/**
 * Every setting of the E3 Stream job as a typed Flink {@link ConfigOption}, and the validated, immutable set of values
 * one job runs with.
 *
 * <p>Values come from a YAML or properties file ({@code --config FILE}) and then from command-line overrides
 * ({@code --key value}, later wins). Keys under {@value #KAFKA_PROPERTIES_PREFIX} pass through unchanged to every
 * Kafka client (security, SASL, TLS, ...). Anything else that is not an option here is rejected, as is any value of the
 * wrong type or out of range, with a message naming the key: bad configuration stops start-up.
 *
 * <pre>{@code
 * E3StreamOptions options = E3StreamOptions.fromArgs(new String[] {"--config", "job.yaml", "--inference.max-batch-size", "64"});
 * int batch = options.get(E3StreamOptions.MAX_BATCH_SIZE);
 * Properties kafka = options.kafkaProperties();
 * }</pre>
 *
 * <p>Immutable and serializable; safe to share between threads and to ship to operators.
 */
@PublicEvolving
public final class E3StreamOptions implements Serializable {

    private static final long serialVersionUID = 1L;

    /** Prefix of Kafka client properties passed through to every source, sink and admin client. */
    public static final String KAFKA_PROPERTIES_PREFIX = "kafka.properties.";

    /** How records reach the output topics. */
    public enum Delivery {
        /** Kafka transactions committed on checkpoints: read_committed consumers see every record once. */
        EXACTLY_ONCE,
        /** Records are flushed on checkpoints but may repeat after a failure; lower end-to-end latency. */
        AT_LEAST_ONCE
    }

    /** Where the Kafka sources start when the consumer group has no committed offsets. */
    public enum StartingOffsets { EARLIEST, LATEST }

    // ---- Delivery and checkpoints ------------------------------------------------------------------------------

    public static final ConfigOption<Delivery> DELIVERY = ConfigOptions.key("delivery.guarantee")
            .enumType(Delivery.class).defaultValue(Delivery.EXACTLY_ONCE)
            .withDescription("EXACTLY_ONCE (transactions; outputs become visible to read_committed consumers when a "
                    + "checkpoint completes) or AT_LEAST_ONCE (visible at once, may repeat after a failure).");

    public static final ConfigOption<Duration> CHECKPOINT_INTERVAL = ConfigOptions.key("checkpoint.interval")
            .durationType().defaultValue(Duration.ofSeconds(2))
            .withDescription("Checkpoint interval. With EXACTLY_ONCE this bounds how long outputs stay invisible.");

    public static final ConfigOption<Boolean> CHECKPOINT_UNALIGNED = ConfigOptions.key("checkpoint.unaligned")
            .booleanType().defaultValue(false)
            .withDescription("Flink's unaligned checkpoints (execution.checkpointing.unaligned.enabled): a checkpoint "
                    + "barrier overtakes the records queued before it, so an operator with several inputs (the sink, "
                    + "the label join) does not hold back one input while it waits for the barrier on another; the "
                    + "in-flight records go into the checkpoint. Same exactly-once guarantees; trades checkpoint size "
                    + "for latency under load (BENCHMARKS.md, Pipeline).");

    public static final ConfigOption<Boolean> CHECKPOINT_CHANGELOG = ConfigOptions.key("checkpoint.changelog")
            .booleanType().defaultValue(false)
            .withDescription("Flink's changelog state backend for this job (state.changelog.enabled): every state "
                    + "change is also written to a durable log, so a checkpoint uploads only what changed since the "
                    + "previous one, and the whole state is written in the background every 10 minutes "
                    + "(state.changelog.periodic-materialize.interval). Without it, each checkpoint writes the label "
                    + "join's whole state: one entry per prediction waiting for its label, up to the event rate times "
                    + "labels.ttl. Trades some CPU per state change and log storage for checkpoints whose cost does "
                    + "not grow with that state, which is what sets exactly-once latency at short checkpoint "
                    + "intervals (BENCHMARKS.md, Pipeline). Where the log goes is the TaskManagers' setting: on a "
                    + "cluster, its Flink configuration needs state.changelog.storage: filesystem and "
                    + "state.changelog.dstl.dfs.base-path (start-up fails otherwise; deploy/local, deploy/compose and "
                    + "deploy/k8s set both, and the compose and Kubernetes job configurations turn this option on); a "
                    + "local MiniCluster run logs under its checkpoint folder. false leaves the cluster's setting. Turn "
                    + "it on for at-least-once latency and for a sustained rate without labels: side by side it lowered "
                    + "the at-least-once p99 in every pair measured, and at 2,000 events/s with about 350,000 "
                    + "predictions waiting, 1 s checkpoints of the whole state made the job fall behind without it.");

    public static final ConfigOption<Duration> CHECKPOINT_TIMEOUT = ConfigOptions.key("checkpoint.timeout")
            .durationType().defaultValue(Duration.ofMinutes(2))
            .withDescription("A checkpoint not complete within this time is discarded (Flink's "
                    + "execution.checkpointing.timeout, set on the job). With EXACTLY_ONCE, kafka.transaction-timeout "
                    + "must exceed checkpoint.timeout + checkpoint.interval.");

    public static final ConfigOption<String> CHECKPOINT_DIR = ConfigOptions.key("checkpoint.dir")
            .stringType().noDefaultValue()
            .withDescription("Durable directory (URI) for checkpoints, e.g. s3://bucket/e3/checkpoints or "
                    + "file:///var/lib/e3/checkpoints. Unset on a cluster: the cluster's execution.checkpointing.dir "
                    + "applies. Unset in a run on a local MiniCluster: a new folder under java.io.tmpdir, because "
                    + "Flink's default in-memory storage takes at most 5 MB of state per task, which the label join "
                    + "outgrows after some ten thousand unlabelled events (each prediction waits labels.ttl for its "
                    + "label).");

    public static final ConfigOption<Integer> PARALLELISM = ConfigOptions.key("job.parallelism")
            .intType().defaultValue(2)
            .withDescription("Parallelism of the sources, decoding and inference operators.");

    public static final ConfigOption<Duration> BUFFER_TIMEOUT = ConfigOptions.key("job.buffer-timeout")
            .durationType().defaultValue(Duration.ofMillis(100))
            .withDescription("Longest time a decision waits in a network buffer on its way to the Kafka sink before "
                    + "the buffer is sent half-empty (Flink's setBufferTimeout on the operator before the sink, and with "
                    + "model.control on the one before the model selector; 100 ms is Flink's default). Each decision "
                    + "crosses one such hop (two with model.control), so at low rates this adds up to its value to "
                    + "at-least-once latency; lower it (a few ms) to trade CPU for latency (BENCHMARKS.md, Pipeline). "
                    + "0 flushes after every record. The other hops (statistics, labels, dead letters, shadow results) "
                    + "keep the cluster's execution.buffer-timeout.interval: a short timeout there costs CPU and "
                    + "gains nothing.");

    public static final ConfigOption<String> JOB_NAME = ConfigOptions.key("job.name")
            .stringType().defaultValue("e3stream").withDescription("Flink job name.");

    public static final ConfigOption<Integer> RESTART_ATTEMPTS = ConfigOptions.key("job.restart-attempts")
            .intType().defaultValue(10)
            .withDescription("Restarts (from the last checkpoint) without a quiet period of "
                    + "job.restart.reset-backoff-threshold in between before the job fails: Flink's exponential-delay "
                    + "restart-strategy.exponential-delay.attempts-before-reset-backoff. The count starts again after "
                    + "the job has run that long without failing. The job.restart.* options apply unless the "
                    + "cluster's configuration sets restart-strategy.type: then the cluster's strategy is kept.");

    public static final ConfigOption<Duration> RESTART_INITIAL_BACKOFF = ConfigOptions.key("job.restart.initial-backoff")
            .durationType().defaultValue(Duration.ofSeconds(1))
            .withDescription("Delay before the first restart after a failure (exponential-delay initial-backoff).");

    public static final ConfigOption<Duration> RESTART_MAX_BACKOFF = ConfigOptions.key("job.restart.max-backoff")
            .durationType().defaultValue(Duration.ofMinutes(1))
            .withDescription("Longest delay between restarts (exponential-delay max-backoff).");

    public static final ConfigOption<Double> RESTART_BACKOFF_MULTIPLIER = ConfigOptions.key("job.restart.backoff-multiplier")
            .doubleType().defaultValue(2.0)
            .withDescription("Factor by which the delay grows after each restart (>= 1; exponential-delay "
                    + "backoff-multiplier).");

    public static final ConfigOption<Duration> RESTART_RESET_BACKOFF_THRESHOLD = ConfigOptions
            .key("job.restart.reset-backoff-threshold")
            .durationType().defaultValue(Duration.ofMinutes(10))
            .withDescription("After running this long without a failure, the delay returns to "
                    + "job.restart.initial-backoff and job.restart-attempts counts from zero again "
                    + "(exponential-delay reset-backoff-threshold).");

    public static final ConfigOption<Double> RESTART_JITTER = ConfigOptions.key("job.restart.jitter")
            .doubleType().defaultValue(0.1)
            .withDescription("Random share (0..1) added to or taken from each delay, so that jobs failing together "
                    + "do not restart in step (exponential-delay jitter-factor).");

    // ---- Model and inference -----------------------------------------------------------------------------------

    public static final ConfigOption<String> TOPIC_CONTROL = ConfigOptions.key("kafka.topic.control")
            .stringType().defaultValue("control")
            .withDescription("Input topic of model commands (shadow, promote, rollback, stop-shadow, status; "
                    + "schemas/control-command.schema.json). Read only with model.control.");

    public static final ConfigOption<String> TOPIC_CONTROL_RESULTS = ConfigOptions.key("kafka.topic.control-results")
            .stringType().defaultValue("control-results")
            .withDescription("Output topic of the answers to model commands, one per command (applied, partial "
                    + "or refused, with the reason and the models after it; schemas/control-result.schema.json). "
                    + "Written only with model.control.");

    public static final ConfigOption<Boolean> MODEL_CONTROL = ConfigOptions.key("model.control")
            .booleanType().defaultValue(false)
            .withDescription("Whether the job takes model commands from kafka.topic.control while it runs: start "
                    + "or stop a shadow model, promote it, roll back (docs/operations.md, 'Promote and roll back "
                    + "without a restart'). Which model is active and which is shadow is then checkpointed state. "
                    + "Off (the default): the models of model.bundle and model.shadow-bundle for the job's whole "
                    + "life, and one network hop less per image.");

    public static final ConfigOption<String> MODEL_BUNDLE = ConfigOptions.key("model.bundle")
            .stringType().noDefaultValue()
            .withDescription("Directory of the model bundle (model.onnx, model.json), e.g. models/e3. Required; "
                    + "must be readable on every TaskManager.");

    public static final ConfigOption<String> MODEL_SHADOW_BUNDLE = ConfigOptions.key("model.shadow-bundle")
            .stringType().noDefaultValue()
            .withDescription("Directory of a second model bundle that scores the same events beside model.bundle "
                    + "(shadow scoring) through its own session: its results go to kafka.topic.shadow and into the "
                    + "drift snapshots and e3_shadow_* gauges; decisions stay with model.bundle. Its classes must "
                    + "equal model.bundle's. Unset (the default): no shadow.");

    public static final ConfigOption<Double> MODEL_SHADOW_SHARE = ConfigOptions.key("model.shadow-share")
            .doubleType().defaultValue(1.0)
            .withDescription("Share (0..1) of the events the shadow model scores, chosen by a hash of the event id "
                    + "(so a replay after a failover scores the same events): 1 = every event. Only with "
                    + "model.shadow-bundle.");

    public static final ConfigOption<String> MODEL_BUNDLE_ROOT = ConfigOptions.key("model.bundle-root")
            .stringType().noDefaultValue()
            .withDescription("Directory that the bundles named by model commands must lie in (with model.control): "
                    + "a commanded path is resolved against it, with its symbolic links and '..', and refused when "
                    + "it leads outside. Unset (the default): the directory that holds model.bundle.");

    public static final ConfigOption<Duration> MODEL_OPEN_TIMEOUT = ConfigOptions.key("model.open-timeout")
            .durationType().defaultValue(Duration.ofSeconds(60))
            .withDescription("With model.control: how long each inference subtask may take to verify and open the "
                    + "bundles of a commanded model change (in the background, while its images go on to the models "
                    + "it uses). A subtask whose bundles are not open within this time keeps the models it uses, and "
                    + "the command's answer says so (status partial).");

    public static final ConfigOption<ExecutionOptions.Device> DEVICE = ConfigOptions.key("model.device")
            .enumType(ExecutionOptions.Device.class).defaultValue(ExecutionOptions.Device.CPU)
            .withDescription("CPU or CUDA (needs the onnxruntime_gpu build, CUDA 12 and cuDNN 9 on the TaskManager).");

    public static final ConfigOption<Integer> CUDA_DEVICE_ID = ConfigOptions.key("model.cuda-device-id")
            .intType().defaultValue(0).withDescription("CUDA device ordinal when model.device is CUDA.");

    public static final ConfigOption<Integer> INTRA_OP_THREADS = ConfigOptions.key("model.intra-op-threads")
            .intType().defaultValue(SessionSpec.DEFAULT_INTRA_OP_THREADS)
            .withDescription("ONNX Runtime intra-op threads of the shared session; 0 = ONNX Runtime's default.");

    public static final ConfigOption<Boolean> INTRA_OP_SPINNING = ConfigOptions.key("model.intra-op-spinning")
            .booleanType().defaultValue(SessionSpec.DEFAULT_INTRA_OP_SPINNING)
            .withDescription("Whether ONNX Runtime's idle intra-op threads spin-wait for the next batch (its own "
                    + "default) instead of sleeping. Off here: the session shares the TaskManager's cores with the "
                    + "task threads that parse, decode and write, and spinning took their CPU (BENCHMARKS.md, "
                    + "Pipeline).");

    public static final ConfigOption<Duration> MODEL_IDLE_RELEASE = ConfigOptions.key("model.idle-release")
            .durationType().defaultValue(SessionSpec.DEFAULT_IDLE_RELEASE)
            .withDescription("How long the JVM-wide model session stays loaded after its last operator closed, so "
                    + "that a task restart in the same JVM does not reload it.");

    public static final ConfigOption<Integer> MAX_BATCH_SIZE = ConfigOptions.key("inference.max-batch-size")
            .intType().defaultValue(DynamicBatcher.DEFAULT_MAX_BATCH_SIZE)
            .withDescription("Largest batch sent to the model (images); at most inference.queue-capacity (raise "
                    + "both together: start-up refuses a batch larger than the queue).");

    public static final ConfigOption<Duration> MAX_DELAY = ConfigOptions.key("inference.max-delay")
            .durationType().defaultValue(DynamicBatcher.DEFAULT_MAX_DELAY)
            .withDescription("Longest time the first image of a batch waits for the batch to fill.");

    public static final ConfigOption<Integer> QUEUE_CAPACITY = ConfigOptions.key("inference.queue-capacity")
            .intType().defaultValue(DynamicBatcher.DEFAULT_QUEUE_CAPACITY)
            .withDescription("Capacity of the JVM-wide batcher queue (images); must be at least "
                    + "job.parallelism x inference.async-capacity so that async I/O never overfills it, and at least "
                    + "inference.max-batch-size so that a batch can fill (start-up checks both).");

    public static final ConfigOption<Integer> ASYNC_CAPACITY = ConfigOptions.key("inference.async-capacity")
            .intType().defaultValue(128)
            .withDescription("In-flight images per inference subtask (Flink async I/O capacity); these are part of "
                    + "checkpoints.");

    public static final ConfigOption<Duration> INFERENCE_TIMEOUT = ConfigOptions.key("inference.timeout")
            .durationType().defaultValue(Duration.ofSeconds(60))
            .withDescription("An image not scored within this time fails the task (restart from checkpoint). Also "
                    + "the stall timeout of the shared model session: when no batch finishes for this long while "
                    + "images wait (a hung model worker), the session is closed and the next request or task restart "
                    + "opens a new one instead of reusing it (e3_inference_stalls_total counts them).");

    public static final ConfigOption<Integer> MAX_PAYLOAD_BYTES = ConfigOptions.key("decode.max-payload-bytes")
            .intType().defaultValue(Math.toIntExact(DecodeLimits.DEFAULT_MAX_PAYLOAD_BYTES))
            .withDescription("Largest accepted encoded image (bytes); larger ones go to the dead-letter topic.");

    public static final ConfigOption<Integer> MAX_PIXELS = ConfigOptions.key("decode.max-pixels")
            .intType().defaultValue(Math.toIntExact(DecodeLimits.DEFAULT_MAX_PIXELS))
            .withDescription("Largest accepted decoded image (width x height); larger ones go to the dead-letter topic.");

    public static final ConfigOption<Long> MAX_DECODE_BYTES = ConfigOptions.key("decode.max-decode-bytes")
            .longType().defaultValue(DecodeLimits.DEFAULT_MAX_DECODE_BYTES)
            .withDescription("Most memory (bytes) decoding one image may hold, computed from its header before any "
                    + "pixel is decoded (pixels x samples x bytes per sample, plus the decoder's copies); larger "
                    + "images go to the dead-letter topic. Keep it well inside a TaskManager's task heap divided by "
                    + "its slots.");

    public static final ConfigOption<Integer> MAX_RECORD_BYTES = ConfigOptions.key("images.max-record-bytes")
            .intType().defaultValue(2 << 20)
            .withDescription("Largest image record value (bytes) the source parses; larger records go to the "
                    + "dead-letter topic unparsed (RECORD_TOO_LARGE).");

    public static final ConfigOption<Duration> TIMESTAMP_MAX_FUTURE = ConfigOptions.key("events.timestamp.max-future")
            .durationType().defaultValue(Duration.ofMinutes(15))
            .withDescription("Image events whose timestamp lies more than this after the time they are read are "
                    + "refused (dead letter TIMESTAMP_OUT_OF_RANGE): their output record would carry that timestamp "
                    + "and the broker refuses records beyond log.message.timestamp.after.max.ms (1 h by default). "
                    + "Keep it below the broker's setting. Timestamps before 2001-09-09 (seconds sent as "
                    + "milliseconds) are always refused.");

    public static final ConfigOption<Duration> TIMESTAMP_MAX_AGE = ConfigOptions.key("events.timestamp.max-age")
            .durationType().defaultValue(Duration.ZERO)
            .withDescription("Image events whose timestamp lies more than this before the time they are read are "
                    + "refused (TIMESTAMP_OUT_OF_RANGE); 0 accepts any age (replays of old data). Set it to the "
                    + "output topics' retention to refuse records the broker would soon delete.");

    // ---- Triage (defaults come from the bundle's model.json) -------------------------------------------------

    public static final ConfigOption<Double> MIN_CONFIDENCE = ConfigOptions.key("triage.min-confidence")
            .doubleType().noDefaultValue()
            .withDescription("Accept only predictions with confidence >= this (0..1). Default: model.json triage.");

    public static final ConfigOption<Double> MAX_ENTROPY = ConfigOptions.key("triage.max-entropy")
            .doubleType().noDefaultValue()
            .withDescription("Accept only predictions with predictive entropy <= this (nats). Default: model.json triage.");

    public static final ConfigOption<Double> MAX_MUTUAL_INFORMATION = ConfigOptions.key("triage.max-mutual-information")
            .doubleType().noDefaultValue()
            .withDescription("Accept only predictions with mutual information (epistemic) <= this (nats). "
                    + "Default: model.json triage.");

    public static final ConfigOption<Double> MIN_FEATURE_LOG_DENSITY = ConfigOptions.key("triage.min-feature-log-density")
            .doubleType().noDefaultValue()
            .withDescription("Items whose feature log density is below this go to review (out_of_distribution); "
                    + "replaces the bundle's triage.min_feature_log_density. Only for bundles with the "
                    + "feature_log_density output; ignored otherwise.");

    // ---- Labels, windows, statistics ---------------------------------------------------------------------------

    public static final ConfigOption<Duration> WINDOW_SIZE = ConfigOptions.key("windows.size")
            .durationType().defaultValue(Duration.ofSeconds(10))
            .withDescription("Size of the tumbling event-time windows of the calibration and drift statistics.");

    public static final ConfigOption<Duration> MAX_OUT_OF_ORDERNESS = ConfigOptions.key("windows.max-out-of-orderness")
            .durationType().defaultValue(Duration.ofSeconds(2))
            .withDescription("Watermark delay of image events: how late (in event time) an image may arrive.");

    public static final ConfigOption<Duration> LABEL_MAX_DELAY = ConfigOptions.key("labels.max-delay")
            .durationType().defaultValue(Duration.ofSeconds(30))
            .withDescription("How long after its image (in image event time) a label may arrive and still count in "
                    + "its window's calibration statistics: calibration windows close this much after the images' "
                    + "watermark passes their end.");

    public static final ConfigOption<Duration> LABEL_TTL = ConfigOptions.key("labels.ttl")
            .durationType().defaultValue(Duration.ofMinutes(10))
            .withDescription("How long a prediction waits for its label, or a label for its prediction, in keyed "
                    + "state (processing time); unmatched labels then count in e3_labels_expired_total.");

    public static final ConfigOption<Duration> IDLENESS = ConfigOptions.key("windows.idleness")
            .durationType().defaultValue(Duration.ofSeconds(5))
            .withDescription("A source split without events for this long stops holding back the watermark.");

    public static final ConfigOption<Integer> TOP_SOURCES = ConfigOptions.key("drift.top-sources")
            .intType().defaultValue(20)
            .withDescription("How many of the busiest image sources (the events' source field) get drift and "
                    + "calibration figures of their own in each window (snapshots and the *_by_source gauges, label "
                    + "source); every other source, and events without one, count under 'other'. Bounds the metric "
                    + "cardinality: at most this + 1 values of source per metric. 0 = no per-source figures; at "
                    + "most 1000.");

    // ---- Metrics -----------------------------------------------------------------------------------------------

    public static final ConfigOption<String> METRICS_PORT = ConfigOptions.key("metrics.port")
            .stringType().defaultValue("9464")
            .withDescription("Port of the Prometheus endpoint (/metrics) each JVM running the job serves, or a range "
                    + "FROM-TO (e.g. 9464-9473, as Flink's metrics.reporter.prom.port): each JVM takes the first free "
                    + "port of it, so several TaskManagers on one host each serve one; 0 = none. A JVM that finds "
                    + "every port taken serves none and logs a warning naming the range; the job runs on.");

    public static final ConfigOption<String> METRICS_BIND_ADDRESS = ConfigOptions.key("metrics.bind-address")
            .stringType().defaultValue("0.0.0.0")
            .withDescription("Address the Prometheus endpoint listens on: 0.0.0.0 (all interfaces, the default, so "
                    + "that Prometheus on another host can scrape it), 127.0.0.1 / localhost (this host only), or the "
                    + "address of one interface. The endpoint serves metrics only, without authentication.");

    private final Map<String, String> values;

    private E3StreamOptions(Map<String, String> values) {
        this.values = Collections.unmodifiableMap(new TreeMap<>(values));
        OptionRules.check(this);
    }

    /** All options of the job ({@link KafkaOptions} first, then this class's), in declaration order. */
    public static List<ConfigOption<?>> all() {
        List<ConfigOption<?>> options = new ArrayList<>();
        for (Class<?> declaring : List.of(KafkaOptions.class, E3StreamOptions.class)) {
            for (Field field : declaring.getFields()) {
                if (Modifier.isStatic(field.getModifiers()) && field.getType() == ConfigOption.class) {
                    try {
                        options.add((ConfigOption<?>) field.get(null));
                    } catch (IllegalAccessException e) {
                        throw new IllegalStateException(e);
                    }
                }
            }
        }
        return options;
    }

    /**
     * Parses {@code [--config FILE] [--key value]...}.
     *
     * @throws IllegalArgumentException naming the argument or key that is wrong
     */
    public static E3StreamOptions fromArgs(String[] args) {
        Map<String, String> file = new LinkedHashMap<>();
        Map<String, String> overrides = new LinkedHashMap<>();
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            if (!arg.startsWith("--") || arg.length() == 2) {
                throw new IllegalArgumentException("expected --key value, found '" + arg + "' (argument " + (i + 1) + ")");
            }
            String key = arg.substring(2);
            if (i + 1 >= args.length) {
                throw new IllegalArgumentException("option --" + key + " needs a value");
            }
            String value = args[++i];
            if (key.equals("config")) {
                file.putAll(OptionFiles.read(Path.of(value)));
            } else {
                overrides.put(key, value);
            }
        }
        Map<String, String> merged = new LinkedHashMap<>(file);
        merged.putAll(overrides);
        return of(merged);
    }

    /** Validated options from flat {@code key -> value} pairs. */
    public static E3StreamOptions of(Map<String, String> values) {
        return new E3StreamOptions(values);
    }

    /** A copy with some values replaced (validated again). */
    public E3StreamOptions with(Map<String, String> changes) {
        Map<String, String> merged = new LinkedHashMap<>(values);
        merged.putAll(changes);
        return new E3StreamOptions(merged);
    }

    /** The value of an option (its default when unset; {@code null} for an unset option without default). */
    public <T> T get(ConfigOption<T> option) {
        try {
            return configuration().get(option);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("bad value '" + values.get(option.key()) + "' for " + option.key()
                    + ": " + rootMessage(e), e);
        }
    }

    /** Whether an option was given explicitly. */
    public boolean isSet(ConfigOption<?> option) {
        return values.containsKey(option.key());
    }

    /** Kafka client properties: bootstrap servers plus every {@value #KAFKA_PROPERTIES_PREFIX}* key, prefix removed. */
    public Properties kafkaProperties() {
        Properties props = new Properties();
        values.forEach((k, v) -> {
            if (k.startsWith(KAFKA_PROPERTIES_PREFIX)) {
                props.setProperty(k.substring(KAFKA_PROPERTIES_PREFIX.length()), v);
            }
        });
        props.setProperty("bootstrap.servers", get(KafkaOptions.BOOTSTRAP_SERVERS));
        return props;
    }

    /** The raw key/value pairs given. */
    public Map<String, String> values() {
        return values;
    }

    private Configuration configuration() {
        return Configuration.fromMap(values);
    }

    private static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        return t.getMessage() == null ? t.toString() : t.getMessage();
    }

    /**
     * Kafka client properties shown in clear by {@link #toString()}: settings without secrets. Every other
     * {@value #KAFKA_PROPERTIES_PREFIX}* value (passwords, keys, JAAS configuration, config-provider references,
     * keystore paths, anything new) is masked; {@code config.providers} (the providers' aliases) is shown, their
     * settings ({@code config.providers.<alias>.*}) are not.
     */
    public static final List<String> SHOWN_KAFKA_PROPERTIES = List.of("security.protocol", "sasl.mechanism",
            "client.id", "acks", "linger.ms", "batch.size", "compression.type", "max.request.size",
            "request.timeout.ms", "delivery.timeout.ms", "retries", "retry.backoff.ms", "enable.idempotence",
            "isolation.level", "max.poll.records", "fetch.max.bytes", "max.partition.fetch.bytes",
            "session.timeout.ms", "auto.offset.reset", "client.dns.lookup", "ssl.endpoint.identification.algorithm",
            "ssl.protocol", "ssl.enabled.protocols", "config.providers");

    /** What {@link #toString()} shows for a masked value. */
    public static final String MASK = "******";

    /**
     * All values, with every {@value #KAFKA_PROPERTIES_PREFIX}* value masked except those of
     * {@link #SHOWN_KAFKA_PROPERTIES}: safe to log.
     */
    @Override
    public String toString() {
        Map<String, String> shown = new TreeMap<>(values);
        shown.replaceAll((k, v) -> k.startsWith(KAFKA_PROPERTIES_PREFIX)
                && !SHOWN_KAFKA_PROPERTIES.contains(k.substring(KAFKA_PROPERTIES_PREFIX.length())) ? MASK : v);
        return "E3StreamOptions" + shown;
    }

    /**
     * Whether the job has a shadow-scoring path (and writes {@code kafka.topic.shadow}): with
     * {@code model.shadow-bundle}, or with {@code model.control}, where a command can start a shadow at any time.
     */
    public boolean shadowScoring() {
        return isSet(MODEL_SHADOW_BUNDLE) || get(MODEL_CONTROL);
    }

    /**
     * Every topic the job writes to: decisions, dead letters and snapshots; the shadow topic only with shadow scoring,
     * {@code control-results} only with {@code model.control}.
     */
    public List<String> outputTopics() {
        List<String> topics = new ArrayList<>(List.of(get(KafkaOptions.TOPIC_PREDICTIONS), get(KafkaOptions.TOPIC_REVIEW), get(KafkaOptions.TOPIC_DLQ),
                get(KafkaOptions.TOPIC_CALIBRATION)));
        if (shadowScoring()) {
            topics.add(get(KafkaOptions.TOPIC_SHADOW));
        }
        if (get(MODEL_CONTROL)) {
            topics.add(get(TOPIC_CONTROL_RESULTS));
        }
        return topics;
    }
}
