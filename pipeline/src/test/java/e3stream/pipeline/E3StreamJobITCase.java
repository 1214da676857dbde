package e3stream.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Predicate;

import com.fasterxml.jackson.databind.JsonNode;
import e3stream.pipeline.embedded.ImageEvents;
import e3stream.pipeline.embedded.EmbeddedKafka;
import e3stream.pipeline.testutils.Expected;
import e3stream.runtime.session.Scored;
import e3stream.runtime.session.TriageOverrides;
import e3stream.pipeline.testutils.KafkaIO;
import e3stream.pipeline.testutils.RunningJob;
import e3stream.pipeline.testutils.SharedKafka;
import e3stream.pipeline.testutils.TestData;
import e3stream.runtime.data.ImageSet;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The job end to end on a real in-process KRaft broker and a Flink MiniCluster: every image event ends exactly once
 * in predictions, review or images-dlq, decisions are model-runtime's, dead letters carry the right codes.
 */
class E3StreamJobITCase {

    static EmbeddedKafka kafka;

    /**
     * Creates the topics of {@code prefix} ({@code partitions} each) on the shared broker, which the other helpers of
     * this class then use, and returns its bootstrap servers.
     */
    static String onOwnTopics(String prefix, int partitions) throws Exception {
        SharedKafka.createTopics(prefix, partitions);
        kafka = SharedKafka.get();
        return kafka.bootstrapServers();
    }

    @BeforeAll
    static void startKafka() throws Exception {
        kafka = SharedKafka.get();
    }

    static E3StreamOptions options(String prefix, Map<String, String> extra) {
        Map<String, String> m = new LinkedHashMap<>(KafkaIO.map(
                "kafka.bootstrap-servers", kafka.bootstrapServers(),
                "model.bundle", TestData.bundle().toString(),
                "kafka.topic.images", prefix + "images",
                "kafka.topic.labels", prefix + "labels",
                "kafka.topic.predictions", prefix + "predictions",
                "kafka.topic.review", prefix + "review",
                "kafka.topic.dlq", prefix + "images-dlq",
                "kafka.topic.calibration", prefix + "calibration",
                "kafka.group-id", prefix + "job",
                "kafka.transactional-id-prefix", prefix + "tx",
                "job.parallelism", "2",
                "checkpoint.interval", "1 s",
                "metrics.port", "0",
                "decode.max-payload-bytes", "4096",
                "decode.max-pixels", "1000"));
        m.putAll(extra);
        return E3StreamOptions.of(m);
    }

    /** Image events of the first {@code n} Fashion-MNIST test images as PNGs, keyed by id. */
    static Map<String, byte[]> pngs(int n) {
        Map<String, byte[]> out = new LinkedHashMap<>();
        for (int i = 0; i < n; i++) {
            out.put("img-" + i, png(i));
        }
        return out;
    }

    private static final Map<Integer, byte[]> PNG_CACHE = new java.util.concurrent.ConcurrentHashMap<>();

    /** Fashion-MNIST test image {@code i} as a PNG (encoded once per JVM). */
    static byte[] png(int i) {
        return PNG_CACHE.computeIfAbsent(i, k -> {
            ImageSet set = fashion();
            return ImageEvents.png(set.imageBytes(k), set.height(), set.width());
        });
    }

    private static ImageSet fashion;

    static synchronized ImageSet fashion() {
        if (fashion == null) {
            fashion = TestData.fashionTest();
        }
        return fashion;
    }

    /** Event time of the malformed fixtures (the images get their own): any time after 2001 (TimestampWindow). */
    private static final long FIXTURE_TIME = 1_700_000_000_000L;

