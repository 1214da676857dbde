package e3stream.pipeline.internal.events;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;

import com.fasterxml.jackson.databind.JsonNode;
import e3stream.pipeline.testutils.SchemaCheck;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.record.AbstractRecords;
import org.apache.kafka.common.record.CompressionType;
import org.apache.kafka.common.record.RecordBatch;
import org.junit.jupiter.api.Test;

class DeadLettersTest {

    private static final int ONE_MIB = 1024 * 1024;

    private static RawRecord raw(byte[] value, long timestamp) {
        return new RawRecord("images", 3, 41_000_000_123L, timestamp, 1_700_000_000_500L, null, value);
    }

    private static byte[] randomBytes(int n) {
        byte[] b = new byte[n];
        new Random(n).nextBytes(b);
        return b;
    }

    private static String sha256(byte[] bytes) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    }

    /** What KafkaProducer compares with max.request.size before it sends (RecordTooLargeException above it). */
    private static int kafkaSizeUpperBound(OutputRecord record) {
        return AbstractRecords.estimateSizeInBytesUpperBound(RecordBatch.CURRENT_MAGIC_VALUE, CompressionType.NONE,
                record.key, record.value, new Header[0]);
    }

    private static JsonNode parse(OutputRecord record) throws Exception {
        JsonNode node = Json.MAPPER.readTree(record.value);
        List<String> violations = SchemaCheck.violations("dead-letter", node);
        assertTrue(violations.isEmpty(), "the dead letter does not match dead-letter.schema.json: " + violations);
        return node;
    }

    private static void assertTruncatedDeadLetterOf(byte[] original, int maxRequestSize) throws Exception {
        OutputRecord record = DeadLetters.of("images-dlq", raw(original, 1_700_000_000_000L), "event-7",
                "INVALID_JSON", "value is not valid JSON", maxRequestSize);

        assertTrue(kafkaSizeUpperBound(record) <= maxRequestSize,
                "Kafka sizes the record at " + kafkaSizeUpperBound(record) + " bytes, over " + maxRequestSize);
        assertTrue(record.key.length + record.value.length
                <= maxRequestSize - DeadLetters.RECORD_OVERHEAD_MARGIN_BYTES);
        JsonNode node = parse(record);
        assertTrue(node.get("truncated").booleanValue());
        assertEquals(original.length, node.get("original_length").longValue());
        assertEquals(sha256(original), node.get("original_sha256").textValue());
        byte[] kept = Base64.getDecoder().decode(node.get("original").textValue());
        assertTrue(kept.length > 0 && kept.length < original.length, kept.length + " bytes kept");
        assertArrayEquals(Arrays.copyOf(original, kept.length), kept, "the kept bytes are the original's first");
        // as many as fit: three more bytes (four base64 characters) would not
        assertTrue(record.key.length + record.value.length + 4
                > maxRequestSize - DeadLetters.RECORD_OVERHEAD_MARGIN_BYTES, record.value.length + " bytes");
        assertEquals("event-7", node.get("id").textValue());
        assertEquals("INVALID_JSON", node.path("error").path("code").textValue());
        assertEquals(41_000_000_123L, node.path("source").path("offset").longValue());
    }

    @Test
    void an880KbRecordThatWouldGrowPastTheLimitKeepsItsFirstBytesItsLengthAndItsSha256() throws Exception {
        // 880 KiB is 1.15 MiB in base64: the whole original no longer fits a 1 MiB request
        assertTruncatedDeadLetterOf(randomBytes(880 * 1024), ONE_MIB);
    }

    @Test
    void aFiveMegabyteRecordIsTruncatedToTheLimitToo() throws Exception {
        assertTruncatedDeadLetterOf(randomBytes(5 * 1000 * 1000), ONE_MIB);
        assertTruncatedDeadLetterOf(randomBytes(5 * 1000 * 1000), DeadLetters.MIN_MAX_REQUEST_SIZE);
    }

    @Test
    void aSmallRecordIsKeptWholeAndFlaggedComplete() throws Exception {
        byte[] original = "{\"id\": \"a\", \"image\": 17}".getBytes(StandardCharsets.UTF_8);

        OutputRecord record = DeadLetters.of("images-dlq", raw(original, 1_700_000_000_000L), "a", "INVALID_FIELD",
                "field 'image' must be a string, found NUMBER", ONE_MIB);

        JsonNode node = parse(record);
        assertFalse(node.get("truncated").booleanValue());
        assertArrayEquals(original, Base64.getDecoder().decode(node.get("original").textValue()));
        assertEquals(original.length, node.get("original_length").longValue());
        assertEquals(sha256(original), node.get("original_sha256").textValue());
        assertEquals("field 'image' must be a string, found NUMBER", node.path("error").path("message").textValue());
        assertEquals("images-dlq", record.topic);
        assertArrayEquals("a".getBytes(StandardCharsets.UTF_8), record.key);
        assertEquals(1_700_000_000_000L, record.timestamp);
    }

    @Test
    void anOriginalThatFitsExactlyIsKeptWhole() throws Exception {
        // the largest original kept whole under a 64 KiB limit (binary search: whole below it, truncated above)
        int limit = 64 * 1024;
        int whole = 0;
        int above = limit;
        while (above - whole > 1) {
            int n = (whole + above) / 2;
            JsonNode node = parse(DeadLetters.of("images-dlq", raw(new byte[n], 1L), null, "INVALID_JSON", "x",
                    limit));
            if (node.get("truncated").booleanValue()) {
                above = n;
            } else {
                whole = n;
            }
        }
        OutputRecord fits = DeadLetters.of("images-dlq", raw(new byte[whole], 1L), null, "INVALID_JSON", "x", limit);
        OutputRecord over = DeadLetters.of("images-dlq", raw(new byte[whole + 1], 1L), null, "INVALID_JSON", "x",
                limit);

        assertFalse(parse(fits).get("truncated").booleanValue());
        assertTrue(fits.key.length + fits.value.length + 4 > limit - DeadLetters.RECORD_OVERHEAD_MARGIN_BYTES,
                "the whole original of " + whole + " bytes is kept only as long as it fits");
        assertTrue(parse(over).get("truncated").booleanValue());
        assertTrue(kafkaSizeUpperBound(fits) <= limit && kafkaSizeUpperBound(over) <= limit);
    }

    @Test
    void hundredKilobyteIdsAndMessagesAreCappedWithAnEllipsisAndTheRecordStillFits() throws Exception {
        String longId = "i".repeat(100_000);
        // control characters are escaped as six bytes each in JSON, the worst case for the size of a text
        String longMessage = "\u0001".repeat(100_000);
        for (int limit : new int[] {ONE_MIB, DeadLetters.MIN_MAX_REQUEST_SIZE}) {
            OutputRecord record = DeadLetters.of("images-dlq", raw(randomBytes(5 * 1000 * 1000), 1L), longId,
                    "INVALID_FIELD", longMessage, limit);

            assertTrue(kafkaSizeUpperBound(record) <= limit, kafkaSizeUpperBound(record) + " > " + limit);
            JsonNode node = parse(record);
            String id = node.get("id").textValue();
            String message = node.path("error").path("message").textValue();
            assertEquals(DeadLetters.MAX_TEXT_CHARS, id.length());
            assertEquals("i".repeat(DeadLetters.MAX_TEXT_CHARS - 1) + "\u2026", id);
            assertEquals(DeadLetters.MAX_TEXT_CHARS, message.length());
            assertTrue(message.endsWith("\u2026"), message);
            assertEquals(id, new String(record.key, StandardCharsets.UTF_8));
            assertTrue(node.get("truncated").booleanValue());
        }
    }

    @Test
    void anUnreadableIdGivesTheCoordinatesAsKeyAndNoIdField() throws Exception {
        OutputRecord record = DeadLetters.of("images-dlq", raw(new byte[] {(byte) 0xFF}, 5L), null, "INVALID_JSON",
                "value is not valid UTF-8", ONE_MIB);

        JsonNode node = parse(record);
        assertNull(node.get("id"));
        assertEquals("images-3-41000000123", new String(record.key, StandardCharsets.UTF_8));
    }

    @Test
    void aCapNeverSplitsASurrogatePair() {
        String emoji = "\uD83D\uDE00"; // one code point, two chars
        String capped = DeadLetters.cap("a".repeat(DeadLetters.MAX_TEXT_CHARS - 2) + emoji + "tail");

        assertEquals("a".repeat(DeadLetters.MAX_TEXT_CHARS - 2) + "\u2026", capped);
        assertEquals("short", DeadLetters.cap("short"));
    }

    @Test
    void theRecordTimestampIsTheInputsAndNeverNegative() {
        assertEquals(1_700_000_000_000L,
                DeadLetters.of("images-dlq", raw(new byte[1], 1_700_000_000_000L), "a", "INVALID_JSON", "m").timestamp);
        // -1 is Kafka's "no timestamp"; a producer refuses a negative one, so the time the job read the record is used
        assertEquals(1_700_000_000_500L,
                DeadLetters.of("images-dlq", raw(new byte[1], -1L), "a", "INVALID_JSON", "m").timestamp);
        RawRecord neverRead = raw(new byte[1], -1L);
        neverRead.receivedAtMs = 0;
        long before = System.currentTimeMillis();
        long timestamp = DeadLetters.of("images-dlq", neverRead, "a", "INVALID_JSON", "m").timestamp;
        assertTrue(timestamp >= before && timestamp <= System.currentTimeMillis(), "timestamp " + timestamp);
    }

    @Test
    void aTombstoneIsKeptAsAnEmptyOriginal() throws Exception {
        JsonNode node = parse(DeadLetters.of("images-dlq", raw(null, 1L), null, "INVALID_JSON", null));

        assertEquals("", node.get("original").textValue());
        assertEquals(0, node.get("original_length").intValue());
        assertEquals(sha256(new byte[0]), node.get("original_sha256").textValue());
        assertFalse(node.get("truncated").booleanValue());
        assertEquals("", node.path("error").path("message").textValue());
    }

    @Test
    void theStaticShortcutFitsKafkasDefaultRequestSize() throws Exception {
        OutputRecord record = DeadLetters.of("images-dlq", raw(randomBytes(900_000), 1L), "a", "INVALID_JSON", "m");

        assertTrue(kafkaSizeUpperBound(record) <= DeadLetters.KAFKA_DEFAULT_MAX_REQUEST_SIZE);
        assertTrue(parse(record).get("truncated").booleanValue());
    }

    @Test
    void aRequestSizeTooSmallForADeadLetterIsRefusedNamingTheSetting() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> DeadLetters.of("images-dlq", raw(new byte[1], 1L), "a", "INVALID_JSON", "m", 1000));

        assertEquals("maxRequestSize (the producer's max.request.size) must be at least 32768 bytes to hold a dead"
                + " letter, got 1000", e.getMessage());
    }
}
