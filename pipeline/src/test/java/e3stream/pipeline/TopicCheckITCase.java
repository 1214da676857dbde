package e3stream.pipeline;

import e3stream.pipeline.internal.TopicCheck;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.Properties;

import e3stream.pipeline.internal.events.OutputLimits;
import e3stream.pipeline.testutils.SharedKafka;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The start-up check of the job's topics against a real broker (auto-creation off, as in production). */
class TopicCheckITCase {

    @BeforeAll
    static void startKafka() throws Exception {
        E3StreamJobITCase.kafka = SharedKafka.get();
    }

    private static List<String> six(String prefix) {
        return List.of(prefix + "images", prefix + "labels", prefix + "predictions", prefix + "review",
                prefix + "images-dlq", prefix + "calibration");
    }

    @Test
    void stopsStartUpNamingTheMissingInputTopicAndTheBroker() throws Exception {
        String prefix = "tc-missing-";
        SharedKafka.get().createTopics(1, prefix + "images", prefix + "predictions", prefix + "review",
                prefix + "images-dlq", prefix + "calibration");
        String servers = SharedKafka.get().bootstrapServers();
        TopicCheck.TopicCheckException e = assertThrows(TopicCheck.TopicCheckException.class,
                () -> TopicCheck.ensureTopics(E3StreamJobITCase.options(prefix, Map.of())));
        assertEquals("topic [tc-missing-labels] missing on the Kafka brokers " + servers + " (kafka.bootstrap-servers); "
                + "create it (kafka-topics.sh --create), name the job's topics with kafka.topic.*, or start with "
                + "--kafka.create-missing-topics true", e.getMessage());
    }

    @Test
    void createsTheMissingTopicsWhenAskedAndThenFindsThem() throws Exception {
        String prefix = "tc-create-";
        E3StreamOptions options = E3StreamJobITCase.options(prefix, Map.of("kafka.create-missing-topics", "true",
                "kafka.create-topics.partitions", "3", "kafka.create-topics.replication-factor", "1"));
        assertEquals(six(prefix), TopicCheck.ensureTopics(options));
        Properties props = new Properties();
        props.put("bootstrap.servers", SharedKafka.get().bootstrapServers());
        try (Admin admin = Admin.create(props)) {
            Map<String, TopicDescription> described = admin.describeTopics(six(prefix)).allTopicNames().get();
            for (String topic : six(prefix)) {
                assertEquals(3, described.get(topic).partitions().size(), topic);
            }
        }
        assertEquals(List.of(), TopicCheck.ensureTopics(options), "nothing left to create");
        // without the option, all present: the check passes
        assertEquals(List.of(), TopicCheck.ensureTopics(E3StreamJobITCase.options(prefix, Map.of())));
    }

    @Test
    void aBrokerThatDoesNotAnswerStopsStartUpWithinTheTimeoutSayingHowToSkipTheCheck() throws Exception {
        int port = CalibrationITCase.freePort();
        E3StreamOptions options = E3StreamJobITCase.options("tc-none-", Map.of("kafka.bootstrap-servers",
                "127.0.0.1:" + port, "kafka.topic-check-timeout", "3 s"));
        long start = System.nanoTime();
        TopicCheck.TopicCheckException e = assertThrows(TopicCheck.TopicCheckException.class,
                () -> TopicCheck.ensureTopics(options));
        long seconds = (System.nanoTime() - start) / 1_000_000_000L;
        assertTrue(seconds < 20, "gave up after " + seconds + " s");
        assertTrue(e.getMessage().startsWith("cannot check the job's topics on the Kafka brokers 127.0.0.1:" + port
                + " within PT3S (kafka.topic-check-timeout): "), e.getMessage());
        assertTrue(e.getMessage().endsWith("or set kafka.topic-check-timeout 0 to skip the check"), e.getMessage());
        // skipped: no broker needed
        assertEquals(List.of(), TopicCheck.ensureTopics(options.with(Map.of("kafka.topic-check-timeout", "0 s"))));
    }

