package e3stream.pipeline.events;

import org.apache.flink.connector.kafka.sink.KafkaRecordSerializationSchema;
import org.apache.kafka.clients.producer.ProducerRecord;

/** Writes an {@link OutputRecord} to its own topic, so one (transactional) sink serves every output topic. */
public final class OutputRecordSerializer implements KafkaRecordSerializationSchema<OutputRecord> {

    private static final long serialVersionUID = 1L;

    @Override
    public ProducerRecord<byte[], byte[]> serialize(OutputRecord record, KafkaSinkContext context, Long timestamp) {
        return new ProducerRecord<>(record.topic, null, record.timestamp, record.key, record.value);
    }
}
