package e3stream.pipeline.embedded;

import java.io.IOException;
import java.io.PrintStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.utils.Time;
import org.apache.kafka.metadata.storage.Formatter;
import org.apache.kafka.server.common.Feature;
import org.apache.kafka.server.common.MetadataVersion;

/**
 * A single-node Kafka 4.2 broker in KRaft combined mode (broker + controller), in this JVM, listening on loopback
 * on free ports, with its log directory in a temporary folder that {@link #close()} deletes.
 *
 * <p>Formatted with {@code transaction.version=1}, what the job's exactly-once sink needs (with the v2 transaction
 * protocol, the Kafka 4.2 default, it recovers transactions wrongly; the job's start-up refuses v2 brokers, see
 * {@code TransactionVersionCheck}). System property {@code e3.kafka.transaction-version} (e.g.
 * {@code -De3.kafka.transaction-version=2} on a Maven test run) formats it with another version, to run the tests
 * against a v2 broker; {@link #start(List, Map, short)} chooses it for one broker.
 * Producers must keep {@code transaction.timeout.ms} below {@link #MAX_TRANSACTION_TIMEOUT_MS}.
 *
 * <p>{@link #start(List, Map)} adds listeners with other security protocols (SSL, SASL_SSL) beside the PLAINTEXT one,
 * for tests of clients that authenticate; the PLAINTEXT listener stays, for topic creation and the tests' own clients.
 *
 * <pre>{@code
 * try (EmbeddedKafka kafka = EmbeddedKafka.start()) {
 *     kafka.createTopics(2, "images", "predictions");
 *     String servers = kafka.bootstrapServers();
 * }
 * }</pre>
 *
 * <p>Thread-safety: {@link #createTopics} may be called from any thread; {@link #close()} once, by the owner.
 */
public final class EmbeddedKafka implements AutoCloseable {

    /** The broker's {@code transaction.max.timeout.ms}. */
    public static final long MAX_TRANSACTION_TIMEOUT_MS = 900_000L;

    private final KafkaRaftServer server;
    private final Path logDir;
    /** {@code host:port} by listener name, PLAINTEXT first. */
    private final Map<String, String> listeners;
    private boolean closed;

    private EmbeddedKafka(KafkaRaftServer server, Path logDir, Map<String, String> listeners) {
        this.server = server;
        this.logDir = logDir;
        this.listeners = listeners;
    }

    /** Formats a fresh log directory and starts the broker; returns once it accepts connections. */
    public static EmbeddedKafka start() throws IOException {
        return start(List.of(), Map.of());
    }

    /**
     * As {@link #start()}, with one more loopback listener per entry of {@code securityProtocols} ({@code SSL},
     * {@code SASL_SSL}, {@code SASL_PLAINTEXT}; each listener is named after its protocol, so listener-specific
     * settings are {@code listener.name.sasl_ssl.*}), and {@code brokerProperties} (keystores, truststores, SASL
     * mechanisms and JAAS settings) added to the broker's configuration.
     */
    public static EmbeddedKafka start(List<String> securityProtocols, Map<String, String> brokerProperties)
            throws IOException {
        return start(securityProtocols, brokerProperties,
                Short.parseShort(System.getProperty("e3.kafka.transaction-version", "1")));
    }

