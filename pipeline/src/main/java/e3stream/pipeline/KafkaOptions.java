package e3stream.pipeline;

import java.time.Duration;

import org.apache.flink.annotation.PublicEvolving;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ConfigOptions;

/**
 * The job's Kafka settings: the brokers, the topics it reads and writes, the consumer group, transactions and the
 * start-up topic check. Parsed and validated with every other option by {@link E3StreamOptions}.
 */
@PublicEvolving
public final class KafkaOptions {

    private KafkaOptions() {
    }

    public static final ConfigOption<String> BOOTSTRAP_SERVERS = ConfigOptions.key("kafka.bootstrap-servers")
            .stringType().noDefaultValue()
            .withDescription("Kafka bootstrap servers, host:port[,host:port...]. Required.");

    public static final ConfigOption<String> TOPIC_IMAGES = ConfigOptions.key("kafka.topic.images")
            .stringType().defaultValue("images").withDescription("Input topic of image events.");

    public static final ConfigOption<String> TOPIC_LABELS = ConfigOptions.key("kafka.topic.labels")
            .stringType().defaultValue("labels").withDescription("Input topic of label events (delayed ground truth).");

    public static final ConfigOption<String> TOPIC_PREDICTIONS = ConfigOptions.key("kafka.topic.predictions")
            .stringType().defaultValue("predictions").withDescription("Output topic of accepted predictions.");

    public static final ConfigOption<String> TOPIC_REVIEW = ConfigOptions.key("kafka.topic.review")
            .stringType().defaultValue("review").withDescription("Output topic of predictions sent to human review.");

    public static final ConfigOption<String> TOPIC_DLQ = ConfigOptions.key("kafka.topic.dlq")
            .stringType().defaultValue("images-dlq")
            .withDescription("Output topic of image events that could not be parsed or decoded (dead letters).");

    public static final ConfigOption<String> TOPIC_CALIBRATION = ConfigOptions.key("kafka.topic.calibration")
            .stringType().defaultValue("calibration")
            .withDescription("Output topic of per-window calibration and drift snapshots.");

    public static final ConfigOption<String> TOPIC_SHADOW = ConfigOptions.key("kafka.topic.shadow")
            .stringType().defaultValue("shadow")
            .withDescription("Output topic of the shadow model's results (model.shadow-bundle): the prediction "
                    + "record of the shadow model with the active model's decision beside it. Unused without a "
                    + "shadow bundle.");

    public static final ConfigOption<String> GROUP_ID = ConfigOptions.key("kafka.group-id")
            .stringType().defaultValue("e3stream")
            .withDescription("Consumer group id of the sources (offsets are committed on checkpoints).");

    public static final ConfigOption<E3StreamOptions.StartingOffsets> STARTING_OFFSETS = ConfigOptions.key("kafka.starting-offsets")
            .enumType(E3StreamOptions.StartingOffsets.class).defaultValue(E3StreamOptions.StartingOffsets.EARLIEST)
            .withDescription("Where to start reading when the group has no committed offset: EARLIEST or LATEST.");

    public static final ConfigOption<String> TRANSACTIONAL_ID_PREFIX = ConfigOptions.key("kafka.transactional-id-prefix")
            .stringType().noDefaultValue()
            .withDescription("Prefix of the Kafka transactional ids of the exactly-once sink (POOLING naming: a "
                    + "small pool of ids per subtask, reused across checkpoints). Unset: job.name, '-' and 8 random "
                    + "hex digits, drawn once when the job is built, so two jobs on one broker never share ids. Set it "
                    + "when the broker's ACLs grant transactional ids by prefix.");

    public static final ConfigOption<Duration> TRANSACTION_TIMEOUT = ConfigOptions.key("kafka.transaction-timeout")
            .durationType().defaultValue(Duration.ofMinutes(10))
            .withDescription("transaction.timeout.ms of the exactly-once sink. Checked at start-up: it must exceed "
                    + "checkpoint.timeout + checkpoint.interval (a transaction stays open until the checkpoint after "
                    + "it completes), and that plus the restart strategy's longest delay (job.restart.max-backoff x "
                    + "(1 + job.restart.jitter), or the cluster's own restart strategy's): a recovery commits the "
                    + "transactions of its checkpoint, which the broker aborts once they are older than this, and "
                    + "their outputs are lost (e3_recoveries_past_transaction_timeout_total counts such recoveries). "
                    + "It must stay at or below kafka.broker.transaction-max-timeout.");

    public static final ConfigOption<Duration> BROKER_TRANSACTION_MAX_TIMEOUT = ConfigOptions
            .key("kafka.broker.transaction-max-timeout")
            .durationType().defaultValue(Duration.ofMinutes(15))
            .withDescription("The brokers' transaction.max.timeout.ms (Kafka's default 15 min): the exactly-once sink's "
                    + "kafka.transaction-timeout must not exceed it, or the broker refuses the producer. Set it to the "
                    + "brokers' value when they allow more.");

    public static final ConfigOption<Boolean> ALLOW_TRANSACTION_VERSION_2 = ConfigOptions
            .key("kafka.allow-transaction-version-2")
            .booleanType().defaultValue(false)
            .withDescription("With EXACTLY_ONCE, start-up reads the brokers' finalized feature transaction.version "
                    + "(Kafka Admin describeFeatures, within kafka.topic-check-timeout) and stops when it is 2 or more "
                    + "(transaction protocol v2, KIP-890, the default of brokers formatted by Kafka 4.x): the Flink "
                    + "Kafka sink (flink-connector-kafka 5.0) resumes transactions after a restart with the v1 "
                    + "protocol, and a recovery after a producer-epoch rollover fails (FLINK-40689). The message says "
                    + "what to set on the brokers (transaction.version=1). true starts on v2 brokers anyway, with a "
                    + "warning.");

    public static final ConfigOption<Duration> TOPIC_CHECK_TIMEOUT = ConfigOptions.key("kafka.topic-check-timeout")
            .durationType().defaultValue(Duration.ofSeconds(30))
            .withDescription("At start-up the job asks the brokers (Kafka Admin) whether its six topics exist and "
                    + "stops with a message naming the missing ones and the brokers, and reads each output topic's "
                    + "max.message.bytes and message.timestamp.* limits (docs/reliability.md, Output topic limits); "
                    + "this bounds the wait for their answers, and that of the transaction-version check "
                    + "(kafka.allow-transaction-version-2). 0 skips these checks and assumes Kafka's default topic "
                    + "limits (e.g. when the client that submits the job cannot reach Kafka).");

    public static final ConfigOption<Boolean> CREATE_MISSING_TOPICS = ConfigOptions.key("kafka.create-missing-topics")
            .booleanType().defaultValue(false)
            .withDescription("Create the job's missing topics at start-up (kafka.create-topics.partitions, "
                    + "kafka.create-topics.replication-factor) instead of stopping. Needs kafka.topic-check-timeout > 0.");

    public static final ConfigOption<Integer> CREATE_TOPICS_PARTITIONS = ConfigOptions.key("kafka.create-topics.partitions")
            .intType().defaultValue(-1)
            .withDescription("Partitions of topics created by kafka.create-missing-topics; -1 = the broker's "
                    + "num.partitions.");

    public static final ConfigOption<Integer> CREATE_TOPICS_REPLICATION = ConfigOptions
            .key("kafka.create-topics.replication-factor")
            .intType().defaultValue(-1)
            .withDescription("Replication factor of topics created by kafka.create-missing-topics; -1 = the broker's "
                    + "default.replication.factor.");
}