    /**
     * Creates {@code topics} with one partition and the topic settings {@code configs}, and waits until the broker
     * describes them (creation returns once the controller has them; the broker learns of them a moment later).
     */
    static void createTopics(Map<String, String> configs, String... topics) throws Exception {
        Properties props = new Properties();
        props.put("bootstrap.servers", SharedKafka.get().bootstrapServers());
        try (Admin admin = Admin.create(props)) {
            admin.createTopics(java.util.Arrays.stream(topics)
                    .map(t -> new NewTopic(t, 1, (short) 1).configs(configs)).toList()).all().get();
            List<org.apache.kafka.common.config.ConfigResource> resources = java.util.Arrays.stream(topics)
                    .map(t -> new org.apache.kafka.common.config.ConfigResource(
                            org.apache.kafka.common.config.ConfigResource.Type.TOPIC, t)).toList();
            long deadline = System.nanoTime() + 30_000_000_000L;
            while (true) {
                try {
                    admin.describeConfigs(resources).all().get();
                    return;
                } catch (java.util.concurrent.ExecutionException e) {
                    if (System.nanoTime() > deadline) {
                        throw e;
                    }
                    Thread.sleep(50);
                }
            }
        }
    }

    @Test
    void readsEachOutputTopicsSizeAndTimestampLimitsAndTheBrokersDefaultsForATopicNotThereYet() throws Exception {
        String prefix = "tc-limits-";
        SharedKafka.get().createTopics(1, prefix + "images", prefix + "labels", prefix + "review");
        createTopics(Map.of("max.message.bytes", "65536", "message.timestamp.before.max.ms", "86400000"),
                prefix + "predictions", prefix + "images-dlq");
        createTopics(Map.of("message.timestamp.type", "LogAppendTime"), prefix + "calibration");
        E3StreamOptions options = E3StreamJobITCase.options(prefix, Map.of("model.control", "true",
                "kafka.properties.max.request.size", "500000"));
        OutputLimits limits = TopicCheck.outputLimits(options);
        assertEquals(500_000, limits.maxRequestSize());
        OutputLimits.Topic predictions = limits.topic(prefix + "predictions");
        assertEquals(new OutputLimits.Topic(65536, 86_400_000L, predictions.afterMaxMs(), false), predictions);
        assertEquals(65536 - 1024, limits.maxRecordBytes(prefix + "predictions"), "the topic's, less the framing");
        assertEquals(65536, limits.topic(prefix + "images-dlq").maxMessageBytes());
        OutputLimits.Topic review = limits.topic(prefix + "review");
        assertEquals(1024 * 1024 + 12, review.maxMessageBytes(), "the broker's default");
        assertEquals(Long.MAX_VALUE, review.beforeMaxMs(), "the broker's default: no bound");
        assertEquals(500_000 - 1024, limits.maxRecordBytes(prefix + "review"), "max.request.size is smaller");
        assertTrue(limits.topic(prefix + "calibration").logAppendTime());
        // control-results is not there yet (it may be created later): the broker's defaults
        assertEquals(review, limits.topic(prefix + "control-results"));
        long now = System.currentTimeMillis();
        long yearOld = now - 365 * 86_400_000L;
        assertEquals(now, limits.timestamp(prefix + "predictions", yearOld, now));
        assertEquals(yearOld, limits.timestamp(prefix + "review", yearOld, now));
    }

    @Test
    void anOutputTopicLimitTheJobCannotHonourStopsStartUpNamingTheSettingAndTopic() throws Exception {
        String prefix = "tc-tiny-";
        SharedKafka.get().createTopics(1, prefix + "images", prefix + "labels", prefix + "predictions",
                prefix + "images-dlq", prefix + "calibration");
        createTopics(Map.of("max.message.bytes", "1000"), prefix + "review");
        TopicCheck.TopicCheckException e = assertThrows(TopicCheck.TopicCheckException.class,
                () -> TopicCheck.outputLimits(E3StreamJobITCase.options(prefix, Map.of())));
        assertTrue(e.getMessage().startsWith("max.message.bytes of topic tc-tiny-review is 1000 bytes: the job needs "
                + "at least 32768 bytes"), e.getMessage());
        IllegalStateException built = assertThrows(IllegalStateException.class, () -> E3StreamJob.build(
                org.apache.flink.streaming.api.environment.StreamExecutionEnvironment.createLocalEnvironment(1),
                E3StreamJobITCase.options(prefix, Map.of())));
        assertEquals(e.getMessage(), built.getMessage(), "building the job stops the same way");
    }
}
