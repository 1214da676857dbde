package e3stream.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import e3stream.pipeline.internal.ToOutput;
import e3stream.pipeline.internal.KafkaConnectors;
import e3stream.pipeline.internal.FlinkSettings;
import e3stream.pipeline.internal.JobSettings;
import java.nio.file.Files;
import java.nio.file.Path;

import java.time.Duration;
import java.util.List;
import java.util.ArrayList;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicInteger;
import e3stream.pipeline.internal.events.OutputLimits;

import e3stream.pipeline.internal.events.OutputRecord;
import e3stream.pipeline.internal.events.Prediction;
import e3stream.pipeline.internal.metrics.PipelineMetrics;
import e3stream.pipeline.internal.metrics.PortRange;
import e3stream.pipeline.internal.metrics.TransactionTimeoutWatch;
import org.apache.flink.configuration.ExternalizedCheckpointRetention;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.streaming.api.operators.StreamMap;
import org.apache.flink.streaming.util.OneInputStreamOperatorTestHarness;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.changelog.fs.FsStateChangelogOptions;
import org.apache.flink.api.common.functions.RichMapFunction;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.configuration.StateChangelogOptions;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.graph.StreamEdge;
import org.apache.flink.streaming.api.graph.StreamGraph;
import org.apache.flink.streaming.api.graph.StreamNode;
import org.junit.jupiter.api.Test;

/**
 * The Flink settings the job brings: where checkpoints go (the cluster's storage unless told, never Flink's 5 MB
 * in-memory default on a MiniCluster), the restart strategy (exponential delay with reset, or the cluster's), and the
 * exactly-once sink's transactional ids.
 */
class E3StreamJobTest {

    @Test
    void leavesCheckpointStorageToTheClusterUnlessCheckpointDirIsSet() {
        Configuration conf = FlinkSettings.flinkConfiguration(E3StreamOptions.fromArgs(E3StreamOptionsTest.args()));
        assertFalse(conf.contains(CheckpointingOptions.CHECKPOINT_STORAGE));
        assertFalse(conf.contains(CheckpointingOptions.CHECKPOINTS_DIRECTORY));
    }

    @Test
    void checkpointDirSelectsFileStorageThere() {
        E3StreamOptions options = E3StreamOptions.fromArgs(E3StreamOptionsTest.args("--checkpoint.dir", "s3://bucket/e3"));
        for (Configuration conf : new Configuration[] {FlinkSettings.flinkConfiguration(options),
                FlinkSettings.localConfiguration(options)}) {
            assertEquals("filesystem", conf.get(CheckpointingOptions.CHECKPOINT_STORAGE));
            assertEquals("s3://bucket/e3", conf.get(CheckpointingOptions.CHECKPOINTS_DIRECTORY));
        }
    }

    @Test
    void aMiniClusterRunGetsAFreshCheckpointFolderOfItsOwn() throws Exception {
        E3StreamOptions options = E3StreamOptions.fromArgs(E3StreamOptionsTest.args());
        Configuration first = FlinkSettings.localConfiguration(options);
        Configuration second = FlinkSettings.localConfiguration(options);
        assertEquals("filesystem", first.get(CheckpointingOptions.CHECKPOINT_STORAGE));
        Path dir = Path.of(URI.create(first.get(CheckpointingOptions.CHECKPOINTS_DIRECTORY)));
        try {
            assertTrue(Files.isDirectory(dir) && Files.isWritable(dir), dir + " is a writable folder");
            assertNotEquals(first.get(CheckpointingOptions.CHECKPOINTS_DIRECTORY),
                    second.get(CheckpointingOptions.CHECKPOINTS_DIRECTORY), "two local runs do not share checkpoints");
        } finally {
            Files.deleteIfExists(dir);
            Files.deleteIfExists(Path.of(URI.create(second.get(CheckpointingOptions.CHECKPOINTS_DIRECTORY))));
        }
    }

