package e3stream.pipeline.internal.events;

import org.apache.flink.annotation.Internal;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.connector.kafka.source.reader.deserializer.KafkaRecordDeserializationSchema;
import org.apache.flink.util.Collector;
import org.apache.kafka.clients.consumer.ConsumerRecord;

/**
 * Reads image records in the Kafka source and parses each exactly once ({@link ImageEventParser}), so event time and
 * the per-partition watermarks come from the parsed event. Never throws, never drops a record: a record over
 * {@code maxRecordBytes} is refused before parsing, and an invalid one travels on as a {@link ParsedImage} with its
 * error, to the dead-letter topic.
 */
@Internal
public final class ImageRecordDeserializer implements KafkaRecordDeserializationSchema<ParsedImage> {

    private static final long serialVersionUID = 1L;

    private final TimestampWindow window;
    private final int maxRecordBytes;

    public ImageRecordDeserializer(TimestampWindow window, int maxRecordBytes) {
        if (maxRecordBytes < 1) {
            throw new IllegalArgumentException("maxRecordBytes must be >= 1, got " + maxRecordBytes);
        }
        this.window = window;
        this.maxRecordBytes = maxRecordBytes;
    }

    @Override
    public void deserialize(ConsumerRecord<byte[], byte[]> record, Collector<ParsedImage> out) {
        out.collect(parse(RawRecordDeserializer.toRaw(record)));
    }

    ParsedImage parse(RawRecord raw) {
        if (raw.value.length > maxRecordBytes) {
            return ParsedImage.invalid(raw, new EventException(EventException.RECORD_TOO_LARGE, "record value has "
                    + raw.value.length + " bytes, more than images.max-record-bytes = " + maxRecordBytes, null));
        }
        try {
            return ParsedImage.valid(raw, ImageEventParser.parse(raw, window));
        } catch (EventException e) {
            return ParsedImage.invalid(raw, e);
        } catch (RuntimeException | StackOverflowError e) {
            // A parser bug (or absurdly nested JSON) must not fail the source: the record is dead-lettered.
            return ParsedImage.invalid(raw, new EventException(EventException.INVALID_JSON,
                    "the record could not be parsed: " + e, null));
        }
    }

    @Override
    public TypeInformation<ParsedImage> getProducedType() {
        return TypeInformation.of(ParsedImage.class);
    }
}
