package e3stream.pipeline;

import e3stream.pipeline.internal.TopicCheck;
import e3stream.pipeline.internal.FlinkSettings;
import e3stream.pipeline.internal.JobGraph;
import e3stream.pipeline.internal.TransactionVersionCheck;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.function.UnaryOperator;

import e3stream.pipeline.internal.events.OutputLimits;
import e3stream.runtime.model.BundleDescription;
import e3stream.runtime.model.BundleException;
import org.apache.flink.annotation.PublicEvolving;
import org.apache.flink.api.common.JobExecutionResult;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.ReadableConfig;
import org.apache.flink.streaming.api.environment.LocalStreamEnvironment;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
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

    private E3StreamJob() {
    }

    /** The Flink settings the job needs on a cluster that sets no restart strategy of its own. */
    public static Configuration flinkConfiguration(E3StreamOptions options) {
        return FlinkSettings.flinkConfiguration(options);
    }

    /** The Flink settings of a MiniCluster in this JVM (checkpoints in a folder of its own unless told). */
    public static Configuration localConfiguration(E3StreamOptions options) {
        return FlinkSettings.localConfiguration(options);
    }

    public static void main(String[] args) throws Exception {
        E3StreamOptions options;
        JobGraph.Bundles bundles;
        try {
            options = E3StreamOptions.fromArgs(args);
            bundles = JobGraph.Bundles.read(options); // a bad bundle or model.bundle-root stops start-up here
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
            limits = JobGraph.checkBrokers(options);
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
                FlinkSettings.flinkConfiguration(options, cluster));
        if (env instanceof LocalStreamEnvironment) {
            // Started as a plain Java program: a MiniCluster in this JVM, which needs a checkpoint folder of its own.
            Configuration local = FlinkSettings.localConfiguration(options);
            LOG.info("running on a MiniCluster in this JVM; checkpoints in {}", local.get(CheckpointingOptions.CHECKPOINTS_DIRECTORY));
            System.out.printf("E3 Stream: the job runs on a Flink MiniCluster in this JVM until stopped (Ctrl-C): images "
                            + "from '%s' at %s, model %s, decisions to '%s' / '%s', dead letters to '%s', metrics on port "
                            + "%s%n", options.get(KafkaOptions.TOPIC_IMAGES), options.get(KafkaOptions.BOOTSTRAP_SERVERS),
                    bundles.active().provenance(), options.get(KafkaOptions.TOPIC_PREDICTIONS),
                    options.get(KafkaOptions.TOPIC_REVIEW), options.get(KafkaOptions.TOPIC_DLQ),
                    options.get(E3StreamOptions.METRICS_PORT));
            env = StreamExecutionEnvironment.createLocalEnvironment(local);
        }
        JobGraph.wire(env, options, bundles, limits, UnaryOperator.identity());
        JobExecutionResult result = env.execute(options.get(E3StreamOptions.JOB_NAME));
        // Submitted detached (Flink's REST /jars/run, `flink run -d`) there is no runtime to report, and asking for
        // it throws, which would answer the REST call with an error for a job that runs fine.
        if (result.isJobExecutionResult()) {
            LOG.info("job finished after {} ms", result.getNetRuntime());
        }
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
     * Adds the job's sources, operators and sink to {@code env} after the start-up checks of {@link #main} but for
     * the topics' existence: the bundles, the brokers' transaction protocol for the exactly-once sink, and the output
     * topics' limits, which bound the sink ({@link TopicCheck#outputLimits}).
     *
     * @throws BundleException          when a bundle is missing or invalid (the message says what to fix)
     * @throws IllegalStateException when the brokers' transaction protocol or the topics' limits stop start-up, or the
     *                               brokers do not answer (the message says why and what to set)
     */
    public static void build(StreamExecutionEnvironment env, E3StreamOptions options) {
        JobGraph.build(env, options, UnaryOperator.identity());
    }
}
