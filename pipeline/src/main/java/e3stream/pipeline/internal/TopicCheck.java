package e3stream.pipeline.internal;

import e3stream.pipeline.E3StreamOptions;
import e3stream.pipeline.KafkaOptions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.DescribeClusterOptions;
import org.apache.kafka.clients.admin.DescribeConfigsOptions;
import org.apache.kafka.clients.admin.CreateTopicsOptions;
import org.apache.kafka.clients.admin.DescribeTopicsOptions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.KafkaFuture;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.common.errors.AuthenticationException;
import org.apache.kafka.common.errors.SslAuthenticationException;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.apache.flink.annotation.Internal;
import e3stream.pipeline.internal.events.OutputLimits;

/**
 * The start-up check of the job's topics ({@code images}, {@code labels} and the four outputs): asks the brokers
 * (Kafka {@link Admin}, with the job's {@code kafka.properties.*}, so TLS/SASL apply) within
 * {@code kafka.topic-check-timeout}, and either creates the missing ones ({@code kafka.create-missing-topics}) or stops
 * start-up with a message naming them and the brokers; brokers that refuse the job's SASL credentials or TLS
 * handshake stop it at once, with a message saying which settings to check. Without it a missing input topic failed the running job (the
 * Kafka source finds no partitions) and a missing output topic failed the sink at its first record, over and over.
 *
 * <pre>{@code
 * TopicCheck.ensureTopics(options); // throws TopicCheckException naming what is missing
 * OutputLimits limits = TopicCheck.outputLimits(options); // each output topic's size and timestamp limits
 * }</pre>
 */
@Internal
public final class TopicCheck {

    private static final Logger LOG = LoggerFactory.getLogger(TopicCheck.class);

    private TopicCheck() {
    }

    /** Start-up cannot go on: a topic is missing, or the brokers did not answer. The message says what to do. */
    public static final class TopicCheckException extends Exception {
        private static final long serialVersionUID = 1L;

