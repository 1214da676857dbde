package e3stream.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import e3stream.pipeline.embedded.ImageEvents;
import e3stream.pipeline.internal.TopicCheck;
import e3stream.pipeline.testutils.KafkaIO;
import e3stream.pipeline.testutils.RunningJob;
import e3stream.pipeline.testutils.SecureKafka;
import com.fasterxml.jackson.databind.JsonNode;
import e3stream.pipeline.testutils.TestData;
import e3stream.runtime.model.ModelBundle;
import org.apache.flink.api.common.JobStatus;
import org.apache.flink.runtime.jobgraph.JobGraph;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.util.InstantiationUtil;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourceType;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The job end to end over Kafka's security protocols, on one in-process broker with an SSL listener that requires
 * a client certificate and a SASL_SSL listener (SCRAM-SHA-512), certificates made by the test with keytool: the
 * topic check, the sources, the exactly-once sink and its committer all go through the secured listener, and every
 * event ends once in predictions, review or images-dlq. The SASL password comes from a Kafka file config provider,
 * so the job's configuration and job graph hold the reference, never the password. Wrong credentials and an untrusted
 * broker certificate stop start-up at the topic check in seconds, saying which.
 */
class KafkaSecurityITCase {

    @TempDir
    static Path dir;

    static SecureKafka kafka;

    @BeforeAll
    static void startBroker() throws Exception {
        kafka = SecureKafka.start(dir.resolve("tls"));
        E3StreamJobITCase.kafka = kafka.broker(); // the fixtures' producer uses the PLAINTEXT listener
    }

    @AfterAll
    static void stopBroker() {
        if (kafka != null) {
            kafka.close();
        }
    }

    /** The job's options for topics under {@code prefix}, bootstrapping from {@code servers} with these client properties. */
    private static E3StreamOptions options(String prefix, String servers, Map<String, String> client) {
        Map<String, String> extra = new LinkedHashMap<>();
        extra.put("kafka.bootstrap-servers", servers);
        client.forEach((k, v) -> extra.put(E3StreamOptions.KAFKA_PROPERTIES_PREFIX + k, v));
        return E3StreamJobITCase.options(prefix, extra);
    }

    private static void createTopics(String prefix) {
        kafka.broker().createTopics(2, prefix + "images", prefix + "labels", prefix + "predictions", prefix + "review",
                prefix + "images-dlq", prefix + "calibration");
    }

    /** Runs the job with {@code options} over 200 images and the malformed fixtures; asserts each ends once. */
    private static void everyEventEndsOnce(String prefix, E3StreamOptions options) throws Exception {
        assertEquals(List.of(), TopicCheck.ensureTopics(options), "the topic check passes over the secured listener");
        Map<String, byte[]> pngs = E3StreamJobITCase.pngs(200);
        List<Object[]> bad = E3StreamJobITCase.malformed();
        List<String> outputs = List.of(prefix + "predictions", prefix + "review", prefix + "images-dlq");
        List<KafkaIO.Read> reads;
        try (RunningJob job = RunningJob.start(options)) {
            int sent = E3StreamJobITCase.produce(prefix + "images", pngs, bad, 1_700_000_000_000L);
            reads = KafkaIO.readUntil(kafka.broker().bootstrapServers(), outputs, r -> r.size() >= sent,
                    Duration.ofMinutes(5), Duration.ofSeconds(3));
            assertEquals(sent, reads.size(), "records on the three output topics");
        }
        E3StreamJobITCase.assertExactlyOnce(prefix, reads, pngs, bad);
    }

    @Test
    void overMutualTlsEveryEventEndsOnceInPredictionsReviewOrDeadLetters() throws Exception {
        String prefix = "tls-";
        createTopics(prefix);
        everyEventEndsOnce(prefix, options(prefix, kafka.broker().bootstrapServers("SSL"), kafka.tlsClient()));
    }

