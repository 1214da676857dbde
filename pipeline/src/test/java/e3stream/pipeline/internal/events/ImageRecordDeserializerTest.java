package e3stream.pipeline.internal.events;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;

import org.junit.jupiter.api.Test;

/** The source's one parse of an image record: event time, the timestamp window and the size cap. */
class ImageRecordDeserializerTest {

    private static final String IMAGE = Base64.getEncoder().encodeToString(new byte[] {1, 2, 3});
    private final ImageRecordDeserializer deserializer = new ImageRecordDeserializer(TimestampWindow.defaults(), 4096);

    private static RawRecord record(String json, long kafkaTimestamp, long readAt) {
        return new RawRecord("images", 0, 7, kafkaTimestamp, readAt, null, json.getBytes(StandardCharsets.UTF_8));
    }

    private static String event(String timestampField) {
        return "{\"id\":\"a\"," + timestampField + "\"content_type\":\"image/png\",\"image\":\"" + IMAGE + "\"}";
    }

    @Test
    void aValidEventIsParsedOnceWithItsOwnTimestampAsEventTime() {
        long now = 1_764_000_000_000L;
        ParsedImage parsed = deserializer.parse(record(event("\"timestamp\":" + (now - 5000) + ","), now - 1, now));
        assertNotNull(parsed.event);
        assertEquals(now - 5000, parsed.eventTime());
        assertEquals("a", parsed.event.id);
        assertEquals(3, parsed.event.image.length);
        // Without a timestamp field the Kafka record timestamp is the event time.
        assertEquals(now - 1, deserializer.parse(record(event(""), now - 1, now)).eventTime());
        // Old data replayed is accepted by default (no max age).
        assertNotNull(deserializer.parse(record(event("\"timestamp\":1700000000000,"), now, now)).event);
    }

    @Test
    void timestampsInTheWrongUnitOrFarInTheFutureAreRefusedWithAReason() {
        long now = 1_764_000_000_000L;
        for (long wrong : new long[] {now * 1000, now + Duration.ofHours(2).toMillis(), now / 1000}) {
            ParsedImage parsed = deserializer.parse(record(event("\"timestamp\":" + wrong + ","), now, now));
            assertNull(parsed.event, "timestamp " + wrong);
            assertEquals(EventException.TIMESTAMP_OUT_OF_RANGE, parsed.errorCode);
            assertEquals("a", parsed.errorId);
            assertTrue(parsed.errorMessage.contains("milliseconds"), parsed.errorMessage);
        }
        // Within the 15 minutes of allowed clock skew: accepted.
        assertNotNull(deserializer.parse(record(event("\"timestamp\":" + (now + 60_000) + ","), now, now)).event);
        // A Kafka record timestamp used as event time obeys the same window.
        assertEquals(EventException.TIMESTAMP_OUT_OF_RANGE,
                deserializer.parse(record(event(""), now + Duration.ofHours(3).toMillis(), now)).errorCode);
    }

    @Test
    void aConfiguredMaximumAgeRefusesOldEvents() {
        long now = 1_764_000_000_000L;
        ImageRecordDeserializer withAge = new ImageRecordDeserializer(
                new TimestampWindow(Duration.ofMinutes(15), Duration.ofDays(7)), 4096);
        assertEquals(EventException.TIMESTAMP_OUT_OF_RANGE,
                withAge.parse(record(event("\"timestamp\":" + (now - Duration.ofDays(8).toMillis()) + ","), now, now)).errorCode);
        assertNotNull(withAge.parse(record(event("\"timestamp\":" + (now - Duration.ofDays(6).toMillis()) + ","), now, now)).event);
    }

    @Test
    void aRecordOverTheSizeCapIsRefusedUnparsed() {
        long now = 1_764_000_000_000L;
        String big = "{\"id\":\"big\",\"content_type\":\"image/png\",\"image\":\"" + "A".repeat(5000) + "\"}";
        ParsedImage parsed = deserializer.parse(record(big, now, now));
        assertEquals(EventException.RECORD_TOO_LARGE, parsed.errorCode);
        assertNull(parsed.errorId, "not parsed, so no id");
        assertEquals(now, parsed.eventTime());
    }

    @Test
    void garbageNeverThrows() {
        long now = 1_764_000_000_000L;
        String deep = "[".repeat(3000);
        for (String value : new String[] {"", "not json", deep, "{\"id\":\"x\",\"timestamp\":1e400}"}) {
            ParsedImage parsed = deserializer.parse(record(value, now, now));
            assertNull(parsed.event);
            assertNotNull(parsed.errorCode, value);
        }
    }
}