    /**
     * As {@link #start(List, Map)}, formatted with this {@code transaction.version} (the broker feature that selects
     * the transaction protocol: 0 or 1 is v1, 2 is v2) whatever {@code e3.kafka.transaction-version} says.
     */
    public static EmbeddedKafka start(List<String> securityProtocols, Map<String, String> brokerProperties,
                                      short transactionVersion) throws IOException {
        Path logDir = Files.createTempDirectory("e3stream-kafka-");
        Map<String, String> listeners = new LinkedHashMap<>();
        listeners.put("PLAINTEXT", "127.0.0.1:" + freePort());
        for (String protocol : securityProtocols) {
            if (!List.of("SSL", "SASL_SSL", "SASL_PLAINTEXT").contains(protocol)) {
                throw new IllegalArgumentException("unknown listener security protocol " + protocol
                        + "; expected SSL, SASL_SSL or SASL_PLAINTEXT");
            }
            listeners.put(protocol, "127.0.0.1:" + freePort());
        }
        int controllerPort = freePort();
        StringBuilder advertised = new StringBuilder();
        StringBuilder protocolMap = new StringBuilder("CONTROLLER:PLAINTEXT");
        listeners.forEach((name, address) -> {
            advertised.append(advertised.isEmpty() ? "" : ",").append(name).append("://").append(address);
            protocolMap.append(',').append(name).append(':').append(name);
        });
        Properties props = new Properties();
        props.put("process.roles", "broker,controller");
        props.put("node.id", "1");
        props.put("controller.quorum.voters", "1@127.0.0.1:" + controllerPort);
        props.put("listeners", advertised + ",CONTROLLER://127.0.0.1:" + controllerPort);
        props.put("advertised.listeners", advertised.toString());
        props.put("listener.security.protocol.map", protocolMap.toString());
        props.put("controller.listener.names", "CONTROLLER");
        props.put("inter.broker.listener.name", "PLAINTEXT");
        props.put("log.dirs", logDir.toString());
        props.put("num.partitions", "1");
        props.put("offsets.topic.replication.factor", "1");
        props.put("offsets.topic.num.partitions", "2");
        props.put("transaction.state.log.replication.factor", "1");
        props.put("transaction.state.log.min.isr", "1");
        props.put("transaction.state.log.num.partitions", "2");
        props.put("transaction.max.timeout.ms", Long.toString(MAX_TRANSACTION_TIMEOUT_MS));
        props.put("group.initial.rebalance.delay.ms", "0");
        props.put("share.coordinator.state.topic.replication.factor", "1");
        props.put("share.coordinator.state.topic.min.isr", "1");
        props.put("log.flush.interval.messages", Long.toString(Long.MAX_VALUE));
        props.put("auto.create.topics.enable", "false");
        // No time-based retention: tests and the demo replay events with fixed historical timestamps (2023), which
        // the broker's first retention check (30 s after start) would otherwise delete as older than 7 days, so a
        // consumer reading from the beginning later missed the first records.
        props.put("log.retention.ms", "-1");
        // A single in-process node on a busy machine: do not fence ourselves over a late heartbeat.
        props.put("broker.session.timeout.ms", "60000");
        props.put("controller.quorum.fetch.timeout.ms", "60000");
        props.put("controller.quorum.election.timeout.ms", "10000");
        props.putAll(brokerProperties);
        try {
            new Formatter()
                    .setPrintStream(new PrintStream(OutputStream.nullOutputStream()))
                    .setSupportedFeatures(Feature.PRODUCTION_FEATURES)
                    .setNodeId(1)
                    .setClusterId(Uuid.randomUuid().toString())
                    .setDirectories(List.of(logDir.toString()))
                    .setMetadataLogDirectory(logDir.toString())
                    .setControllerListenerName("CONTROLLER")
                    .setReleaseVersion(MetadataVersion.LATEST_PRODUCTION)
                    .setFeatureLevel(Feature.TRANSACTION_VERSION.featureName(), transactionVersion)
                    .run();
        } catch (Exception e) {
            deleteRecursively(logDir);
            throw new IOException("could not format the embedded Kafka log directory " + logDir + ": " + e, e);
        }
        KafkaRaftServer server = new KafkaRaftServer(new KafkaConfig(props, false), Time.SYSTEM);
        try {
            server.startup();
        } catch (RuntimeException e) {
            deleteRecursively(logDir);
            throw new IOException("the embedded Kafka broker did not start: " + e, e);
        }
        EmbeddedKafka kafka = new EmbeddedKafka(server, logDir, listeners);
        kafka.awaitReady();
        return kafka;
    }

