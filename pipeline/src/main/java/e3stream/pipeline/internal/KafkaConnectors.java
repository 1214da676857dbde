package e3stream.pipeline.internal;

import java.security.SecureRandom;
import e3stream.pipeline.KafkaOptions;
import java.util.Properties;
import e3stream.pipeline.internal.events.OutputFit;
import e3stream.pipeline.internal.events.OutputLimits;
import e3stream.pipeline.internal.events.OutputRecord;
import e3stream.pipeline.internal.events.OutputRecordSerializer;
import org.apache.flink.connector.base.DeliveryGuarantee;
import org.apache.flink.connector.kafka.sink.KafkaSink;
import org.apache.flink.connector.kafka.sink.TransactionNamingStrategy;
import org.apache.flink.connector.kafka.source.KafkaSource;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.flink.connector.kafka.source.reader.deserializer.KafkaRecordDeserializationSchema;
import org.apache.kafka.clients.consumer.OffsetResetStrategy;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import e3stream.pipeline.E3StreamOptions;
import org.apache.flink.annotation.Internal;

/** The job's Kafka sources and its one sink, with their client settings and transactional ids. */
@Internal
public final class KafkaConnectors {
    private static final Logger LOG = LoggerFactory.getLogger(KafkaConnectors.class);

    private KafkaConnectors() {
    }

    public static <T> KafkaSource<T> source(E3StreamOptions options, String topic, KafkaRecordDeserializationSchema<T> records) {
        Properties props = options.kafkaProperties();
        // Only committed input: a transactional producer's aborted records never become events.
        props.putIfAbsent("isolation.level", "read_committed");
        OffsetResetStrategy reset = options.get(KafkaOptions.STARTING_OFFSETS) == E3StreamOptions.StartingOffsets.LATEST
                ? OffsetResetStrategy.LATEST : OffsetResetStrategy.EARLIEST;
        return KafkaSource.<T>builder()
                .setBootstrapServers(options.get(KafkaOptions.BOOTSTRAP_SERVERS))
                .setProperties(props)
                .setTopics(topic)
                .setGroupId(options.get(KafkaOptions.GROUP_ID))
                .setClientIdPrefix(options.get(KafkaOptions.GROUP_ID) + "-" + topic)
                .setStartingOffsets(OffsetsInitializer.committedOffsets(reset))
                .setDeserializer(records)
                .build();
    }

    /**
     * The transactional-id prefix of the exactly-once sink: {@code kafka.transactional-id-prefix} when set, else
     * {@code job.name} (characters other than letters, digits, '.', '_', '-' replaced by '-'), '-' and 8 random hex
     * digits, drawn anew on each call (once per job build), so that two jobs never share transactional ids.
     */
    public static String transactionalIdPrefix(E3StreamOptions options) {
        if (options.isSet(KafkaOptions.TRANSACTIONAL_ID_PREFIX)) {
            return options.get(KafkaOptions.TRANSACTIONAL_ID_PREFIX);
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
    public static KafkaSink<OutputRecord> sink(E3StreamOptions options, String transactionalIdPrefix, OutputLimits limits) {
        Properties props = options.kafkaProperties();
        boolean exactlyOnce = options.get(E3StreamOptions.DELIVERY) == E3StreamOptions.Delivery.EXACTLY_ONCE;
        props.setProperty("transaction.timeout.ms", Long.toString(options.get(KafkaOptions.TRANSACTION_TIMEOUT).toMillis()));
        // Explicit, and the size every dead letter is built to fit (DeadLetters).
        props.setProperty("max.request.size", Integer.toString(JobSettings.producerMaxRequestSize(options)));
        if (!exactlyOnce) {
            props.putIfAbsent("linger.ms", "0");
        }
        return KafkaSink.<OutputRecord>builder()
                .setBootstrapServers(options.get(KafkaOptions.BOOTSTRAP_SERVERS))
                .setKafkaProducerConfig(props)
                .setRecordSerializer(new OutputRecordSerializer(options.outputTopics(), outputFit(options, limits)))
                .setDeliveryGuarantee(exactlyOnce ? DeliveryGuarantee.EXACTLY_ONCE : DeliveryGuarantee.AT_LEAST_ONCE)
                .setTransactionalIdPrefix(transactionalIdPrefix)
                .setTransactionNamingStrategy(TransactionNamingStrategy.POOLING)
                .build();
    }

    /** The guard of the sink: what each output topic holds, and where what cannot fit goes. */
    public static OutputFit outputFit(E3StreamOptions options, OutputLimits limits) {
        return new OutputFit(limits, OutputFit.kinds(options.get(KafkaOptions.TOPIC_PREDICTIONS),
                options.get(KafkaOptions.TOPIC_REVIEW), options.get(KafkaOptions.TOPIC_DLQ),
                options.get(KafkaOptions.TOPIC_CALIBRATION),
                options.shadowScoring() ? options.get(KafkaOptions.TOPIC_SHADOW) : null,
                options.get(E3StreamOptions.MODEL_CONTROL) ? options.get(E3StreamOptions.TOPIC_CONTROL_RESULTS) : null),
                options.get(KafkaOptions.TOPIC_DLQ));
    }
}