        TopicCheckException(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /** The job's topics: its inputs (the control topic with model.control), then its outputs. */
    static List<String> topics(E3StreamOptions options) {
        Set<String> topics = new LinkedHashSet<>();
        topics.add(options.get(KafkaOptions.TOPIC_IMAGES));
        topics.add(options.get(KafkaOptions.TOPIC_LABELS));
        if (options.get(E3StreamOptions.MODEL_CONTROL)) {
            topics.add(options.get(E3StreamOptions.TOPIC_CONTROL));
        }
        topics.addAll(options.outputTopics());
        return new ArrayList<>(topics);
    }

    /**
     * Checks that the job's topics exist, creating the missing ones when {@code kafka.create-missing-topics} is true;
     * does nothing when {@code kafka.topic-check-timeout} is 0.
     *
     * @return the topics this call created
     * @throws TopicCheckException naming the missing topics and the brokers, or saying that they did not answer
     */
    public static List<String> ensureTopics(E3StreamOptions options) throws TopicCheckException {
        Duration timeout = options.get(KafkaOptions.TOPIC_CHECK_TIMEOUT);
        if (timeout.isZero()) {
            return List.of();
        }
        String brokers = options.get(KafkaOptions.BOOTSTRAP_SERVERS);
        List<String> topics = topics(options);
        int timeoutMs = timeoutMs(timeout);
        long deadline = System.nanoTime() + timeout.toNanos();
        try (Admin admin = Admin.create(adminProperties(options, timeout, "topic-check"))) {
            List<String> missing = new ArrayList<>();
            Map<String, KafkaFuture<TopicDescription>> described = admin.describeTopics(topics,
                    new DescribeTopicsOptions().timeoutMs(timeoutMs)).topicNameValues();
            for (String topic : topics) {
                try {
                    described.get(topic).get(remainingMs(deadline), TimeUnit.MILLISECONDS);
                } catch (ExecutionException e) {
                    if (e.getCause() instanceof UnknownTopicOrPartitionException) {
                        missing.add(topic);
                    } else if (e.getCause() instanceof AuthenticationException refused) {
                        throw notAuthenticated(brokers, refused);
                    } else {
                        throw unanswered(brokers, timeout, e.getCause());
                    }
                }
            }
            if (missing.isEmpty()) {
                return List.of();
            }
            if (!options.get(KafkaOptions.CREATE_MISSING_TOPICS)) {
                throw new TopicCheckException("topic" + (missing.size() > 1 ? "s " : " ") + missing + " missing on the "
                        + "Kafka brokers " + brokers + " (" + KafkaOptions.BOOTSTRAP_SERVERS.key() + "); create "
                        + (missing.size() > 1 ? "them" : "it") + " (kafka-topics.sh --create), name the job's topics "
                        + "with kafka.topic.*, or start with --" + KafkaOptions.CREATE_MISSING_TOPICS.key()
                        + " true", null);
            }
            return create(admin, options, missing, brokers, timeout, deadline);
        } catch (TimeoutException e) {
            throw unanswered(brokers, timeout, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new TopicCheckException("interrupted while checking the topics on " + brokers, e);
        }
    }

    /**
     * Each output topic's {@code max.message.bytes}, {@code message.timestamp.before.max.ms},
     * {@code message.timestamp.after.max.ms} and {@code message.timestamp.type} as the brokers report them (Kafka
     * Admin describeConfigs: a topic's own setting, else the broker's default), with the producer's
     * {@code max.request.size}; for a topic that does not exist yet, the broker's defaults
     * ({@code message.max.bytes}, {@code log.message.timestamp.*}). When {@code kafka.topic-check-timeout} is 0,
     * Kafka's defaults are assumed.
     *
     * @throws TopicCheckException when the brokers do not answer or refuse, or a limit is one the job cannot honour
     *                             (the message names the setting and topic)
     */
    public static OutputLimits outputLimits(E3StreamOptions options) throws TopicCheckException {
        Duration timeout = options.get(KafkaOptions.TOPIC_CHECK_TIMEOUT);
        int maxRequestSize = JobSettings.producerMaxRequestSize(options);
        List<String> topics = options.outputTopics();
        if (timeout.isZero()) {
            LOG.warn("{} is 0: assuming Kafka's default limits on the output topics {} (max.message.bytes {}, no "
                    + "timestamp bound into the past, {} ms into the future)", KafkaOptions.TOPIC_CHECK_TIMEOUT.key(),
                    topics, OutputLimits.KAFKA_DEFAULT_MAX_MESSAGE_BYTES, OutputLimits.KAFKA_DEFAULT_AFTER_MAX_MS);
            return OutputLimits.assumed(maxRequestSize, topics);
        }
        String brokers = options.get(KafkaOptions.BOOTSTRAP_SERVERS);
        long deadline = System.nanoTime() + timeout.toNanos();
        Map<String, OutputLimits.Topic> read = new java.util.LinkedHashMap<>();
        try (Admin admin = Admin.create(adminProperties(options, timeout, "topic-check"))) {
            List<ConfigResource> resources = topics.stream()
                    .map(t -> new ConfigResource(ConfigResource.Type.TOPIC, t)).toList();
            Map<ConfigResource, KafkaFuture<Config>> described = admin.describeConfigs(resources,
                    new DescribeConfigsOptions().timeoutMs(timeoutMs(timeout))).values();
            OutputLimits.Topic brokerDefaults = null;
            for (ConfigResource resource : resources) {
                try {
                    Config config = described.get(resource).get(remainingMs(deadline), TimeUnit.MILLISECONDS);
                    read.put(resource.name(), topicLimits(config, TopicConfig.MAX_MESSAGE_BYTES_CONFIG,
                            "message.timestamp."));
                } catch (ExecutionException e) {
                    if (e.getCause() instanceof UnknownTopicOrPartitionException) {
                        if (brokerDefaults == null) {
                            brokerDefaults = brokerDefaults(admin, brokers, timeout, deadline);
                        }
                        read.put(resource.name(), brokerDefaults);
                    } else {
                        throw describeFailed(brokers, timeout, e.getCause());
                    }
                }
            }
        } catch (TimeoutException e) {
            throw unanswered(brokers, timeout, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new TopicCheckException("interrupted while reading the output topics' limits on " + brokers, e);
        }
        OutputLimits limits = new OutputLimits(maxRequestSize, read);
        try {
            limits.check();
        } catch (IllegalArgumentException e) {
            throw new TopicCheckException(e.getMessage() + " (Kafka brokers " + brokers + ")", e);
        }
        LOG.info("output topic limits: {}", limits);
        return limits;
    }

    /** The defaults of the broker that answers first, for topics that do not exist yet. */
    private static OutputLimits.Topic brokerDefaults(Admin admin, String brokers, Duration timeout, long deadline)
            throws TopicCheckException, InterruptedException, TimeoutException {
        try {
            java.util.Collection<Node> nodes = admin.describeCluster(new DescribeClusterOptions()
                    .timeoutMs(timeoutMs(timeout))).nodes().get(remainingMs(deadline), TimeUnit.MILLISECONDS);
            if (nodes.isEmpty()) {
                throw new TopicCheckException("the Kafka brokers " + brokers + " name no broker", null);
            }
            ConfigResource broker = new ConfigResource(ConfigResource.Type.BROKER,
                    Integer.toString(nodes.iterator().next().id()));
            Config config = admin.describeConfigs(List.of(broker), new DescribeConfigsOptions()
                    .timeoutMs(timeoutMs(timeout))).values().get(broker).get(remainingMs(deadline), TimeUnit.MILLISECONDS);
            return topicLimits(config, "message.max.bytes", "log.message.timestamp.");
        } catch (ExecutionException e) {
            throw describeFailed(brokers, timeout, e.getCause());
        }
    }

    /** The limits in {@code config}, its keys {@code maxBytesKey} and {@code timestampPrefix + before.max.ms} etc. */
    static OutputLimits.Topic topicLimits(Config config, String maxBytesKey, String timestampPrefix) {
        OutputLimits.Topic defaults = OutputLimits.Topic.kafkaDefaults();
        long maxBytes = number(config, maxBytesKey, defaults.maxMessageBytes());
        // Brokers before Kafka 3.6 have one bound both ways (difference.max.ms, gone in 4.0).
        long difference = number(config, timestampPrefix + "difference.max.ms", Long.MAX_VALUE);
        long before = number(config, timestampPrefix + "before.max.ms", difference);
        long after = number(config, timestampPrefix + "after.max.ms", difference);
        ConfigEntry type = config.get(timestampPrefix + "type");
        boolean logAppendTime = type != null && "LogAppendTime".equalsIgnoreCase(type.value());
        return new OutputLimits.Topic((int) Math.min(Integer.MAX_VALUE, maxBytes), before, after, logAppendTime);
    }

    private static long number(Config config, String key, long absent) {
        ConfigEntry entry = config.get(key);
        if (entry == null || entry.value() == null || entry.value().isBlank()) {
            return absent;
        }
        try {
            return Long.parseLong(entry.value().trim());
        } catch (NumberFormatException e) {
            return absent;
        }
    }

    private static TopicCheckException describeFailed(String brokers, Duration timeout, Throwable cause) {
        if (cause instanceof AuthenticationException refused) {
            return notAuthenticated(brokers, refused);
        }
        if (cause instanceof AuthorizationException) {
            return new TopicCheckException("the Kafka brokers " + brokers + " refuse to describe the configuration "
                    + "of the job's output topics (" + cause + "): the job reads each output topic's "
                    + "max.message.bytes and message.timestamp.* at start-up; allow its principal DescribeConfigs on "
                    + "them (kafka-acls.sh --operation DescribeConfigs), or set "
                    + KafkaOptions.TOPIC_CHECK_TIMEOUT.key() + " 0 to assume Kafka's defaults", cause);
        }
        return unanswered(brokers, timeout, cause);
    }

    private static List<String> create(Admin admin, E3StreamOptions options, List<String> missing, String brokers,
                                       Duration timeout, long deadline)
            throws TopicCheckException, InterruptedException, TimeoutException {
        int partitions = options.get(KafkaOptions.CREATE_TOPICS_PARTITIONS);
        int replication = options.get(KafkaOptions.CREATE_TOPICS_REPLICATION);
        List<NewTopic> newTopics = new ArrayList<>();
        for (String topic : missing) {
            newTopics.add(new NewTopic(topic, partitions < 0 ? Optional.empty() : Optional.of(partitions),
                    replication < 0 ? Optional.empty() : Optional.of((short) replication)));
        }
        List<String> created = new ArrayList<>();
        Map<String, KafkaFuture<Void>> results = admin.createTopics(newTopics,
                new CreateTopicsOptions().timeoutMs((int) Math.max(1, remainingMs(deadline)))).values();
        for (String topic : missing) {
            try {
                results.get(topic).get(remainingMs(deadline), TimeUnit.MILLISECONDS);
                created.add(topic);
            } catch (ExecutionException e) {
                if (!(e.getCause() instanceof TopicExistsException)) { // created meanwhile by someone else: fine
                    throw new TopicCheckException("cannot create topic " + topic + " on the Kafka brokers " + brokers
                            + " (" + KafkaOptions.CREATE_MISSING_TOPICS.key() + "): " + e.getCause(), e.getCause());
                }
            }
        }
        LOG.info("created the missing topics {} on {} (partitions {}, replication factor {}; -1 = broker default)",
                created, brokers, partitions, replication);
        return created;
    }

    /**
     * The properties of a start-up check's admin client: the job's {@code kafka.properties.*} (so TLS/SASL and config
     * providers apply), every call bounded by {@code timeout}, client id {@code <kafka.group-id>-<purpose>} unless
     * {@code kafka.properties.client.id} is set.
     */
    static Properties adminProperties(E3StreamOptions options, Duration timeout, String purpose) {
        Properties props = options.kafkaProperties();
        props.setProperty(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, Integer.toString(timeoutMs(timeout)));
        props.setProperty(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, Integer.toString(timeoutMs(timeout)));
        props.putIfAbsent(AdminClientConfig.CLIENT_ID_CONFIG, options.get(KafkaOptions.GROUP_ID) + "-" + purpose);
        return props;
    }

    private static int timeoutMs(Duration timeout) {
        return (int) Math.min(Integer.MAX_VALUE, Math.max(1, timeout.toMillis()));
    }

    private static long remainingMs(long deadlineNanos) {
        return Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadlineNanos - System.nanoTime()));
    }

    /**
     * The brokers answered but refused the job's client: a wrong SASL user or password, a mechanism they do not
     * enable, or a TLS handshake that failed (Kafka fails such calls at once, so this comes in seconds).
     */
    private static TopicCheckException notAuthenticated(String brokers, AuthenticationException cause) {
        String p = E3StreamOptions.KAFKA_PROPERTIES_PREFIX;
        String check = cause instanceof SslAuthenticationException
                ? "the TLS handshake with the Kafka brokers " + brokers + " failed (" + cause + "); check " + p
                        + "ssl.truststore.* (the certificate or CA the brokers' certificates are signed with), " + p
                        + "ssl.keystore.* when the brokers require a client certificate, and that the brokers' "
                        + "certificates name the hosts in " + KafkaOptions.BOOTSTRAP_SERVERS.key()
                : "the Kafka brokers " + brokers + " refused to authenticate the job (" + cause + "); check "
                        + p + "security.protocol, " + p + "sasl.mechanism and the user name and password in " + p
                        + "sasl.jaas.config";
        return new TopicCheckException(check, cause);
    }

    private static TopicCheckException unanswered(String brokers, Duration timeout, Throwable cause) {
        return new TopicCheckException("cannot check the job's topics on the Kafka brokers " + brokers + " within "
                + timeout + " (" + KafkaOptions.TOPIC_CHECK_TIMEOUT.key() + "): " + cause + "; check "
                + KafkaOptions.BOOTSTRAP_SERVERS.key() + " and the security settings in "
                + E3StreamOptions.KAFKA_PROPERTIES_PREFIX + "*, or set " + KafkaOptions.TOPIC_CHECK_TIMEOUT.key()
                + " 0 to skip the check", cause);
    }
}
