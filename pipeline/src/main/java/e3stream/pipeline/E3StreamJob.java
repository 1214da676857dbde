package e3stream.pipeline;

import e3stream.pipeline.internal.TopicCheck;
import e3stream.pipeline.internal.TransactionVersionCheck;
import e3stream.pipeline.internal.IdleWatermarks;
import e3stream.pipeline.internal.JvmStatics;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Properties;
import java.util.function.UnaryOperator;

import e3stream.pipeline.internal.events.ImageRecordDeserializer;
import e3stream.pipeline.internal.events.LabelEvent;
import e3stream.pipeline.internal.events.OutputFit;
import e3stream.pipeline.internal.events.OutputLimits;
import e3stream.pipeline.internal.events.OutputRecord;
import e3stream.pipeline.internal.events.OutputRecordSerializer;
import e3stream.pipeline.internal.events.ParsedImage;
import e3stream.pipeline.internal.events.Prediction;
import e3stream.pipeline.internal.events.RawRecord;
import e3stream.pipeline.internal.events.RawRecordDeserializer;
import e3stream.pipeline.internal.events.ShadowPrediction;
import e3stream.pipeline.internal.inference.ActiveOutput;
import e3stream.pipeline.internal.inference.Inferred;
import e3stream.pipeline.internal.inference.ShadowInferenceFunction;
import e3stream.pipeline.internal.inference.DecodedImage;
import e3stream.pipeline.internal.inference.InferenceFunction;
import e3stream.pipeline.internal.inference.DecodeFunction;
import e3stream.pipeline.internal.control.ModelControlFunction;
import e3stream.pipeline.internal.control.ModelSelector;
import e3stream.pipeline.internal.labels.ImageTimeOperator;
import e3stream.pipeline.internal.labels.JoinKey;
import e3stream.pipeline.internal.labels.LabelJoinFunction;
import e3stream.pipeline.internal.labels.LabelledPrediction;
import e3stream.pipeline.internal.labels.ParseLabelFunction;
import e3stream.pipeline.internal.metrics.MetricsServer;
import e3stream.pipeline.internal.metrics.PipelineMetrics;
import e3stream.pipeline.internal.metrics.PortRange;
import e3stream.pipeline.internal.metrics.TransactionTimeoutWatch;
import e3stream.pipeline.internal.stats.LateLabelCounter;
import e3stream.pipeline.internal.stats.PartialsMerge;
import e3stream.pipeline.internal.stats.ShadowCalibrations;
import e3stream.pipeline.internal.stats.StatsAggregate;
import e3stream.pipeline.internal.stats.StatsWindowFunction;
import e3stream.pipeline.internal.stats.WindowPreAggregator;
import e3stream.runtime.model.BundleDescription;
import e3stream.runtime.model.BundleException;
import e3stream.runtime.model.BundleManifest;
import e3stream.runtime.session.ModelRoster;
import e3stream.runtime.session.ShadowShare;
import e3stream.runtime.stats.CalibrationStats;
import e3stream.runtime.stats.DriftStats;
import e3stream.runtime.stats.MergeableStats;
import e3stream.runtime.stats.ReferenceDistributions;
import com.esotericsoftware.kryo.serializers.JavaSerializer;
import org.apache.flink.annotation.PublicEvolving;
import org.apache.flink.api.common.JobExecutionResult;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.functions.AggregateFunction;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.functions.RichMapFunction;
import org.apache.flink.api.common.serialization.SerializerConfigImpl;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.java.typeutils.EitherTypeInfo;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.ExternalizedCheckpointRetention;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ConfigOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.ReadableConfig;
import org.apache.flink.runtime.state.FunctionInitializationContext;
import org.apache.flink.runtime.state.FunctionSnapshotContext;
import org.apache.flink.streaming.api.checkpoint.CheckpointedFunction;
import org.apache.flink.api.common.state.CheckpointListener;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.configuration.StateChangelogOptions;
import org.apache.flink.connector.base.DeliveryGuarantee;
import org.apache.flink.connector.kafka.sink.KafkaSink;
import org.apache.flink.connector.kafka.sink.TransactionNamingStrategy;
import org.apache.flink.connector.kafka.source.KafkaSource;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.flink.connector.kafka.source.reader.deserializer.KafkaRecordDeserializationSchema;
import org.apache.flink.streaming.api.datastream.AllWindowedStream;
import org.apache.flink.streaming.api.datastream.AsyncDataStream;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.environment.LocalStreamEnvironment;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.windowing.assigners.TumblingEventTimeWindows;
import org.apache.flink.streaming.api.windowing.windows.TimeWindow;
import org.apache.flink.types.Either;
import org.apache.flink.util.OutputTag;
import org.apache.kafka.clients.consumer.OffsetResetStrategy;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The E3 Stream job: images from Kafka, parsed and decoded in parallel (bad ones to the dead-letter topic), scored
 * by the shared E3 model session through async I/O, triaged to {@code predictions} or {@code review}; labels joined
 * for windowed calibration statistics and label-free drift statistics to the {@code calibration} topic and
 * Prometheus. All outputs go through one Kafka sink, exactly-once by default.
 *
 * <pre>{@code
 * StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(E3StreamJob.flinkConfiguration(options));
 * // or, on a MiniCluster in this JVM: StreamExecutionEnvironment.createLocalEnvironment(E3StreamJob.localConfiguration(options));
 * E3StreamJob.build(env, options);
 * env.execute(options.get(E3StreamOptions.JOB_NAME));
 * }</pre>
 *
 * <p>{@link #main} runs it on whatever environment it is started in: a cluster ({@code flink run}) or, started as a
 * plain Java program, a local MiniCluster in this JVM.
 */
@PublicEvolving
public final class E3StreamJob {

    private static final Logger LOG = LoggerFactory.getLogger(E3StreamJob.class);

    /** Partials of labelled predictions whose calibration window had closed (all subtasks' watermarks past it). */
    private static final OutputTag<CalibrationStats> LATE_LABELS = new OutputTag<>("late-labels") { };

    private E3StreamJob() {
    }

    public static void main(String[] args) throws Exception {
        E3StreamOptions options;
        BundleDescription bundle;
        Optional<BundleDescription> shadow;
        try {
            options = E3StreamOptions.fromArgs(args);
            bundle = describeBundle(options); // a bad bundle stops start-up here
            shadow = describeShadowBundle(options, bundle);
            if (options.get(E3StreamOptions.MODEL_CONTROL)) {
                options.bundleRoot(bundle); // a bad model.bundle-root stops start-up here
            }
        } catch (IllegalArgumentException | BundleException e) {
            String message = "bad configuration: " + e.getMessage();
            // Under a Flink client (flink run, REST /jars/run) System.exit would end the client's JVM, for a REST
            // submission the JobManager: there the error goes back to the client; a plain program exits with 2.
            if (!(StreamExecutionEnvironment.getExecutionEnvironment() instanceof LocalStreamEnvironment)) {
                throw new IllegalArgumentException(message, e);
            }
            System.err.println("e3stream: " + message);
            System.err.println("usage: [--config FILE.yaml|FILE.properties] [--<key> <value>]...  (keys: docs/configuration.md)");
            System.exit(2);
            return;
        }
        LOG.info("starting with {}", options);
        OutputLimits limits;
        try {
            TopicCheck.ensureTopics(options);
            TransactionVersionCheck.check(options);
            limits = TopicCheck.outputLimits(options);
        } catch (TopicCheck.TopicCheckException | TransactionVersionCheck.TransactionVersionException e) {
            if (!(StreamExecutionEnvironment.getExecutionEnvironment() instanceof LocalStreamEnvironment)) {
                throw new IllegalStateException(e.getMessage(), e);
            }
            System.err.println("e3stream: " + e.getMessage());
            System.exit(2);
            return;
        }
        // The cluster's configuration as this client sees it (flink run, REST /jars/run: the cluster's), so that a
        // restart strategy set there is kept.
        ReadableConfig cluster = StreamExecutionEnvironment.getExecutionEnvironment().getConfiguration();
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(
                flinkConfiguration(options, cluster));
        if (env instanceof LocalStreamEnvironment) {
            // Started as a plain Java program: a MiniCluster in this JVM, which needs a checkpoint folder of its own.
            Configuration local = localConfiguration(options);
            LOG.info("running on a MiniCluster in this JVM; checkpoints in {}", local.get(CheckpointingOptions.CHECKPOINTS_DIRECTORY));
            System.out.printf("E3 Stream: the job runs on a Flink MiniCluster in this JVM until stopped (Ctrl-C): images "
                            + "from '%s' at %s, model %s, decisions to '%s' / '%s', dead letters to '%s', metrics on port "
                            + "%s%n", options.get(E3StreamOptions.TOPIC_IMAGES), options.get(E3StreamOptions.BOOTSTRAP_SERVERS),
                    bundle.provenance(), options.get(E3StreamOptions.TOPIC_PREDICTIONS),
                    options.get(E3StreamOptions.TOPIC_REVIEW), options.get(E3StreamOptions.TOPIC_DLQ),
                    options.get(E3StreamOptions.METRICS_PORT));
            env = StreamExecutionEnvironment.createLocalEnvironment(local);
        }
        build(env, options, bundle, shadow, limits, UnaryOperator.identity());
        JobExecutionResult result = env.execute(options.get(E3StreamOptions.JOB_NAME));
        // Submitted detached (Flink's REST /jars/run, `flink run -d`) there is no runtime to report, and asking for
        // it throws, which would answer the REST call with an error for a job that runs fine.
        if (result.isJobExecutionResult()) {
            LOG.info("job finished after {} ms", result.getNetRuntime());
        }
    }

    /**
     * Flink settings the job needs wherever it runs: the restart strategy, and checkpoint storage when
     * {@code checkpoint.dir} is set (otherwise the cluster's own storage settings apply). As
     * {@link #flinkConfiguration(E3StreamOptions, ReadableConfig)} on a cluster that sets no restart strategy.
     */
    public static Configuration flinkConfiguration(E3StreamOptions options) {
        return flinkConfiguration(options, new Configuration());
    }

    /**
     * Flink settings the job needs on a cluster whose own configuration is {@code cluster}: Flink's exponential-delay
     * restart strategy with reset from the {@code job.restart*} options, unless {@code cluster} sets
     * {@code restart-strategy.type} (then the cluster's strategy is kept and the job sets none); checkpoint storage
     * when {@code checkpoint.dir} is set.
     */
    public static Configuration flinkConfiguration(E3StreamOptions options, ReadableConfig cluster) {
        Configuration conf = new Configuration();
        if (cluster.getOptional(RestartStrategyOptions.RESTART_STRATEGY).isPresent()) {
            LOG.info("keeping the cluster's restart strategy {} (restart-strategy.type is set there); the job's "
                    + "job.restart* options do not apply", cluster.get(RestartStrategyOptions.RESTART_STRATEGY));
            checkClusterRestartDelay(options, cluster);
        } else {
            conf.set(RestartStrategyOptions.RESTART_STRATEGY, "exponential-delay");
            conf.set(RestartStrategyOptions.RESTART_STRATEGY_EXPONENTIAL_DELAY_INITIAL_BACKOFF,
                    options.get(E3StreamOptions.RESTART_INITIAL_BACKOFF));
            conf.set(RestartStrategyOptions.RESTART_STRATEGY_EXPONENTIAL_DELAY_MAX_BACKOFF,
                    options.get(E3StreamOptions.RESTART_MAX_BACKOFF));
            conf.set(RestartStrategyOptions.RESTART_STRATEGY_EXPONENTIAL_DELAY_BACKOFF_MULTIPLIER,
                    options.get(E3StreamOptions.RESTART_BACKOFF_MULTIPLIER));
            conf.set(RestartStrategyOptions.RESTART_STRATEGY_EXPONENTIAL_DELAY_RESET_BACKOFF_THRESHOLD,
                    options.get(E3StreamOptions.RESTART_RESET_BACKOFF_THRESHOLD));
            conf.set(RestartStrategyOptions.RESTART_STRATEGY_EXPONENTIAL_DELAY_JITTER_FACTOR,
                    options.get(E3StreamOptions.RESTART_JITTER));
            conf.set(RestartStrategyOptions.RESTART_STRATEGY_EXPONENTIAL_DELAY_ATTEMPTS,
                    options.get(E3StreamOptions.RESTART_ATTEMPTS));
        }
        if (options.isSet(E3StreamOptions.CHECKPOINT_DIR)) {
            checkpointsTo(conf, options.get(E3StreamOptions.CHECKPOINT_DIR));
        }
        if (options.get(E3StreamOptions.CHECKPOINT_CHANGELOG)) {
            changelogOn(conf, cluster);
        }
        // The last checkpoint outlives a job that failed for good or was cancelled, so it can be resumed from
        // (docs/operations.md, "Resuming after a failure"); a cluster's own setting is kept.
        if (cluster.getOptional(CheckpointingOptions.EXTERNALIZED_CHECKPOINT_RETENTION).isEmpty()) {
            conf.set(CheckpointingOptions.EXTERNALIZED_CHECKPOINT_RETENTION,
                    ExternalizedCheckpointRetention.RETAIN_ON_CANCELLATION);
        }
        return conf;
    }

    /**
     * {@link E3StreamOptions#checkRecoveryWithinTransactionTimeout} for the restart strategy the cluster sets
     * (restart-strategy.type and its delay keys); a strategy that never restarts has no recovery to check.
     */
    private static void checkClusterRestartDelay(E3StreamOptions options, ReadableConfig cluster) {
        String type = cluster.get(RestartStrategyOptions.RESTART_STRATEGY).toLowerCase(java.util.Locale.ROOT)
                .replace("-", "");
        Duration delay;
        String keys;
        switch (type) {
            case "fixeddelay" -> {
                delay = cluster.get(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_DELAY);
                keys = RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_DELAY.key();
            }
            case "failurerate" -> {
                delay = cluster.get(RestartStrategyOptions.RESTART_STRATEGY_FAILURE_RATE_DELAY);
                keys = RestartStrategyOptions.RESTART_STRATEGY_FAILURE_RATE_DELAY.key();
            }
            case "exponentialdelay" -> {
                delay = Duration.ofNanos((long) (cluster.get(
                        RestartStrategyOptions.RESTART_STRATEGY_EXPONENTIAL_DELAY_MAX_BACKOFF).toNanos()
                        * (1 + cluster.get(RestartStrategyOptions.RESTART_STRATEGY_EXPONENTIAL_DELAY_JITTER_FACTOR))));
                keys = RestartStrategyOptions.RESTART_STRATEGY_EXPONENTIAL_DELAY_MAX_BACKOFF.key() + " x (1 + "
                        + RestartStrategyOptions.RESTART_STRATEGY_EXPONENTIAL_DELAY_JITTER_FACTOR.key() + ")";
            }
            default -> {
                return; // none, off, disable
            }
        }
        options.checkRecoveryWithinTransactionTimeout(delay, keys + " of the cluster's restart strategy");
    }

    /** Flink's key of the changelog's folder (FsStateChangelogOptions.BASE_PATH, in the cluster's flink-dist jar). */
    private static final ConfigOption<String> CHANGELOG_BASE_PATH = ConfigOptions
            .key("state.changelog.dstl.dfs.base-path").stringType().noDefaultValue()
            .withDeprecatedKeys("dstl.dfs.base-path");

    /**
     * The changelog state backend for this job ({@code checkpoint.changelog}). Where the log goes is the
     * TaskManagers' own setting (Flink reads {@code state.changelog.storage} and {@code state.changelog.dstl.dfs.base-path} from the
     * TaskManager's configuration, not the job's), so a cluster must have both; a MiniCluster run gets them from
     * {@link #localConfiguration}.
     */
    private static void changelogOn(Configuration conf, ReadableConfig cluster) {
        String storage = cluster.get(StateChangelogOptions.STATE_CHANGE_LOG_STORAGE);
        if (!"filesystem".equalsIgnoreCase(storage) || cluster.getOptional(CHANGELOG_BASE_PATH).isEmpty()) {
            throw new IllegalArgumentException(E3StreamOptions.CHECKPOINT_CHANGELOG.key() + " is true, but the "
                    + "cluster keeps no durable state changelog: set " + StateChangelogOptions.STATE_CHANGE_LOG_STORAGE.key()
                    + ": filesystem and " + CHANGELOG_BASE_PATH.key() + ": <a durable folder, like the checkpoints'> "
                    + "in the cluster's Flink configuration (its TaskManagers read them; found storage '" + storage
                    + "', folder " + cluster.getOptional(CHANGELOG_BASE_PATH).orElse("unset") + ")");
        }
        conf.set(StateChangelogOptions.ENABLE_STATE_CHANGE_LOG, true);
    }

    /**
     * {@link #flinkConfiguration} for a MiniCluster in this JVM (embedded demo, local run, tests): without
     * {@code checkpoint.dir}, checkpoints go to a new folder under {@code java.io.tmpdir} instead of Flink's 5 MB
     * in-memory default, which the label-join state outgrows.
     */
    public static Configuration localConfiguration(E3StreamOptions options) {
        Configuration local = new Configuration(); // the MiniCluster's own settings, as a cluster's would be
        String checkpoints = options.isSet(E3StreamOptions.CHECKPOINT_DIR)
                ? options.get(E3StreamOptions.CHECKPOINT_DIR) : null;
        if (checkpoints == null) {
            try {
                checkpoints = Files.createTempDirectory("e3stream-checkpoints-").toUri().toString();
            } catch (IOException e) {
                throw new UncheckedIOException("cannot create a checkpoint folder under java.io.tmpdir; set "
                        + E3StreamOptions.CHECKPOINT_DIR.key(), e);
            }
            checkpointsTo(local, checkpoints);
        }
        if (options.get(E3StreamOptions.CHECKPOINT_CHANGELOG)) {
            local.set(StateChangelogOptions.STATE_CHANGE_LOG_STORAGE, "filesystem");
            local.set(CHANGELOG_BASE_PATH, checkpoints.replaceAll("/+$", "") + "/changelog");
        }
        Configuration conf = flinkConfiguration(options, local);
        conf.addAll(local);
        return conf;
    }

    private static void checkpointsTo(Configuration conf, String directory) {
        conf.set(CheckpointingOptions.CHECKPOINT_STORAGE, "filesystem");
        conf.set(CheckpointingOptions.CHECKPOINTS_DIRECTORY, directory);
    }

    /**
     * Reads and verifies the bundle of {@code model.bundle}: the one read of model.json while the job is built; the
     * operators get this description.
     *
     * @throws BundleException when the bundle is missing or invalid (the message says what to fix)
     */
    public static BundleDescription describeBundle(E3StreamOptions options) {
        return BundleDescription.load(Path.of(options.get(E3StreamOptions.MODEL_BUNDLE)));
    }

    /**
     * Reads and verifies the bundle of {@code model.shadow-bundle}, as {@link #describeBundle} the active one; empty
     * when no shadow bundle is set.
     *
     * @throws BundleException when the shadow bundle is missing or invalid, or its classes differ from the active
     *                         bundle's (the message names both bundles)
     */
    public static Optional<BundleDescription> describeShadowBundle(E3StreamOptions options, BundleDescription active) {
        if (!options.isSet(E3StreamOptions.MODEL_SHADOW_BUNDLE)) {
            return Optional.empty();
        }
        BundleDescription shadow;
        try {
            shadow = BundleDescription.load(Path.of(options.get(E3StreamOptions.MODEL_SHADOW_BUNDLE)));
        } catch (BundleException e) {
            throw new BundleException(E3StreamOptions.MODEL_SHADOW_BUNDLE.key() + ": " + e.getMessage(), e);
        }
        List<String> activeClasses = active.manifest().classes();
        List<String> shadowClasses = shadow.manifest().classes();
        if (!activeClasses.equals(shadowClasses)) {
            throw new BundleException("the shadow bundle " + shadow.directory() + " (" + shadow.provenance()
                    + ", " + E3StreamOptions.MODEL_SHADOW_BUNDLE.key() + ") has classes " + shadowClasses
                    + ", the active bundle " + active.directory() + " (" + active.provenance() + ", "
                    + E3StreamOptions.MODEL_BUNDLE.key() + ") has " + activeClasses
                    + ": a shadow must predict the same classes, in the same order");
        }
        return Optional.of(shadow);
    }

    /**
     * Adds the job's sources, operators and sink to {@code env}, the sink bound by the output topics' limits as the
     * brokers report them ({@link TopicCheck#outputLimits}).
     *
     * @throws IllegalStateException when the limits cannot be read or cannot be honoured (the message says why)
     */
    public static void build(StreamExecutionEnvironment env, E3StreamOptions options) {
        build(env, options, UnaryOperator.identity());
    }

    /**
     * As {@link #build(StreamExecutionEnvironment, E3StreamOptions)}, with {@code beforeInference} applied to the
     * decoded images (tests inject faults there).
     */
    public static void build(StreamExecutionEnvironment env, E3StreamOptions options,
                             UnaryOperator<DataStream<DecodedImage>> beforeInference) {
        BundleDescription bundle = describeBundle(options);
        Optional<BundleDescription> shadow = describeShadowBundle(options, bundle);
        OutputLimits limits;
        try {
            limits = TopicCheck.outputLimits(options);
        } catch (TopicCheck.TopicCheckException e) {
            throw new IllegalStateException(e.getMessage(), e);
        }
        build(env, options, bundle, shadow, limits, beforeInference);
    }

    private static void build(StreamExecutionEnvironment env, E3StreamOptions options, BundleDescription bundle,
                              Optional<BundleDescription> shadowBundle, OutputLimits limits,
                              UnaryOperator<DataStream<DecodedImage>> beforeInference) {
        // The statistics accumulators are Serializable but hold unmodifiable collections that Kryo cannot rebuild
        // (copy-on-write snapshots and restores would fail): Java serialization for them.
        SerializerConfigImpl serializers = (SerializerConfigImpl) env.getConfig().getSerializerConfig();
        serializers.registerTypeWithKryoSerializer(DriftStats.class, JavaSerializer.class);
        serializers.registerTypeWithKryoSerializer(CalibrationStats.class, JavaSerializer.class);
        serializers.registerTypeWithKryoSerializer(ShadowCalibrations.class, JavaSerializer.class);
        serializers.registerTypeWithKryoSerializer(ModelRoster.class, JavaSerializer.class);
        int parallelism = options.get(E3StreamOptions.PARALLELISM);
        env.setParallelism(parallelism);
        env.enableCheckpointing(options.get(E3StreamOptions.CHECKPOINT_INTERVAL).toMillis());
        env.getCheckpointConfig().enableUnalignedCheckpoints(options.get(E3StreamOptions.CHECKPOINT_UNALIGNED));
        // Explicit: kafka.transaction-timeout is validated against it (E3StreamOptions).
        env.getCheckpointConfig().setCheckpointTimeout(options.get(E3StreamOptions.CHECKPOINT_TIMEOUT).toMillis());

        // Event time and watermarks in the source: one watermark per Kafka partition, so partitions replayed at uneven
        // speeds (a backlog) hold event time back at the slowest, however many partitions a subtask reads.
        // Each image record is parsed once, in the source (ImageRecordDeserializer), where its event time is read.
        DataStream<ParsedImage> images = env.fromSource(source(options, options.get(E3StreamOptions.TOPIC_IMAGES),
                        new ImageRecordDeserializer(options.timestampWindow(), options.get(E3StreamOptions.MAX_RECORD_BYTES))),
                WatermarkStrategy.<ParsedImage>forBoundedOutOfOrderness(options.get(E3StreamOptions.MAX_OUT_OF_ORDERNESS))
                        .withTimestampAssigner((parsed, kafkaTimestamp) -> parsed.eventTime())
                        .withIdleness(options.get(E3StreamOptions.IDLENESS)),
                "images-source").uid("images-source");

        SingleOutputStreamOperator<DecodedImage> decoded = images
                .process(new DecodeFunction(bundle, options.get(E3StreamOptions.TOPIC_DLQ), options.decodeLimits(),
                        options.producerMaxRequestSize()))
                .name("parse-decode").uid("parse-decode");
        DataStream<OutputRecord> deadLetters = decoded.getSideOutput(DecodeFunction.DEAD_LETTERS);

        // With model.control: the control topic's commands decide which models score each image from here on.
        DataStream<DecodedImage> toScore = beforeInference.apply(decoded);
        DataStream<OutputRecord> controlResults = null;
        long decisionBufferTimeout = options.get(E3StreamOptions.BUFFER_TIMEOUT).toMillis();
        if (options.get(E3StreamOptions.MODEL_CONTROL)) {
            // The selector takes two inputs, so it starts a task of its own: a hop on the decision path.
            toScore.getTransformation().setBufferTimeout(decisionBufferTimeout);
            ModelRoster configured = ModelRoster.configured(bundle, shadowBundle.orElse(null),
                    options.get(E3StreamOptions.MODEL_SHADOW_SHARE));
            SingleOutputStreamOperator<ModelRoster> rosters = env.fromSource(source(options,
                                    options.get(E3StreamOptions.TOPIC_CONTROL), new RawRecordDeserializer()),
                            // Commands never hold back the images' event time in the selector.
                            IdleWatermarks.<RawRecord>strategy(), "control-source").uid("control-source").setParallelism(1)
                    .keyBy(r -> 0, TypeInformation.of(Integer.class))
                    .process(new ModelControlFunction(configured, options.bundleRoot(bundle),
                            options.get(E3StreamOptions.TOPIC_CONTROL_RESULTS)))
                    .returns(TypeInformation.of(ModelRoster.class))
                    .name("model-control").uid("model-control").setParallelism(1);
            controlResults = rosters.getSideOutput(ModelControlFunction.RESULTS);
            toScore = toScore.connect(rosters.broadcast(ModelSelector.ROSTER))
                    .process(new ModelSelector(configured)).name("model-selector").uid("model-selector");
            LOG.info("model control on: commands from '{}', answers to '{}'; starting with {}",
                    options.get(E3StreamOptions.TOPIC_CONTROL), options.get(E3StreamOptions.TOPIC_CONTROL_RESULTS),
                    configured);
        }

        ShadowShare shadowShare = shadowBundle.isPresent()
                ? new ShadowShare(options.get(E3StreamOptions.MODEL_SHADOW_SHARE)) : null;
        SingleOutputStreamOperator<Prediction> predictions = AsyncDataStream.unorderedWait(toScore,
                        new InferenceFunction(options.sessionSpec(bundle), options.triageOverrides(), shadowShare),
                        options.get(E3StreamOptions.INFERENCE_TIMEOUT).toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS,
                        options.get(E3StreamOptions.ASYNC_CAPACITY))
                .name("e3-inference").uid("e3-inference")
                // The active prediction goes on at once; a shadow request (with the image) to the side.
                .process(new ActiveOutput()).name("active-output").uid("active-output");

        BundleManifest manifest = bundle.manifest();
        // Shadow scoring: after the active decision, through the shadow bundle's own session.
        DataStream<ShadowPrediction> shadowResults = null;
        StatsWindowFunction.ShadowModel shadowModel = null;
        if (shadowBundle.isPresent()) {
            BundleManifest shadowManifest = shadowBundle.get().manifest();
            String activeLabel = manifest.name();
            String shadowLabel = PipelineMetrics.shadowLabel(activeLabel, shadowManifest.name(), shadowManifest.version());
            shadowModel = new StatsWindowFunction.ShadowModel(shadowManifest.name(), shadowManifest.version(),
                    activeLabel, shadowLabel);
            LOG.info("shadow scoring {} of the events with {} (decisions stay with {})", shadowShare.share(),
                    shadowBundle.get().provenance(), bundle.provenance());
        }
        if (options.shadowScoring()) {
            // Without a configured shadow (model.control only), a commanded shadow gets the active bundle's settings.
            shadowResults = AsyncDataStream.unorderedWait(predictions.getSideOutput(ActiveOutput.SHADOW_REQUESTS),
                            new ShadowInferenceFunction(options.sessionSpec(shadowBundle.orElse(bundle)),
                                    shadowBundle.isPresent()),
                            options.get(E3StreamOptions.INFERENCE_TIMEOUT).toMillis(),
                            java.util.concurrent.TimeUnit.MILLISECONDS, options.get(E3StreamOptions.ASYNC_CAPACITY))
                    .name("shadow-inference").uid("shadow-inference");
        }

        String acceptTopic = options.get(E3StreamOptions.TOPIC_PREDICTIONS);
        String reviewTopic = options.get(E3StreamOptions.TOPIC_REVIEW);
        DataStream<OutputRecord> decisions = predictions
                .map(new ToOutput(acceptTopic, reviewTopic, PortRange.parse(options.get(E3StreamOptions.METRICS_PORT)),
                        options.get(E3StreamOptions.METRICS_BIND_ADDRESS), new TransactionTimeoutWatch(
                        options.get(E3StreamOptions.DELIVERY) == E3StreamOptions.Delivery.EXACTLY_ONCE
                                ? options.get(E3StreamOptions.TRANSACTION_TIMEOUT) : Duration.ZERO)))
                .name("to-output").uid("to-output")
                // job.buffer-timeout on the decisions' hop to the sink only: every other hop (statistics, labels,
                // dead letters, shadow results) keeps the cluster's execution.buffer-timeout.interval, as each
                // output's flusher thread wakes once per timeout (BENCHMARKS.md, "How busy the machine is").
                .setBufferTimeout(decisionBufferTimeout);

        String calibrationTopic = options.get(E3StreamOptions.TOPIC_CALIBRATION);
        Duration window = options.get(E3StreamOptions.WINDOW_SIZE);
        int topSources = options.get(E3StreamOptions.TOP_SOURCES);

        // Label-free drift: every prediction (and every shadow result), windowed by image event time.
        EitherTypeInfo<Prediction, ShadowPrediction> driftItem = new EitherTypeInfo<>(
                TypeInformation.of(Prediction.class), TypeInformation.of(ShadowPrediction.class));
        DataStream<Either<Prediction, ShadowPrediction>> driftInput = predictions
                .map(p -> Either.<Prediction, ShadowPrediction>Left(p)).returns(driftItem)
                .name("drift-input").uid("drift-input");
        if (shadowResults != null) {
            driftInput = driftInput.union(shadowResults
                    .map(s -> Either.<Prediction, ShadowPrediction>Right(s)).returns(driftItem)
                    .name("shadow-drift-input").uid("shadow-drift-input"));
        }
        StatsAggregate<Either<Prediction, ShadowPrediction>, DriftStats> driftItems = StatsAggregate.drift(
                ReferenceDistributions.fromJson(manifest.referenceJson()), topSources, shadowResults != null);
        TypeInformation<DriftStats> driftStats = TypeInformation.of(DriftStats.class);
        DataStream<OutputRecord> drift = partialsPerWindow(driftInput, "drift-partials", window, driftItems, driftStats)
                .aggregate(new PartialsMerge<>(driftItems),
                        StatsWindowFunction.drift(calibrationTopic, manifest.name(), manifest.version(), topSources,
                                shadowModel))
                .name("drift-window").uid("drift-window");

        // Delayed labels joined by id, then calibration per window of the image's event time.
        SingleOutputStreamOperator<LabelEvent> parsedLabels = env.fromSource(source(options,
                                options.get(E3StreamOptions.TOPIC_LABELS), new RawRecordDeserializer()),
                        WatermarkStrategy.noWatermarks(), "labels-source").uid("labels-source")
                .process(new ParseLabelFunction(bundle, options.get(E3StreamOptions.TOPIC_DLQ),
                        options.producerMaxRequestSize()))
                .name("parse-labels").uid("parse-labels");
        DataStream<OutputRecord> labelDeadLetters = parsedLabels.getSideOutput(ParseLabelFunction.DEAD_LETTERS);
        DataStream<LabelEvent> labels = parsedLabels
                .assignTimestampsAndWatermarks(IdleWatermarks.<LabelEvent>strategy()).name("labels-idle").uid("labels-idle");
        DataStream<LabelledPrediction> joined = joinLabels(predictions, labels, "", true, options);
        StatsAggregate<LabelledPrediction, CalibrationStats> calibrationItems =
                StatsAggregate.calibration(manifest.classes().size(), topSources);
        TypeInformation<CalibrationStats> calibrationStats = TypeInformation.of(CalibrationStats.class);
        SingleOutputStreamOperator<OutputRecord> calibration = partialsPerWindow(joined, "calibration-partials", window,
                        calibrationItems, calibrationStats)
                .sideOutputLateData(LATE_LABELS)
                .aggregate(new PartialsMerge<>(calibrationItems),
                        StatsWindowFunction.calibration(calibrationTopic, manifest.name(), manifest.version(),
                                topSources))
                .name("calibration-window").uid("calibration-window");
        DataStream<OutputRecord> late = calibration.getSideOutput(LATE_LABELS)
                .process(new LateLabelCounter()).name("late-labels").uid("late-labels");

        DataStream<OutputRecord> out = decisions.union(deadLetters, labelDeadLetters, drift, calibration, late);
        if (controlResults != null) {
            out = out.union(controlResults);
        }
        if (shadowResults != null) {
            // The shadow model's labelled figures: its results joined with the same labels in a join of its own,
            // windowed per shadow model.
            StatsAggregate<LabelledPrediction, ShadowCalibrations> shadowItems =
                    StatsAggregate.shadowCalibration(manifest.classes().size());
            TypeInformation<ShadowCalibrations> shadowCalibrations = TypeInformation.of(ShadowCalibrations.class);
            DataStream<Prediction> shadowPredictions = shadowResults.map(s -> s.shadow)
                    .returns(Prediction.class).name("shadow-labelled-input").uid("shadow-labelled-input");
            DataStream<OutputRecord> shadowCalibration = partialsPerWindow(
                            joinLabels(shadowPredictions, labels, "shadow-", false, options),
                            "shadow-calibration-partials", window, shadowItems, shadowCalibrations)
                    .aggregate(new PartialsMerge<>(shadowItems), StatsWindowFunction.shadowCalibration(calibrationTopic))
                    // uid -v2: one windowAll over all shadow models
                    // (docs/operations.md, "Upgrading a model with a savepoint")
                    .name("shadow-calibration-window").uid("shadow-calibration-window-v2");
            out = out.union(shadowCalibration);
            String shadowTopic = options.get(E3StreamOptions.TOPIC_SHADOW);
            out = out.union(shadowResults
                    .map(s -> new OutputRecord(shadowTopic, s.shadow.id, s.toJson(), s.shadow.timestamp))
                    .returns(OutputRecord.class).name("shadow-output").uid("shadow-output"));
        }
        String prefix = transactionalIdPrefix(options);
        if (options.get(E3StreamOptions.DELIVERY) == E3StreamOptions.Delivery.EXACTLY_ONCE) {
            LOG.info("exactly-once sink: transactional ids {}-<subtask>-<n> (POOLING)", prefix);
        }
        out.sinkTo(sink(options, prefix, limits)).name("kafka-sink").uid("kafka-sink");
    }

    /**
     * Predictions joined with their labels by id ({@link LabelJoinFunction}, {@code labels.ttl}), then on image event
     * time with the images' watermark {@code labels.max-delay} behind ({@link ImageTimeOperator}). One path for the
     * active model ({@code prefix} "") and the shadow model ("shadow-"), whose join counts nothing: the active join
     * counts the labels.
     */
    private static DataStream<LabelledPrediction> joinLabels(DataStream<Prediction> predictions,
                                                             DataStream<LabelEvent> labels, String prefix,
                                                             boolean countsLabels, E3StreamOptions options) {
        return predictions.keyBy(JoinKey.OF_PREDICTION, JoinKey.TYPE)
                .connect(labels.keyBy(JoinKey.OF_LABEL, JoinKey.TYPE))
                .process(new LabelJoinFunction(options.get(E3StreamOptions.LABEL_TTL), countsLabels))
                // uid -v2: keyed by JoinKey (docs/operations.md, "Upgrading a model with a savepoint")
                .name(prefix + "label-join").uid(prefix + "label-join-v2")
                .transform(prefix + "labelled-event-time", TypeInformation.of(LabelledPrediction.class),
                        new ImageTimeOperator(options.get(E3StreamOptions.LABEL_MAX_DELAY)))
                .uid(prefix + "labelled-event-time");
    }

    /**
     * {@code items} summed per subtask into one partial per tumbling window ({@link WindowPreAggregator}, operator
     * {@code partialsName}), then windowed in one {@code windowAll}, which merges a few partials per window instead
     * of seeing every item (callers aggregate it with {@link PartialsMerge}).
     */
    private static <T, A extends MergeableStats<A>> AllWindowedStream<A, TimeWindow> partialsPerWindow(
            DataStream<T> items, String partialsName, Duration window, AggregateFunction<T, A, A> aggregate,
            TypeInformation<A> type) {
        return items.transform(partialsName, type, new WindowPreAggregator<>(window, aggregate, type))
                .uid(partialsName)
                .windowAll(TumblingEventTimeWindows.of(window));
    }

    static <T> KafkaSource<T> source(E3StreamOptions options, String topic, KafkaRecordDeserializationSchema<T> records) {
        Properties props = options.kafkaProperties();
        // Only committed input: a transactional producer's aborted records never become events.
        props.putIfAbsent("isolation.level", "read_committed");
        OffsetResetStrategy reset = options.get(E3StreamOptions.STARTING_OFFSETS) == E3StreamOptions.StartingOffsets.LATEST
                ? OffsetResetStrategy.LATEST : OffsetResetStrategy.EARLIEST;
        return KafkaSource.<T>builder()
                .setBootstrapServers(options.get(E3StreamOptions.BOOTSTRAP_SERVERS))
                .setProperties(props)
                .setTopics(topic)
                .setGroupId(options.get(E3StreamOptions.GROUP_ID))
                .setClientIdPrefix(options.get(E3StreamOptions.GROUP_ID) + "-" + topic)
                .setStartingOffsets(OffsetsInitializer.committedOffsets(reset))
                .setDeserializer(records)
                .build();
    }

    /**
     * The transactional-id prefix of the exactly-once sink: {@code kafka.transactional-id-prefix} when set, else
     * {@code job.name} (characters other than letters, digits, '.', '_', '-' replaced by '-'), '-' and 8 random hex
     * digits, drawn anew on each call (once per job build), so that two jobs never share transactional ids.
     */
    static String transactionalIdPrefix(E3StreamOptions options) {
        if (options.isSet(E3StreamOptions.TRANSACTIONAL_ID_PREFIX)) {
            return options.get(E3StreamOptions.TRANSACTIONAL_ID_PREFIX);
        }
        String name = options.get(E3StreamOptions.JOB_NAME).replaceAll("[^A-Za-z0-9._-]", "-");
        return name + "-" + String.format("%08x", RANDOM.nextInt());
    }

    private static final SecureRandom RANDOM = new SecureRandom();

    /**
     * The one Kafka sink of all outputs: exactly-once (Kafka transactions committed on checkpoints, POOLING
     * transactional ids under {@code transactionalIdPrefix}: a few ids per subtask, reused, instead of a new one per
     * checkpoint that the broker keeps for {@code transactional.id.expiration.ms}) or at-least-once. Every record is
     * made to fit its topic's {@code limits} on the way ({@link OutputFit}).
     */
    static KafkaSink<OutputRecord> sink(E3StreamOptions options, String transactionalIdPrefix, OutputLimits limits) {
        Properties props = options.kafkaProperties();
        boolean exactlyOnce = options.get(E3StreamOptions.DELIVERY) == E3StreamOptions.Delivery.EXACTLY_ONCE;
        props.setProperty("transaction.timeout.ms", Long.toString(options.get(E3StreamOptions.TRANSACTION_TIMEOUT).toMillis()));
        // Explicit, and the size every dead letter is built to fit (DeadLetters).
        props.setProperty("max.request.size", Integer.toString(options.producerMaxRequestSize()));
        if (!exactlyOnce) {
            props.putIfAbsent("linger.ms", "0");
        }
        return KafkaSink.<OutputRecord>builder()
                .setBootstrapServers(options.get(E3StreamOptions.BOOTSTRAP_SERVERS))
                .setKafkaProducerConfig(props)
                .setRecordSerializer(new OutputRecordSerializer(options.outputTopics(), outputFit(options, limits)))
                .setDeliveryGuarantee(exactlyOnce ? DeliveryGuarantee.EXACTLY_ONCE : DeliveryGuarantee.AT_LEAST_ONCE)
                .setTransactionalIdPrefix(transactionalIdPrefix)
                .setTransactionNamingStrategy(TransactionNamingStrategy.POOLING)
                .build();
    }

    /** The guard of the sink: what each output topic holds, and where what cannot fit goes. */
    static OutputFit outputFit(E3StreamOptions options, OutputLimits limits) {
        return new OutputFit(limits, OutputFit.kinds(options.get(E3StreamOptions.TOPIC_PREDICTIONS),
                options.get(E3StreamOptions.TOPIC_REVIEW), options.get(E3StreamOptions.TOPIC_DLQ),
                options.get(E3StreamOptions.TOPIC_CALIBRATION),
                options.shadowScoring() ? options.get(E3StreamOptions.TOPIC_SHADOW) : null,
                options.get(E3StreamOptions.MODEL_CONTROL) ? options.get(E3StreamOptions.TOPIC_CONTROL_RESULTS) : null),
                options.get(E3StreamOptions.TOPIC_DLQ));
    }

    /**
     * Addresses a prediction to {@code predictions} or {@code review}; starts the JVM's metrics endpoint; notices a
     * recovery that outlasted the sink's transaction timeout ({@link TransactionTimeoutWatch}).
     */
    static final class ToOutput extends RichMapFunction<Prediction, OutputRecord>
            implements CheckpointedFunction, CheckpointListener {
        private static final long serialVersionUID = 1L;
        private final String acceptTopic;
        private final String reviewTopic;
        private final PortRange metricsPorts;
        private final String metricsBindAddress;
        private final TransactionTimeoutWatch transactions;

        ToOutput(String acceptTopic, String reviewTopic, PortRange metricsPorts, String metricsBindAddress,
                 TransactionTimeoutWatch transactions) {
            this.acceptTopic = acceptTopic;
            this.reviewTopic = reviewTopic;
            this.metricsPorts = metricsPorts;
            this.metricsBindAddress = metricsBindAddress;
            this.transactions = transactions;
        }

        @Override
        public void initializeState(FunctionInitializationContext context) throws Exception {
            transactions.initializeState(context, getRuntimeContext().getTaskInfo().getIndexOfThisSubtask());
        }

        @Override
        public void snapshotState(FunctionSnapshotContext context) throws Exception {
            transactions.snapshotState(context.getCheckpointId());
        }

        @Override
        public void notifyCheckpointComplete(long checkpointId) {
            transactions.checkpointCompleted(checkpointId);
        }

        @Override
        public void open(OpenContext context) {
            // The endpoint is JVM-wide; it goes when the job's class loader is released (cancel in a session cluster).
            JvmStatics.releaseWithJob(getRuntimeContext());
            MetricsServer.ensureStarted(metricsBindAddress, metricsPorts);
        }

        @Override
        public OutputRecord map(Prediction p) {
            return new OutputRecord(p.accepted ? acceptTopic : reviewTopic, p.id, p.toJson(), p.timestamp);
        }
    }
}