    /** Malformed inputs: id (or null when unreadable) -> [raw value, expected error code]. */
    static List<Object[]> malformed() {
        List<Object[]> m = new ArrayList<>();
        byte[] png = ImageEvents.png(new byte[28 * 28], 28, 28);
        String png64 = Base64.getEncoder().encodeToString(png);
        m.add(new Object[] {null, "this is not json {".getBytes(StandardCharsets.UTF_8), "INVALID_JSON"});
        m.add(new Object[] {null, new byte[] {(byte) 0xff, (byte) 0xfe, 0x00, 0x7b}, "INVALID_JSON"});
        m.add(new Object[] {null, "[1,2,3]".getBytes(StandardCharsets.UTF_8), "INVALID_JSON"});
        m.add(new Object[] {null, "{\"id\": \"bad-trunc\", \"content_type\": \"image/png\", \"ima".getBytes(StandardCharsets.UTF_8), "INVALID_JSON"});
        m.add(new Object[] {null, new byte[0], "INVALID_JSON"});
        m.add(new Object[] {null, json("{\"content_type\":\"image/png\",\"image\":\"" + png64 + "\"}"), "MISSING_FIELD"});
        m.add(new Object[] {null, json("{\"id\":42,\"content_type\":\"image/png\",\"image\":\"" + png64 + "\"}"), "INVALID_FIELD"});
        m.add(new Object[] {null, json("{\"id\":\"" + "x".repeat(200) + "\",\"content_type\":\"image/png\",\"image\":\"" + png64 + "\"}"), "INVALID_FIELD"});
        m.add(new Object[] {"bad-no-type", json("{\"id\":\"bad-no-type\",\"image\":\"" + png64 + "\"}"), "MISSING_FIELD"});
        m.add(new Object[] {"bad-no-image", json("{\"id\":\"bad-no-image\",\"content_type\":\"image/png\"}"), "MISSING_FIELD"});
        m.add(new Object[] {"bad-base64", json("{\"id\":\"bad-base64\",\"content_type\":\"image/png\",\"image\":\"@@not*base64@@\"}"), "INVALID_BASE64"});
        m.add(new Object[] {"bad-ts", json("{\"id\":\"bad-ts\",\"timestamp\":-5,\"content_type\":\"image/png\",\"image\":\"" + png64 + "\"}"), "INVALID_FIELD"});
        m.add(new Object[] {"bad-ts-text", json("{\"id\":\"bad-ts-text\",\"timestamp\":\"yesterday\",\"content_type\":\"image/png\",\"image\":\"" + png64 + "\"}"), "INVALID_FIELD"});
        m.add(new Object[] {"bad-gif", ImageEvents.imageEvent("bad-gif", FIXTURE_TIME, null, "image/gif", png), "UNSUPPORTED_CONTENT_TYPE"});
        m.add(new Object[] {"bad-empty", ImageEvents.imageEvent("bad-empty", FIXTURE_TIME, null, "image/png", new byte[0]), "EMPTY_PAYLOAD"});
        byte[] truncated = java.util.Arrays.copyOf(png, png.length / 2);
        m.add(new Object[] {"bad-truncated-png", ImageEvents.imageEvent("bad-truncated-png", FIXTURE_TIME, null, "image/png", truncated), "CORRUPT_IMAGE"});
        m.add(new Object[] {"bad-random-png", ImageEvents.imageEvent("bad-random-png", FIXTURE_TIME, null, "image/png", "garbage bytes".getBytes(StandardCharsets.UTF_8)), "CORRUPT_IMAGE"});
        m.add(new Object[] {"bad-random-jpeg", ImageEvents.imageEvent("bad-random-jpeg", FIXTURE_TIME, null, "image/jpeg", "garbage bytes".getBytes(StandardCharsets.UTF_8)), "CORRUPT_IMAGE"});
        m.add(new Object[] {"bad-raw-nodims", ImageEvents.imageEvent("bad-raw-nodims", FIXTURE_TIME, null, "application/x-raw-u8", new byte[784]), "BAD_RAW_DIMENSIONS"});
        m.add(new Object[] {"bad-raw-length", json("{\"id\":\"bad-raw-length\",\"content_type\":\"application/x-raw-u8\",\"width\":28,\"height\":28,\"channels\":1,\"image\":\""
                + Base64.getEncoder().encodeToString(new byte[100]) + "\"}"), "BAD_RAW_DIMENSIONS"});
        m.add(new Object[] {"bad-too-large", ImageEvents.imageEvent("bad-too-large", FIXTURE_TIME, null, "image/png", new byte[5000]), "PAYLOAD_TOO_LARGE"});
        m.add(new Object[] {"bad-too-many-pixels", ImageEvents.imageEvent("bad-too-many-pixels", FIXTURE_TIME, null, "image/png",
                ImageEvents.png(new byte[40 * 40], 40, 40)), "TOO_MANY_PIXELS"});
        m.add(new Object[] {"bad-width-text", json("{\"id\":\"bad-width-text\",\"content_type\":\"application/x-raw-u8\",\"width\":\"wide\",\"height\":28,\"channels\":1,\"image\":\"" + png64 + "\"}"), "INVALID_FIELD"});
        long now = System.currentTimeMillis();
        // Timestamps a producer sends by mistake: micro- instead of milliseconds, 2 h ahead, seconds. Written as the
        // output record's timestamp, the first two are refused by the broker (1 h limit); all are dead-lettered.
        m.add(new Object[] {"bad-ts-micros", json("{\"id\":\"bad-ts-micros\",\"timestamp\":" + now * 1000 + ",\"content_type\":\"image/png\",\"image\":\"" + png64 + "\"}"), "TIMESTAMP_OUT_OF_RANGE"});
        m.add(new Object[] {"bad-ts-future", json("{\"id\":\"bad-ts-future\",\"timestamp\":" + (now + 7_200_000) + ",\"content_type\":\"image/png\",\"image\":\"" + png64 + "\"}"), "TIMESTAMP_OUT_OF_RANGE"});
        m.add(new Object[] {"bad-ts-seconds", json("{\"id\":\"bad-ts-seconds\",\"timestamp\":" + now / 1000 + ",\"content_type\":\"image/png\",\"image\":\"" + png64 + "\"}"), "TIMESTAMP_OUT_OF_RANGE"});
        m.add(new Object[] {"bad-source", json("{\"id\":\"bad-source\",\"source\":7,\"content_type\":\"image/png\",\"image\":\"" + png64 + "\"}"), "INVALID_FIELD"});
        return m;
    }