    @Test
    void overSaslScramOnTlsWithThePasswordFromAFileConfigProviderEveryEventEndsOnce() throws Exception {
        String prefix = "sasl-";
        createTopics(prefix);
        Path secrets = dir.resolve("kafka-secrets.properties");
        Files.writeString(secrets, "password=" + kafka.userPassword() + "\ntruststore.password=" + kafka.storePassword()
                + "\n", StandardCharsets.UTF_8);
        Map<String, String> client = new LinkedHashMap<>(kafka.saslClient("${file:" + secrets + ":password}",
                "${file:" + secrets + ":truststore.password}"));
        client.put("config.providers", "file");
        client.put("config.providers.file.class", "org.apache.kafka.common.config.provider.FileConfigProvider");
        E3StreamOptions options = options(prefix, kafka.broker().bootstrapServers("SASL_SSL"), client);

        // What the job logs and ships to its tasks holds the reference; the password stays in the file.
        assertFalse(options.toString().contains(kafka.userPassword()), options.toString());
        StreamExecutionEnvironment env = StreamExecutionEnvironment.createLocalEnvironment(1);
        E3StreamJob.build(env, options);
        JobGraph graph = env.getStreamGraph().getJobGraph();
        String serialized = new String(InstantiationUtil.serializeObject(graph), StandardCharsets.ISO_8859_1);
        assertTrue(serialized.contains("${file:" + secrets + ":password}"), "the job graph holds the reference");
        assertFalse(serialized.contains(kafka.userPassword()), "the job graph never holds the password");
        assertFalse(serialized.contains(kafka.storePassword()), "nor the truststore's");

        everyEventEndsOnce(prefix, options);
    }

    @Test
    void aWrongSaslPasswordStopsTheTopicCheckInSecondsSayingTheBrokersRefusedIt() throws Exception {
        String prefix = "sasl-wrong-";
        createTopics(prefix);
        String servers = kafka.broker().bootstrapServers("SASL_SSL");
        E3StreamOptions options = options(prefix, servers, kafka.saslClient("not-the-password", kafka.storePassword()));
        long start = System.nanoTime();
        TopicCheck.TopicCheckException e = assertThrows(TopicCheck.TopicCheckException.class,
                () -> TopicCheck.ensureTopics(options));
        Duration took = Duration.ofNanos(System.nanoTime() - start);
        assertEquals("the Kafka brokers " + servers + " refused to authenticate the job (org.apache.kafka.common."
                + "errors.SaslAuthenticationException: Authentication failed during authentication due to invalid "
                + "credentials with SASL mechanism SCRAM-SHA-512); check kafka.properties.security.protocol, "
                + "kafka.properties.sasl.mechanism and the user name and password in kafka.properties.sasl.jaas.config",
                e.getMessage());
        Duration timeout = options.get(KafkaOptions.TOPIC_CHECK_TIMEOUT);
        assertTrue(took.compareTo(timeout.dividedBy(3)) < 0, "refused in " + took + ", not after the " + timeout
                + " the check would wait for brokers that do not answer");
    }

    @Test
    void anUntrustedBrokerCertificateStopsTheTopicCheckInSecondsSayingTheTlsHandshakeFailed() throws Exception {
        String prefix = "tls-untrusted-";
        createTopics(prefix);
        String servers = kafka.broker().bootstrapServers("SSL");
        Map<String, String> client = new LinkedHashMap<>(kafka.tlsClient());
        client.keySet().removeIf(k -> k.startsWith("ssl.truststore.")); // the JDK's CAs do not know the test's broker
        E3StreamOptions options = options(prefix, servers, client);
        long start = System.nanoTime();
        TopicCheck.TopicCheckException e = assertThrows(TopicCheck.TopicCheckException.class,
                () -> TopicCheck.ensureTopics(options));
        Duration took = Duration.ofNanos(System.nanoTime() - start);
        assertTrue(e.getMessage().startsWith("the TLS handshake with the Kafka brokers " + servers + " failed (org."
                + "apache.kafka.common.errors.SslAuthenticationException: "), e.getMessage());
        assertTrue(e.getMessage().endsWith("); check kafka.properties.ssl.truststore.* (the certificate or CA the "
                + "brokers' certificates are signed with), kafka.properties.ssl.keystore.* when the brokers require a "
                + "client certificate, and that the brokers' certificates name the hosts in kafka.bootstrap-servers"),
                e.getMessage());
        Duration timeout = options.get(KafkaOptions.TOPIC_CHECK_TIMEOUT);
        assertTrue(took.compareTo(timeout.dividedBy(3)) < 0, "refused in " + took + " (timeout " + timeout + ")");
    }

