package e3stream.pipeline.internal.events;

import org.apache.flink.annotation.Internal;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.connector.kafka.source.reader.deserializer.KafkaRecordDeserializationSchema;
import org.apache.flink.util.Collector;
import org.apache.kafka.clients.consumer.ConsumerRecord;

/**
 * Keeps every Kafka record whole ({@link RawRecord}); parsing happens downstream, where a failure becomes a dead
 * letter instead of a job failure. Never throws, never drops a record (a null value becomes an empty one).
 */
@Internal
public final class RawRecordDeserializer implements KafkaRecordDeserializationSchema<RawRecord> {

    private static final long serialVersionUID = 1L;

    @Override
    public void deserialize(ConsumerRecord<byte[], byte[]> record, Collector<RawRecord> out) {
        out.collect(toRaw(record));
    }

    /** The record as read, stamped with the time it was read; a null value becomes an empty one. */
    static RawRecord toRaw(ConsumerRecord<byte[], byte[]> record) {
        return new RawRecord(record.topic(), record.partition(), record.offset(), record.timestamp(),
                System.currentTimeMillis(), record.key(), record.value() == null ? new byte[0] : record.value());
    }

    @Override
    public TypeInformation<RawRecord> getProducedType() {
        return TypeInformation.of(RawRecord.class);
    }
}
