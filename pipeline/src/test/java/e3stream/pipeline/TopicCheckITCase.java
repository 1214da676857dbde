package e3stream.pipeline;

import e3stream.pipeline.internal.TopicCheck;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.Properties;

import e3stream.pipeline.testutils.SharedKafka;
import org.apache.kafka.clients.admin.Admin;
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
}
