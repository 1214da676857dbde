package e3stream.pipeline.internal;

import java.time.Duration;
import e3stream.pipeline.KafkaOptions;
import java.util.Optional;
import java.util.function.UnaryOperator;
import e3stream.pipeline.internal.events.ImageRecordDeserializer;
import e3stream.pipeline.internal.events.LabelEvent;
import e3stream.pipeline.internal.events.OutputLimits;
import e3stream.pipeline.internal.events.OutputRecord;
import e3stream.pipeline.internal.events.ParsedImage;
import e3stream.pipeline.internal.events.Prediction;
import e3stream.pipeline.internal.events.RawRecord;
import e3stream.pipeline.internal.events.RawRecordDeserializer;
import e3stream.pipeline.internal.events.ShadowPrediction;
import e3stream.pipeline.internal.inference.ActiveOutput;
import e3stream.pipeline.internal.inference.DecodedImage;
import e3stream.pipeline.internal.inference.Inferred;
import e3stream.pipeline.internal.inference.ScoringFunction;
import e3stream.pipeline.internal.inference.DecodeFunction;
import e3stream.pipeline.internal.control.ModelControlFunction;
import e3stream.pipeline.internal.control.ModelSelector;
import e3stream.pipeline.internal.control.ControlAnswers;
import e3stream.pipeline.internal.labels.ImageTimeOperator;
import e3stream.pipeline.internal.labels.JoinKey;
import e3stream.pipeline.internal.labels.LabelJoinFunction;
import e3stream.pipeline.internal.labels.LabelledPrediction;
import e3stream.pipeline.internal.labels.ParseLabelFunction;
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
import e3stream.runtime.session.BundleRoot;
import e3stream.runtime.session.ModelRoster;
import e3stream.runtime.session.ShadowShare;
import e3stream.runtime.stats.CalibrationStats;
import e3stream.runtime.stats.DriftStats;
import e3stream.runtime.stats.MergeableStats;
import e3stream.runtime.stats.ReferenceDistributions;
import com.esotericsoftware.kryo.serializers.JavaSerializer;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.functions.AggregateFunction;
import org.apache.flink.api.common.serialization.SerializerConfigImpl;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.java.typeutils.EitherTypeInfo;
import org.apache.flink.streaming.api.datastream.AllWindowedStream;
import org.apache.flink.streaming.api.datastream.AsyncDataStream;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.windowing.assigners.TumblingEventTimeWindows;
import org.apache.flink.streaming.api.windowing.windows.TimeWindow;
import org.apache.flink.types.Either;
import org.apache.flink.util.OutputTag;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import e3stream.pipeline.E3StreamJob;
import e3stream.pipeline.E3StreamOptions;
import org.apache.flink.annotation.Internal;

/**
 * The job's stages, wired in the order data flows: images, parse and decode, batched inference, triage, the topics;
 * labels, join, calibration; predictions, drift. Both entries, {@link E3StreamJob#main} and
 * {@link E3StreamJob#build}, run the same start-up ({@link Bundles#read}, {@link #checkBrokers}) and then
 * {@link #wire}.
 */
@Internal
public final class JobGraph {

    private static final Logger LOG = LoggerFactory.getLogger(JobGraph.class);

    /** Partials of labelled predictions whose calibration window had closed (all subtasks' watermarks past it). */
    private static final OutputTag<CalibrationStats> LATE_LABELS = new OutputTag<>("late-labels") { };

    private JobGraph() {
    }

    /**
     * The active and shadow bundles, and with {@code model.control} the folder commands may name bundles in: read and
     * checked once at start-up; the operators get these.
     */
    public record Bundles(BundleDescription active, Optional<BundleDescription> shadow,
                          Optional<BundleRoot> controlRoot) {

        /**
         * Reads {@code model.bundle} and {@code model.shadow-bundle} and, with {@code model.control},
         * {@code model.bundle-root}: the configuration errors of start-up.
         *
         * @throws BundleException          when a bundle is missing or invalid (the message says what to fix)
         * @throws IllegalArgumentException when {@code model.bundle-root} is unusable (the message names it)
         */
        public static Bundles read(E3StreamOptions options) {
            BundleDescription active = E3StreamJob.describeBundle(options);
            Optional<BundleDescription> shadow = E3StreamJob.describeShadowBundle(options, active);
            Optional<BundleRoot> controlRoot = options.get(E3StreamOptions.MODEL_CONTROL)
                    ? Optional.of(JobSettings.bundleRoot(options, active)) : Optional.empty();
            return new Bundles(active, shadow, controlRoot);
        }
    }

