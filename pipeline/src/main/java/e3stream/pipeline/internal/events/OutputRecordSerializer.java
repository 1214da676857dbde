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
 * Writes an {@link OutputRecord} to its own topic, so one (transactional) sink serves every output topic. It names
 * the topics it writes to ({@link KafkaDatasetFacetProvider}): the sink's POOLING transactional ids need them to
 * find and abort a failed attempt's lingering transactions at start-up.
 */
@Internal
public final class OutputRecordSerializer implements KafkaRecordSerializationSchema<OutputRecord>,
        KafkaDatasetFacetProvider {

    private static final long serialVersionUID = 1L;

    private final List<String> topics;

    /** @param topics every topic an {@link OutputRecord} of the job may name */
    public OutputRecordSerializer(List<String> topics) {
        if (topics.isEmpty()) {
            throw new IllegalArgumentException("the output topics must be named");
        }
        this.topics = List.copyOf(topics);
    }

    @Override
    public ProducerRecord<byte[], byte[]> serialize(OutputRecord record, KafkaSinkContext context, Long timestamp) {
        return new ProducerRecord<>(record.topic, null, record.timestamp, record.key, record.value);
    }

    @Override
    public Optional<KafkaDatasetFacet> getKafkaDatasetFacet() {
        return Optional.of(new DefaultKafkaDatasetFacet(DefaultKafkaDatasetIdentifier.ofTopics(topics)));
    }
}