    @Test
    void checkpointChangelogOnAMiniClusterLogsUnderItsCheckpointFolder() throws Exception {
        Configuration withDir = FlinkSettings.localConfiguration(E3StreamOptions.fromArgs(E3StreamOptionsTest.args(
                "--checkpoint.dir", "file:///var/lib/e3/", "--checkpoint.changelog", "true")));
        assertTrue(withDir.get(StateChangelogOptions.ENABLE_STATE_CHANGE_LOG));
        assertEquals("filesystem", withDir.get(StateChangelogOptions.STATE_CHANGE_LOG_STORAGE));
        assertEquals("file:///var/lib/e3/changelog", withDir.get(FsStateChangelogOptions.BASE_PATH));
        Configuration fresh = FlinkSettings.localConfiguration(E3StreamOptions.fromArgs(E3StreamOptionsTest.args(
                "--checkpoint.changelog", "true")));
        assertEquals(fresh.get(CheckpointingOptions.CHECKPOINTS_DIRECTORY).replaceAll("/+$", "") + "/changelog",
                fresh.get(FsStateChangelogOptions.BASE_PATH), "in the run's fresh checkpoint folder");
        Files.deleteIfExists(Path.of(URI.create(fresh.get(CheckpointingOptions.CHECKPOINTS_DIRECTORY))));
        assertFalse(FlinkSettings.localConfiguration(E3StreamOptions.fromArgs(E3StreamOptionsTest.args(
                "--checkpoint.dir", "file:///var/lib/e3/"))).contains(StateChangelogOptions.ENABLE_STATE_CHANGE_LOG),
                "off by default");
    }