    @Test
    void aPrincipalWithoutWriteOnTheControlTopicCannotChangeTheModel() throws Exception {
        String prefix = "acl-";
        createTopics(prefix);
        kafka.broker().createTopics(1, prefix + "control");
        kafka.broker().createTopics(2, prefix + "control-results", prefix + "shadow");
        // The operators may write commands; nobody else (the topic has ACLs, so what they do not allow is denied).
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG,
                kafka.broker().bootstrapServers()))) {
            admin.createAcls(List.of(new AclBinding(new ResourcePattern(ResourceType.TOPIC, prefix + "control",
                    PatternType.LITERAL), new AccessControlEntry("User:operator", "*", AclOperation.WRITE,
                    AclPermissionType.ALLOW)))).all().get(30, TimeUnit.SECONDS);
        }
        E3StreamOptions options = E3StreamJobITCase.options(prefix, KafkaIO.map(
                "model.control", "true",
                "kafka.topic.control", prefix + "control",
                "kafka.topic.control-results", prefix + "control-results",
                "kafka.topic.shadow", prefix + "shadow"));
        String deVmoe = TestData.repoRoot().resolve("models/de-vmoe").toAbsolutePath().normalize().toString();
        Map<String, byte[]> pngs = E3StreamJobITCase.pngs(20);
        String servers = kafka.broker().bootstrapServers();
        List<KafkaIO.Read> answers;
        List<KafkaIO.Read> decisions;
        try (RunningJob job = RunningJob.start(options)) {
            // The job's SCRAM user, which has no WRITE on control, tries to start a shadow and promote it.
            Map<String, Object> client = new LinkedHashMap<>(kafka.saslClient(kafka.userPassword(), kafka.storePassword()));
            client.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.broker().bootstrapServers("SASL_SSL"));
            client.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, "30000");
            try (KafkaProducer<byte[], byte[]> intruder = new KafkaProducer<>(client, new ByteArraySerializer(),
                    new ByteArraySerializer())) {
                for (String command : List.of("{\"id\": \"x-shadow\", \"command\": \"shadow\", \"bundle\": \""
                        + deVmoe + "\", \"share\": 1.0}", "{\"id\": \"x-promote\", \"command\": \"promote\"}")) {
                    ExecutionException e = assertThrows(ExecutionException.class, () -> intruder.send(
                            new ProducerRecord<>(prefix + "control", command.getBytes(StandardCharsets.UTF_8)))
                            .get(60, TimeUnit.SECONDS));
                    assertTrue(e.getCause() instanceof TopicAuthorizationException, "refused by the broker: " + e);
                }
            }
            // An operator's status command is answered: the roster the job was started with, nothing else arrived.
            try (KafkaProducer<byte[], byte[]> operator = KafkaIO.producer(servers)) {
                KafkaIO.send(operator, prefix + "control", "status",
                        "{\"id\": \"status\", \"command\": \"status\"}".getBytes(StandardCharsets.UTF_8),
                        System.currentTimeMillis());
                KafkaIO.flush(operator);
                answers = KafkaIO.readUntil(servers, List.of(prefix + "control-results"), r -> !r.isEmpty(),
                        Duration.ofMinutes(5), Duration.ofSeconds(2));
                int i = 0;
                for (Map.Entry<String, byte[]> e : pngs.entrySet()) {
                    long ts = 1_700_000_000_000L + 10L * i++;
                    KafkaIO.send(operator, prefix + "images", e.getKey(), ImageEvents.imageEvent(e.getKey(), ts, "test",
                            "image/png", e.getValue()), ts);
                }
                KafkaIO.flush(operator);
            }
            decisions = KafkaIO.readUntil(servers, List.of(prefix + "predictions", prefix + "review",
                    prefix + "images-dlq"), r -> r.size() >= pngs.size(), Duration.ofMinutes(5), Duration.ofSeconds(2));
            assertEquals(JobStatus.RUNNING, job.status());
        }
        assertEquals(1, answers.size(), "only the operator's command reached the job: " + answers);
        JsonNode status = answers.get(0).json();
        assertEquals("applied", status.get("status").asText());
        assertEquals(0, status.get("revision").asLong(), status.toString());
        assertTrue(status.get("shadow").isNull(), status.toString());
        String e3Sha = ModelBundle.load(TestData.bundle()).manifest().sha256();
        assertEquals(e3Sha, status.get("active").get("sha256").asText());
        assertEquals(pngs.size(), decisions.size());
        for (KafkaIO.Read r : decisions) {
            assertEquals(e3Sha, r.json().get("model").get("sha256").asText(), "decided by the configured e3: " + r.key());
        }
    }
}