    /**
     * What start-up asks of the brokers, whichever entry builds the job: that the exactly-once sink can recover with
     * their transaction protocol, then the output topics' limits, which bound every record the job writes.
     */
    public static OutputLimits checkBrokers(E3StreamOptions options)
            throws TopicCheck.TopicCheckException, TransactionVersionCheck.TransactionVersionException {
        TransactionVersionCheck.check(options);
        return TopicCheck.outputLimits(options);
    }

    /**
     * As {@link E3StreamJob#build(StreamExecutionEnvironment, E3StreamOptions)}, with {@code beforeInference}
     * applied to the decoded images (tests inject faults there).
     */
    public static void build(StreamExecutionEnvironment env, E3StreamOptions options,
                             UnaryOperator<DataStream<DecodedImage>> beforeInference) {
        Bundles bundles = Bundles.read(options);
        OutputLimits limits;
        try {
            limits = checkBrokers(options);
        } catch (TopicCheck.TopicCheckException | TransactionVersionCheck.TransactionVersionException e) {
            throw new IllegalStateException(e.getMessage(), e);
        }
        wire(env, options, bundles, limits, beforeInference);
    }

    /** Adds the stages, from the sources to the sink, for the bundles and output limits found at start-up. */
    public static void wire(StreamExecutionEnvironment env, E3StreamOptions options, Bundles bundles,
                            OutputLimits limits, UnaryOperator<DataStream<DecodedImage>> beforeInference) {
        BundleDescription bundle = bundles.active();
        Optional<BundleDescription> shadowBundle = bundles.shadow();
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
        DataStream<ParsedImage> images = env.fromSource(KafkaConnectors.source(options, options.get(KafkaOptions.TOPIC_IMAGES),
                        new ImageRecordDeserializer(JobSettings.timestampWindow(options), options.get(E3StreamOptions.MAX_RECORD_BYTES))),
                WatermarkStrategy.<ParsedImage>forBoundedOutOfOrderness(options.get(E3StreamOptions.MAX_OUT_OF_ORDERNESS))
                        .withTimestampAssigner((parsed, kafkaTimestamp) -> parsed.eventTime())
                        .withIdleness(options.get(E3StreamOptions.IDLENESS)),
                "images-source").uid("images-source");

        SingleOutputStreamOperator<DecodedImage> decoded = images
                .process(new DecodeFunction(bundle, options.get(KafkaOptions.TOPIC_DLQ), JobSettings.decodeLimits(options),
                        JobSettings.producerMaxRequestSize(options)))
                .name("parse-decode").uid("parse-decode");
        DataStream<OutputRecord> deadLetters = decoded.getSideOutput(DecodeFunction.DEAD_LETTERS);

        // With model.control: the control topic's commands decide which models score each image from here on.
        DataStream<DecodedImage> toScore = beforeInference.apply(decoded);
        DataStream<OutputRecord> controlResults = null;
        long decisionBufferTimeout = options.get(E3StreamOptions.BUFFER_TIMEOUT).toMillis();
        if (bundles.controlRoot().isPresent()) {
            // The selector takes two inputs, so it starts a task of its own: a hop on the decision path.
            toScore.getTransformation().setBufferTimeout(decisionBufferTimeout);
            ModelRoster configured = ModelRoster.configured(bundle, shadowBundle.orElse(null),
                    options.get(E3StreamOptions.MODEL_SHADOW_SHARE));
            SingleOutputStreamOperator<ModelRoster> rosters = env.fromSource(KafkaConnectors.source(options,
                                    options.get(E3StreamOptions.TOPIC_CONTROL), new RawRecordDeserializer()),
                            // Commands never hold back the images' event time in the selector.
                            IdleWatermarks.<RawRecord>strategy(), "control-source").uid("control-source").setParallelism(1)
                    .keyBy(r -> 0, TypeInformation.of(Integer.class))
                    .process(new ModelControlFunction(configured, bundles.controlRoot().get(),
                            options.get(E3StreamOptions.TOPIC_CONTROL_RESULTS)))
                    .returns(TypeInformation.of(ModelRoster.class))
                    .name("model-control").uid("model-control").setParallelism(1);
            SingleOutputStreamOperator<DecodedImage> selected = toScore.connect(rosters.broadcast())
                    .transform("model-selector", TypeInformation.of(DecodedImage.class), new ModelSelector(configured,
                            JobSettings.sessionSpec(options, bundle),
                            JobSettings.sessionSpec(options, shadowBundle.orElse(bundle)),
                            options.get(E3StreamOptions.MODEL_OPEN_TIMEOUT)))
                    .uid("model-selector");
            toScore = selected;
            // A command that changed the models is answered once every selector subtask said whether it switched.
            DataStream<OutputRecord> answeredLater = rosters.getSideOutput(ModelControlFunction.PENDING)
                    .keyBy(pending -> pending.rosterKey)
                    .connect(selected.getSideOutput(ModelSelector.REPORTS).keyBy(report -> report.rosterKey))
                    .process(new ControlAnswers()).name("control-answers").uid("control-answers").setParallelism(1);
            controlResults = rosters.getSideOutput(ModelControlFunction.RESULTS).union(answeredLater);
            LOG.info("model control on: commands from '{}', answers to '{}'; starting with {}",
                    options.get(E3StreamOptions.TOPIC_CONTROL), options.get(E3StreamOptions.TOPIC_CONTROL_RESULTS),
                    configured);
        }

        ShadowShare shadowShare = shadowBundle.isPresent()
                ? new ShadowShare(options.get(E3StreamOptions.MODEL_SHADOW_SHARE)) : null;
        SingleOutputStreamOperator<Prediction> predictions = AsyncDataStream.unorderedWait(toScore,
                        ScoringFunction.active(JobSettings.sessionSpec(options, bundle),
                                JobSettings.triageOverrides(options), shadowShare),
                        options.get(E3StreamOptions.INFERENCE_TIMEOUT).toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS,
                        options.get(E3StreamOptions.ASYNC_CAPACITY))
                .returns(Inferred.class).name("e3-inference").uid("e3-inference")
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
                            ScoringFunction.shadow(JobSettings.sessionSpec(options, shadowBundle.orElse(bundle)),
                                    shadowBundle.isPresent()),
                            options.get(E3StreamOptions.INFERENCE_TIMEOUT).toMillis(),
                            java.util.concurrent.TimeUnit.MILLISECONDS, options.get(E3StreamOptions.ASYNC_CAPACITY))
                    .returns(ShadowPrediction.class).name("shadow-inference").uid("shadow-inference");
        }

        String acceptTopic = options.get(KafkaOptions.TOPIC_PREDICTIONS);
        String reviewTopic = options.get(KafkaOptions.TOPIC_REVIEW);
        DataStream<OutputRecord> decisions = predictions
                .map(new ToOutput(acceptTopic, reviewTopic, PortRange.parse(options.get(E3StreamOptions.METRICS_PORT)),
                        options.get(E3StreamOptions.METRICS_BIND_ADDRESS), new TransactionTimeoutWatch(
                        options.get(E3StreamOptions.DELIVERY) == E3StreamOptions.Delivery.EXACTLY_ONCE
                                ? options.get(KafkaOptions.TRANSACTION_TIMEOUT) : Duration.ZERO)))
                .name("to-output").uid("to-output")
                // job.buffer-timeout on the decisions' hop to the sink only: every other hop (statistics, labels,
                // dead letters, shadow results) keeps the cluster's execution.buffer-timeout.interval, as each
                // output's flusher thread wakes once per timeout (BENCHMARKS.md, "How busy the machine is").
                .setBufferTimeout(decisionBufferTimeout);

        String calibrationTopic = options.get(KafkaOptions.TOPIC_CALIBRATION);
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
        SingleOutputStreamOperator<LabelEvent> parsedLabels = env.fromSource(KafkaConnectors.source(options,
                                options.get(KafkaOptions.TOPIC_LABELS), new RawRecordDeserializer()),
                        WatermarkStrategy.noWatermarks(), "labels-source").uid("labels-source")
                .process(new ParseLabelFunction(bundle, options.get(KafkaOptions.TOPIC_DLQ),
                        JobSettings.producerMaxRequestSize(options)))
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
            String shadowTopic = options.get(KafkaOptions.TOPIC_SHADOW);
            out = out.union(shadowResults
                    .map(s -> new OutputRecord(shadowTopic, s.shadow.id, s.toJson(), s.shadow.timestamp))
                    .returns(OutputRecord.class).name("shadow-output").uid("shadow-output"));
        }
        String prefix = KafkaConnectors.transactionalIdPrefix(options);
        if (options.get(E3StreamOptions.DELIVERY) == E3StreamOptions.Delivery.EXACTLY_ONCE) {
            LOG.info("exactly-once sink: transactional ids {}-<subtask>-<n> (POOLING)", prefix);
        }
        out.sinkTo(KafkaConnectors.sink(options, prefix, limits)).name("kafka-sink").uid("kafka-sink");
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
}
