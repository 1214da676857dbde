package e3stream.pipeline.internal.events;

import java.util.List;
import java.util.Optional;

import org.apache.flink.annotation.Internal;
import org.apache.flink.connector.kafka.lineage.DefaultKafkaDatasetFacet;
import org.apache.flink.connector.kafka.lineage.DefaultKafkaDatasetIdentifier;
import org.apache.flink.connector.kafka.lineage.KafkaDatasetFacet;
import org.apache.flink.connector.kafka.lineage.KafkaDatasetFacetProvider;
import org.apache.flink.connector.kafka.sink.KafkaRecordSerializationSchema;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * Writes an {@link OutputRecord} to its own topic, so one (transactional) sink serves every output topic, each record
 * made to fit its topic's size and timestamp limits first ({@link OutputFit}, the one place they are enforced). It names
 * the topics it writes to ({@link KafkaDatasetFacetProvider}): the sink's POOLING transactional ids need them to
 * find and abort a failed attempt's lingering transactions at start-up.
 */
@Internal
public final class OutputRecordSerializer implements KafkaRecordSerializationSchema<OutputRecord>,
        KafkaDatasetFacetProvider {

    private static final long serialVersionUID = 1L;

    private final List<String> topics;
    private final OutputFit fit;

    /**
     * @param topics every topic an {@link OutputRecord} of the job may name
     * @param fit    the limits of those topics
     */
    public OutputRecordSerializer(List<String> topics, OutputFit fit) {
        if (topics.isEmpty()) {
            throw new IllegalArgumentException("the output topics must be named");
        }
        this.topics = List.copyOf(topics);
        this.fit = fit;
    }

    @Override
    public ProducerRecord<byte[], byte[]> serialize(OutputRecord record, KafkaSinkContext context, Long timestamp) {
        // The time the record is handed to the producer: the nearest the job gets to when the broker checks it.
        OutputRecord fitted = fit.fit(record, System.currentTimeMillis());
        return new ProducerRecord<>(fitted.topic, null, fitted.timestamp, fitted.key, fitted.value);
    }

    @Override
    public Optional<KafkaDatasetFacet> getKafkaDatasetFacet() {
        return Optional.of(new DefaultKafkaDatasetFacet(DefaultKafkaDatasetIdentifier.ofTopics(topics)));
    }
}