    /** {@code host:port} of the PLAINTEXT listener. */
    public String bootstrapServers() {
        return listeners.get("PLAINTEXT");
    }

    /** {@code host:port} of the listener of that security protocol (one given to {@link #start(List, Map)}). */
    public String bootstrapServers(String securityProtocol) {
        String address = listeners.get(securityProtocol);
        if (address == null) {
            throw new IllegalArgumentException("no " + securityProtocol + " listener; this broker has " + listeners.keySet());
        }
        return address;
    }

    /** Creates each topic (replication 1) unless it exists. */
    public void createTopics(int partitions, String... topics) {
        createTopics(bootstrapServers(), partitions, topics);
    }

    /** As {@link #createTopics(int, String...)}, on the single broker at {@code bootstrapServers} (plaintext). */
    public static void createTopics(String bootstrapServers, int partitions, String... topics) {
        try (Admin admin = admin(bootstrapServers)) {
            List<NewTopic> newTopics = new ArrayList<>();
            for (String topic : topics) {
                newTopics.add(new NewTopic(topic, partitions, (short) 1));
            }
            for (var entry : admin.createTopics(newTopics).values().entrySet()) {
                try {
                    entry.getValue().get();
                } catch (ExecutionException e) {
                    if (!(e.getCause() instanceof TopicExistsException)) {
                        throw new IllegalStateException("could not create topic " + entry.getKey() + ": " + e.getCause(), e);
                    }
                }
            }
            awaitLeaders(admin, Arrays.asList(topics));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while creating topics", e);
        }
    }

    /**
     * Waits until every partition has a leader: the create call returns when the controller has the topic, a moment
     * before the broker leads its partitions, and a producer writing in that moment can lose its first batch.
     */
    private static void awaitLeaders(Admin admin, List<String> topics) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (true) {
            try {
                Map<String, TopicDescription> described = admin.describeTopics(topics).allTopicNames().get();
                if (described.values().stream().flatMap(t -> t.partitions().stream())
                        .allMatch(p -> p.leader() != null && !p.leader().isEmpty())) {
                    return;
                }
            } catch (ExecutionException e) {
                // unknown topic while the broker catches up: try again
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("partitions of " + topics + " have no leader 30 s after creation");
            }
            Thread.sleep(20);
        }
    }

    /**
     * A producer of byte keys and values for the demo, tests and benchmarks (idempotent, acks=all). One request in
     * flight: a first batch retried (a partition not yet led right after topic creation) is then never overtaken by
     * the next, which the broker would take as the producer's first sequence, rejecting the retry as out of order
     * until it expires: records silently lost.
     */
    public static KafkaProducer<byte[], byte[]> producer(String bootstrapServers) {
        Properties props = new Properties();
        props.put("bootstrap.servers", bootstrapServers);
        props.put("key.serializer", ByteArraySerializer.class.getName());
        props.put("value.serializer", ByteArraySerializer.class.getName());
        props.put("linger.ms", "5");
        props.put("enable.idempotence", "true");
        props.put("acks", "all");
        props.put("max.in.flight.requests.per.connection", "1");
        return new KafkaProducer<>(props);
    }

    private static Admin admin(String bootstrapServers) {
        return Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers,
                AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 60_000));
    }

    private void awaitReady() throws IOException {
        try (Admin admin = admin(bootstrapServers())) {
            admin.describeCluster().nodes().get();
        } catch (ExecutionException e) {
            close();
            throw new IOException("the embedded Kafka broker did not answer: " + e.getCause(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            close();
            throw new IOException("interrupted while waiting for the embedded Kafka broker", e);
        }
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            server.shutdown();
            server.awaitShutdown();
        } finally {
            deleteRecursively(logDir);
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            socket.setReuseAddress(true);
            return socket.getLocalPort();
        }
    }

    private static void deleteRecursively(Path dir) {
        try (Stream<Path> paths = Files.walk(dir)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // a temporary folder; the OS cleans up what is left
        }
    }
}