    static byte[] json(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /** Sends the images (interleaving the malformed records) and returns the number of records sent. */
    static int produce(String topic, Map<String, byte[]> pngs, List<Object[]> bad, long baseTime) {
        int sent = 0;
        try (KafkaProducer<byte[], byte[]> producer = KafkaIO.producer(kafka.bootstrapServers())) {
            int i = 0;
            int stride = Math.max(1, pngs.size() / Math.max(1, bad.size()));
            int b = 0;
            for (Map.Entry<String, byte[]> e : pngs.entrySet()) {
                long ts = baseTime + i;
                KafkaIO.send(producer, topic, e.getKey(), ImageEvents.imageEvent(e.getKey(), ts, "test", "image/png", e.getValue()), ts);
                sent++;
                if (i % stride == 0 && b < bad.size()) {
                    Object[] m = bad.get(b++);
                    KafkaIO.send(producer, topic, (String) m[0], (byte[]) m[1], ts);
                    sent++;
                }
                i++;
            }
            while (b < bad.size()) {
                Object[] m = bad.get(b++);
                KafkaIO.send(producer, topic, (String) m[0], (byte[]) m[1], baseTime + i);
                sent++;
            }
            KafkaIO.flush(producer);
        }
        return sent;
    }

    static Predicate<List<KafkaIO.Read>> atLeast(int n) {
        return reads -> reads.size() >= n;
    }

    /** Asserts each input ends exactly once across the three topics, with model-runtime's decisions and right codes. */
    static void assertExactlyOnce(String prefix, List<KafkaIO.Read> reads, Map<String, byte[]> pngs, List<Object[]> bad)
            throws Exception {
        Map<String, Scored> expected = Expected.score(pngs, TriageOverrides.NONE);
        Map<String, List<KafkaIO.Read>> byId = new HashMap<>();
        List<KafkaIO.Read> anonymousDlq = new ArrayList<>();
        for (KafkaIO.Read r : reads) {
            JsonNode id = r.json().get("id");
            if (id == null) {
                assertEquals(prefix + "images-dlq", r.topic(), "only dead letters may lack an id");
                anonymousDlq.add(r);
            } else {
                byId.computeIfAbsent(id.asText(), k -> new ArrayList<>()).add(r);
            }
        }
        Map<String, String> expectedCodes = new TreeMap<>();
        List<String> anonymousCodes = new ArrayList<>();
        for (Object[] m : bad) {
            if (m[0] == null) {
                anonymousCodes.add((String) m[2]);
            } else {
                expectedCodes.put((String) m[0], (String) m[2]);
            }
        }
        Set<String> expectedIds = new HashSet<>(pngs.keySet());
        expectedIds.addAll(expectedCodes.keySet());
        List<String> duplicated = new ArrayList<>();
        byId.forEach((id, rs) -> {
            if (rs.size() != 1) {
                duplicated.add(id + " x" + rs.size());
            }
        });
        assertEquals(List.of(), duplicated, "ids seen more than once");
        Set<String> missing = new HashSet<>(expectedIds);
        missing.removeAll(byId.keySet());
        Set<String> unexpected = new HashSet<>(byId.keySet());
        unexpected.removeAll(expectedIds);
        assertEquals(Set.of(), missing, "ids never seen in predictions/review/images-dlq");
        // Ids of malformed records whose id was unreadable (too long, wrong type) may appear as partial ids: none here.
        assertEquals(Set.of(), unexpected, "unexpected ids");

        List<String> anonymousSeen = new ArrayList<>();
        Set<String> coordinates = new HashSet<>();
        for (KafkaIO.Read r : anonymousDlq) {
            anonymousSeen.add(r.json().path("error").path("code").asText());
            coordinates.add(r.json().path("source").path("partition").asInt() + "/" + r.json().path("source").path("offset").asLong());
            assertEquals(prefix + "images", r.json().path("source").path("topic").asText());
        }
        anonymousSeen.sort(null);
        anonymousCodes.sort(null);
        assertEquals(anonymousCodes, anonymousSeen, "codes of dead letters without an id");
        assertEquals(anonymousDlq.size(), coordinates.size(), "each anonymous dead letter has its own offset");

        int accepted = 0;
        int reviewed = 0;
        for (Map.Entry<String, byte[]> e : pngs.entrySet()) {
            KafkaIO.Read r = byId.get(e.getKey()).get(0);
            Scored s = expected.get(e.getKey());
            boolean accept = s.decision().accepted();
            assertEquals(prefix + (accept ? "predictions" : "review"), r.topic(), "topic of " + e.getKey());
            JsonNode j = r.json();
            assertEquals(accept ? "accept" : "review", j.get("decision").asText());
            assertEquals(s.uncertainty().classIndex(), j.get("class_index").asInt(), "class of " + e.getKey());
            assertEquals(s.uncertainty().confidence(), j.get("confidence").asDouble(), 1e-5, "confidence of " + e.getKey());
            assertEquals(s.uncertainty().mutualInformation(), j.get("mutual_information").asDouble(), 1e-5);
            List<String> reasons = new ArrayList<>();
            j.get("reasons").forEach(n -> reasons.add(n.asText()));
            assertEquals(s.decision().reasons(), reasons, "reasons of " + e.getKey());
            assertEquals("e3", j.path("model").path("name").asText());
            assertTrue(j.get("latency_ms").asDouble() >= 0);
            assertEquals(10, j.get("probabilities").size());
            if (accept) {
                accepted++;
            } else {
                reviewed++;
            }
        }
        assertTrue(accepted > 0 && reviewed > 0, "both outcomes occur: accepted " + accepted + ", review " + reviewed);
        for (Map.Entry<String, String> e : expectedCodes.entrySet()) {
            KafkaIO.Read r = byId.get(e.getKey()).get(0);
            assertEquals(prefix + "images-dlq", r.topic(), "topic of " + e.getKey());
            assertEquals(e.getValue(), r.json().path("error").path("code").asText(), "code of " + e.getKey()
                    + ": " + r.json().path("error").path("message").asText());
            assertTrue(r.json().path("original").isTextual());
        }
    }

    @Test
    void everyEventEndsExactlyOnceInPredictionsReviewOrDeadLetters() throws Exception {
        String prefix = "e2e-";
        SharedKafka.createTopics(prefix);
        Map<String, byte[]> pngs = pngs(2000);
        List<Object[]> bad = malformed();
        assertTrue(bad.size() >= 20);
        int sent = produce(prefix + "images", pngs, bad, 1_700_000_000_000L);
        assertEquals(pngs.size() + bad.size(), sent);
        List<KafkaIO.Read> reads;
        try (RunningJob job = RunningJob.start(options(prefix, Map.of()))) {
            reads = KafkaIO.readUntil(kafka.bootstrapServers(),
                    List.of(prefix + "predictions", prefix + "review", prefix + "images-dlq"),
                    atLeast(sent), Duration.ofMinutes(10), Duration.ofSeconds(3));
        }
        assertExactlyOnce(prefix, reads, pngs, bad);
        assertEquals(sent, reads.size());
    }
}