    @Test
    void checkpointChangelogOnAClusterNeedsTheClustersDurableLogAndSaysSoAtStartUp() {
        E3StreamOptions options = E3StreamOptions.fromArgs(E3StreamOptionsTest.args("--checkpoint.changelog", "true"));
        Configuration cluster = new Configuration();
        cluster.set(CheckpointingOptions.CHECKPOINTS_DIRECTORY, "hdfs:///flink/checkpoints");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> FlinkSettings.flinkConfiguration(options, cluster));
        assertTrue(e.getMessage().contains("state.changelog.storage: filesystem")
                && e.getMessage().contains("state.changelog.dstl.dfs.base-path"), e.getMessage());
        cluster.set(StateChangelogOptions.STATE_CHANGE_LOG_STORAGE, "filesystem");
        cluster.set(FsStateChangelogOptions.BASE_PATH, "hdfs:///flink/changelog");
        Configuration conf = FlinkSettings.flinkConfiguration(options, cluster);
        assertTrue(conf.get(StateChangelogOptions.ENABLE_STATE_CHANGE_LOG), "turned on for this job");
        assertFalse(conf.contains(FsStateChangelogOptions.BASE_PATH), "the TaskManagers' own folder applies");
    }

    @Test
    void restartsWithExponentialDelayAndResetFromTheJobOptions() {
        Configuration conf = FlinkSettings.flinkConfiguration(E3StreamOptions.fromArgs(E3StreamOptionsTest.args(
                "--job.restart-attempts", "7", "--job.restart.initial-backoff", "2 s", "--job.restart.max-backoff",
                "30 s", "--job.restart.backoff-multiplier", "1.5", "--job.restart.reset-backoff-threshold", "5 min",
                "--job.restart.jitter", "0.2")));
        assertEquals("exponential-delay", conf.get(RestartStrategyOptions.RESTART_STRATEGY));
        assertEquals(Duration.ofSeconds(2), conf.get(RestartStrategyOptions.RESTART_STRATEGY_EXPONENTIAL_DELAY_INITIAL_BACKOFF));
        assertEquals(Duration.ofSeconds(30), conf.get(RestartStrategyOptions.RESTART_STRATEGY_EXPONENTIAL_DELAY_MAX_BACKOFF));
        assertEquals(1.5, conf.get(RestartStrategyOptions.RESTART_STRATEGY_EXPONENTIAL_DELAY_BACKOFF_MULTIPLIER));
        assertEquals(Duration.ofMinutes(5),
                conf.get(RestartStrategyOptions.RESTART_STRATEGY_EXPONENTIAL_DELAY_RESET_BACKOFF_THRESHOLD));
        assertEquals(0.2, conf.get(RestartStrategyOptions.RESTART_STRATEGY_EXPONENTIAL_DELAY_JITTER_FACTOR));
        assertEquals(7, conf.get(RestartStrategyOptions.RESTART_STRATEGY_EXPONENTIAL_DELAY_ATTEMPTS));
        assertFalse(conf.contains(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_ATTEMPTS));
    }

    @Test
    void keepsTheClustersRestartStrategyWhenTheClusterSetsOne() {
        Configuration cluster = new Configuration();
        cluster.set(RestartStrategyOptions.RESTART_STRATEGY, "fixed-delay");
        cluster.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_ATTEMPTS, 3);
        Configuration conf = FlinkSettings.flinkConfiguration(E3StreamOptions.fromArgs(E3StreamOptionsTest.args(
                "--job.restart-attempts", "7")), cluster);
        assertFalse(conf.contains(RestartStrategyOptions.RESTART_STRATEGY), "the job sets no strategy of its own");
        assertFalse(conf.contains(RestartStrategyOptions.RESTART_STRATEGY_EXPONENTIAL_DELAY_ATTEMPTS));
    }

    @Test
    void aClusterRestartStrategyWhoseDelayCouldOutlastTheTransactionTimeoutStopsStartUp() {
        E3StreamOptions options = E3StreamOptions.fromArgs(E3StreamOptionsTest.args("--kafka.transaction-timeout",
                "5 min"));
        Configuration fixed = new Configuration();
        fixed.set(RestartStrategyOptions.RESTART_STRATEGY, "fixed-delay");
        fixed.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_DELAY, Duration.ofMinutes(3));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> FlinkSettings.flinkConfiguration(options, fixed));
        assertTrue(e.getMessage().startsWith("kafka.transaction-timeout (PT5M) must exceed") && e.getMessage()
                .contains("restart-strategy.fixed-delay.delay of the cluster's restart strategy (PT2S + PT2M + PT3M"),
                e.getMessage());
        Configuration exponential = new Configuration();
        exponential.set(RestartStrategyOptions.RESTART_STRATEGY, "exponential-delay");
        exponential.set(RestartStrategyOptions.RESTART_STRATEGY_EXPONENTIAL_DELAY_MAX_BACKOFF, Duration.ofMinutes(5));
        e = assertThrows(IllegalArgumentException.class, () -> FlinkSettings.flinkConfiguration(options, exponential));
        assertTrue(e.getMessage().contains("restart-strategy.exponential-delay.max-backoff x (1 + "
                + "restart-strategy.exponential-delay.jitter-factor)"), e.getMessage());
        // Flink's own exponential-delay defaults (1 min, jitter 0.1) fit; a cluster that never restarts has no recovery
        exponential.removeConfig(RestartStrategyOptions.RESTART_STRATEGY_EXPONENTIAL_DELAY_MAX_BACKOFF);
        FlinkSettings.flinkConfiguration(options, exponential);
        Configuration none = new Configuration();
        none.set(RestartStrategyOptions.RESTART_STRATEGY, "none");
        FlinkSettings.flinkConfiguration(options, none);
    }

    @Test
    void checkpointsAreRetainedOnCancellationAndFailureUnlessTheClusterSaysOtherwise() {
        E3StreamOptions options = E3StreamOptions.fromArgs(E3StreamOptionsTest.args());
        assertEquals(ExternalizedCheckpointRetention.RETAIN_ON_CANCELLATION, FlinkSettings.flinkConfiguration(options)
                .get(CheckpointingOptions.EXTERNALIZED_CHECKPOINT_RETENTION));
        assertEquals(ExternalizedCheckpointRetention.RETAIN_ON_CANCELLATION, FlinkSettings.localConfiguration(options)
                .get(CheckpointingOptions.EXTERNALIZED_CHECKPOINT_RETENTION), "a local MiniCluster run too");
        Configuration cluster = new Configuration();
        cluster.set(CheckpointingOptions.EXTERNALIZED_CHECKPOINT_RETENTION,
                ExternalizedCheckpointRetention.DELETE_ON_CANCELLATION);
        assertFalse(FlinkSettings.flinkConfiguration(options, cluster)
                .contains(CheckpointingOptions.EXTERNALIZED_CHECKPOINT_RETENTION), "the cluster's choice is kept");
    }

    /**
     * The state of {@code to-output} at checkpoint 2, taken right after checkpoint 1, which was taken
     * {@code afterStart} after the start and completed or failed.
     */
    private static OperatorSubtaskState toOutputSnapshot(Duration afterStart, boolean firstCompleted)
            throws Exception {
        try (var h = new OneInputStreamOperatorTestHarness<Prediction, OutputRecord>(new StreamMap<>(toOutput(
                Duration.ofMinutes(10))))) {
            h.open();
            Thread.sleep(afterStart.toMillis());
            h.snapshot(1L, System.currentTimeMillis());
            if (firstCompleted) {
                h.notifyOfCompletedCheckpoint(1L);
            }
            return h.snapshot(2L, System.currentTimeMillis());
        }
    }

    private static ToOutput toOutput(Duration transactionTimeout) {
        return new ToOutput("predictions", "review", PortRange.parse("0"), "127.0.0.1",
                new TransactionTimeoutWatch(transactionTimeout));
    }

    private static double restoresPastTimeout(OperatorSubtaskState snapshot, Duration transactionTimeout)
            throws Exception {
        double before = PipelineMetrics.get().recoveriesPastTransactionTimeout.get();
        try (var h = new OneInputStreamOperatorTestHarness<Prediction, OutputRecord>(new StreamMap<>(toOutput(
                transactionTimeout)))) {
            h.initializeState(snapshot);
            h.open();
        }
        return PipelineMetrics.get().recoveriesPastTransactionTimeout.get() - before;
    }

    @Test
    void aRestoreLaterThanTheTransactionTimeoutIsCountedOnce() throws Exception {
        OperatorSubtaskState snapshot = toOutputSnapshot(Duration.ZERO, true);
        Thread.sleep(200); // the outage: the checkpoint's transactions are now at least 200 ms old
        assertEquals(1, restoresPastTimeout(snapshot, Duration.ofMillis(100)));
        assertEquals(0, restoresPastTimeout(snapshot, Duration.ofMinutes(10)), "a quick recovery is not counted");
        assertEquals(0, restoresPastTimeout(snapshot, Duration.ZERO), "at-least-once: no transactions");
    }

    @Test
    void theTransactionsOfAFailedCheckpointCountFromWhenTheyWereOpened() throws Exception {
        // Checkpoint 1, 2 s after the start, completed: restored at once, checkpoint 2 holds only the transactions
        // opened when 1 was taken, moments old.
        assertEquals(0, restoresPastTimeout(toOutputSnapshot(Duration.ofSeconds(2), true), Duration.ofSeconds(1)));
        // Checkpoint 1 failed: its transactions, open since the start, go with checkpoint 2 and are 2 s old.
        assertEquals(1, restoresPastTimeout(toOutputSnapshot(Duration.ofSeconds(2), false), Duration.ofSeconds(1)));
    }

    /** Fails in open on the first {@code FAILURES} attempts, each after running {@code RUN_MS}. */
    static final class FailsAtFirst extends RichMapFunction<Long, Long> {
        static final AtomicInteger ATTEMPTS = new AtomicInteger();
        static volatile int failures;
        static volatile long runMs;

        @Override
        public void open(OpenContext context) throws Exception {
            if (ATTEMPTS.incrementAndGet() <= failures) {
                Thread.sleep(runMs);
                throw new IllegalStateException("injected failure " + ATTEMPTS.get());
            }
        }

        @Override
        public Long map(Long value) {
            return value;
        }
    }

    private static void runFailingJob(E3StreamOptions options, int failures, long runMs) throws Exception {
        FailsAtFirst.ATTEMPTS.set(0);
        FailsAtFirst.failures = failures;
        FailsAtFirst.runMs = runMs;
        StreamExecutionEnvironment env = StreamExecutionEnvironment.createLocalEnvironment(1,
                FlinkSettings.flinkConfiguration(options));
        env.fromSequence(1, 10).map(new FailsAtFirst()).sinkTo(new org.apache.flink.api.connector.sink2.Sink<Long>() {
            @Override
            public org.apache.flink.api.connector.sink2.SinkWriter<Long> createWriter(
                    org.apache.flink.api.connector.sink2.WriterInitContext context) {
                return new org.apache.flink.api.connector.sink2.SinkWriter<>() {
                    @Override
                    public void write(Long element, Context context) {
                    }

                    @Override
                    public void flush(boolean endOfInput) {
                    }

                    @Override
                    public void close() {
                    }
                };
            }
        });
        env.execute("restart-test");
    }

    @Test
    void failuresFarApartNeverUseUpTheRestartAttemptsOnAMiniCluster() throws Exception {
        // 5 failures, each after 600 ms of running: more than job.restart-attempts (2) in all, but each quiet period
        // resets the count.
        E3StreamOptions options = E3StreamOptions.fromArgs(E3StreamOptionsTest.args("--job.restart-attempts", "2",
                "--job.restart.initial-backoff", "10 ms", "--job.restart.max-backoff", "50 ms",
                "--job.restart.reset-backoff-threshold", "300 ms", "--job.restart.jitter", "0"));
        runFailingJob(options, 5, 600);
        assertEquals(6, FailsAtFirst.ATTEMPTS.get(), "5 failed attempts, then one that finished");
    }

    @Test
    void failuresInQuickSuccessionFailTheJobAfterTheRestartAttempts() {
        E3StreamOptions options = E3StreamOptions.fromArgs(E3StreamOptionsTest.args("--job.restart-attempts", "2",
                "--job.restart.initial-backoff", "10 ms", "--job.restart.max-backoff", "50 ms",
                "--job.restart.reset-backoff-threshold", "1 min", "--job.restart.jitter", "0"));
        Exception e = org.junit.jupiter.api.Assertions.assertThrows(Exception.class, () -> runFailingJob(options, 5, 0));
        assertEquals(3, FailsAtFirst.ATTEMPTS.get(), "the first attempt and 2 restarts, then the job failed: " + e);
    }

    @Test
    void theTransactionalIdPrefixIsUniquePerJobUnlessSet() {
        E3StreamOptions options = E3StreamOptions.fromArgs(E3StreamOptionsTest.args("--job.name", "e3 prod"));
        String first = KafkaConnectors.transactionalIdPrefix(options);
        String second = KafkaConnectors.transactionalIdPrefix(options);
        assertTrue(first.matches("e3-prod-[0-9a-f]{8}"), first);
        assertNotEquals(first, second, "two jobs built from the same options do not share transactional ids");
        assertEquals("fixed", KafkaConnectors.transactionalIdPrefix(E3StreamOptions.fromArgs(E3StreamOptionsTest.args(
                "--kafka.transactional-id-prefix", "fixed"))));
    }

    @Test
    void theExactlyOnceSinkBuildsWithPoolingTransactionalIds() {
        // POOLING refuses a record serializer that does not name its topics (it aborts lingering transactions by them)
        E3StreamOptions options = E3StreamOptions.fromArgs(E3StreamOptionsTest.args());
        KafkaConnectors.sink(options, "e3-test-0123abcd", OutputLimits.assumed(JobSettings.producerMaxRequestSize(options),
                options.outputTopics()));
    }

    @Test
    void theBufferTimeoutIsOnTheDecisionsHopToTheSinkAndEveryOtherHopKeepsFlinksDefault() {
        Map<String, Long> hops = bufferTimeoutsByOperator("--job.buffer-timeout", "2 ms");
        assertEquals(2L, hops.remove("to-output"), "the decisions' hop to the Kafka sink");
        hops.forEach((operator, timeout) -> assertEquals(100L, timeout, operator));
        assertTrue(hops.containsKey("drift-partials") && hops.containsKey("parse-decode"), hops.toString());
    }

    @Test
    void withModelControlTheHopIntoTheModelSelectorIsOnTheDecisionPathToo() {
        Map<String, Long> hops = bufferTimeoutsByOperator("--job.buffer-timeout", "2 ms", "--model.control", "true");
        assertEquals(2L, hops.remove("to-output"));
        assertEquals(2L, hops.remove("parse-decode"), "the images' hop into the model selector");
        hops.forEach((operator, timeout) -> assertEquals(100L, timeout, operator));
    }

    @Test
    void theModelSelectorRunsInTheTaskOfTheActiveModelsScoringSoWhatItOpenedIsWhatScoringUses() {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.createLocalEnvironment(2);
        E3StreamJob.build(env, E3StreamOptionsTest.withTheShippedBundle("--model.control", "true",
                "--kafka.topic-check-timeout", "0 s"));
        List<String> tasks = new ArrayList<>();
        env.getStreamGraph().getJobGraph().getVertices().forEach(v -> tasks.add(v.getName()));
        String selector = tasks.stream().filter(t -> t.contains("model-selector")).findFirst().orElseThrow();
        assertTrue(selector.startsWith("model-selector -> e3-inference"), "one task: " + tasks);
    }

    /**
     * The buffer timeout of each operator's outputs, by operator name (Flink takes an edge's from the operator it
     * leaves; it matters where the edge leaves the task).
     */
    private static Map<String, Long> bufferTimeoutsByOperator(String... args) {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.createLocalEnvironment(1);
        // No broker here: Kafka's default topic limits (kafka.topic-check-timeout 0).
        String[] noCheck = java.util.Arrays.copyOf(args, args.length + 2);
        noCheck[args.length] = "--kafka.topic-check-timeout";
        noCheck[args.length + 1] = "0 s";
        E3StreamJob.build(env, E3StreamOptionsTest.withTheShippedBundle(noCheck));
        StreamGraph graph = env.getStreamGraph();
        Map<String, Long> timeouts = new TreeMap<>();
        for (StreamNode node : graph.getStreamNodes()) {
            for (StreamEdge edge : node.getOutEdges()) {
                Long before = timeouts.put(node.getOperatorName(), edge.getBufferTimeout());
                assertTrue(before == null || before == edge.getBufferTimeout(), node.getOperatorName());
            }
        }
        return timeouts;
    }
}
