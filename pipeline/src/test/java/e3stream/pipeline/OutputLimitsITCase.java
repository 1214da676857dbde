package e3stream.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import e3stream.pipeline.testutils.CountStarts;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import com.fasterxml.jackson.databind.JsonNode;
import e3stream.pipeline.embedded.ImageEvents;
import e3stream.pipeline.internal.events.OutputLimits;
import e3stream.pipeline.testutils.KafkaIO;
import e3stream.pipeline.testutils.RunningJob;
import e3stream.pipeline.testutils.SharedKafka;
import org.apache.flink.api.common.JobStatus;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.junit.jupiter.api.Test;

/**
 * Output topics stricter than Kafka's defaults, on a real broker and MiniCluster: 64 KiB {@code max.message.bytes}
 * and a one-day {@code message.timestamp.before.max.ms}, fed year-old events, some of them large (long ids, long
 * sources, large bad records). The job reads the limits at start-up, no record is refused, no task restarts, and
 * every input ends exactly once in predictions, review or images-dlq.
 */
class OutputLimitsITCase {

    private static final int LIMIT = 64 * 1024;
    private static final long DAY = 86_400_000L;


    @Test
    void yearOldEventsOnTopicsOf64KibAndOneDayEndExactlyOnceWithoutARestart() throws Exception {
        String prefix = "limits-";
        E3StreamJobITCase.kafka = SharedKafka.get();
        SharedKafka.get().createTopics(2, prefix + "images", prefix + "labels");
        List<String> outputs = List.of(prefix + "predictions", prefix + "review", prefix + "images-dlq");
        TopicCheckITCase.createTopics(Map.of("max.message.bytes", Integer.toString(LIMIT),
                "message.timestamp.before.max.ms", Long.toString(DAY)),
                prefix + "predictions", prefix + "review", prefix + "images-dlq", prefix + "calibration");
        E3StreamOptions options = E3StreamJobITCase.options(prefix, Map.of(
                "decode.max-payload-bytes", "1048576", "decode.max-pixels", Integer.toString(4096 * 4096),
                "drift.top-sources", "1000", "windows.size", "1 s", "windows.max-out-of-orderness", "100 ms",
                "windows.idleness", "1 s"));

        long yearAgo = System.currentTimeMillis() - 365 * DAY;
        // 600 images in 3 s of event time, each from its own source with a long name (control characters in it):
        // the 1 s drift windows list up to 200 sources each, more than 64 KiB.
        Map<String, byte[]> pngs = new LinkedHashMap<>();
        Map<String, String> sources = new LinkedHashMap<>();
        Map<String, Long> times = new LinkedHashMap<>();
        for (int i = 0; i < 600; i++) {
            // every tenth id has the longest length accepted (128 characters)
            String id = i % 10 == 0 ? String.format("%-128s", "long-id-" + i).replace(' ', 'L') : "img-" + i;
            pngs.put(id, E3StreamJobITCase.png(i));
            sources.put(id, String.format("%03d", i) + "-cam\n\u202Eera-" + "s".repeat(i == 7 ? 500_000 : 300));
            times.put(id, yearAgo + i * 5L);
        }
        // Large bad records: each dead letter, with its original, would exceed the topic's 64 KiB.
        Random rnd = new Random(11);
        byte[] garbage = new byte[200_000];
        rnd.nextBytes(garbage);
        String png64 = Base64.getEncoder().encodeToString(E3StreamJobITCase.png(0));
        List<Object[]> bad = List.of(
                new Object[] {"big-corrupt", ImageEvents.imageEvent("big-corrupt", yearAgo, "cam", "image/png",
                        garbage), "CORRUPT_IMAGE"},
                new Object[] {null, ("{\"id\":\"" + "i".repeat(100_000) + "\",\"content_type\":\"image/png\","
                        + "\"image\":\"" + png64 + "\"}").getBytes(StandardCharsets.UTF_8), "INVALID_FIELD"},
                new Object[] {null, ("{\"id\":\"big-json\",\"image\":\"" + "A".repeat(500_000))
                        .getBytes(StandardCharsets.UTF_8), "INVALID_JSON"});

        try (RunningJob job = RunningJob.start(options, s -> s.map(new CountStarts()).name("count-starts"))) {
            int sent = 0;
            try (KafkaProducer<byte[], byte[]> producer = KafkaIO.producer(SharedKafka.get().bootstrapServers())) {
                int b = 0;
                int i = 0;
                for (Map.Entry<String, byte[]> e : pngs.entrySet()) {
                    String id = e.getKey();
                    KafkaIO.send(producer, prefix + "images", id, ImageEvents.imageEvent(id, times.get(id),
                            sources.get(id), "image/png", e.getValue()), times.get(id));
                    sent++;
                    if (i++ % 200 == 50 && b < bad.size()) {
                        Object[] m = bad.get(b++);
                        KafkaIO.send(producer, prefix + "images", (String) m[0], (byte[]) m[1], yearAgo);
                        sent++;
                    }
                }
                while (b < bad.size()) {
                    Object[] m = bad.get(b++);
                    KafkaIO.send(producer, prefix + "images", (String) m[0], (byte[]) m[1], yearAgo);
                    sent++;
                }
                KafkaIO.flush(producer);
            }
            int expected = sent;
            List<KafkaIO.Read> reads = KafkaIO.readUntil(SharedKafka.get().bootstrapServers(), outputs,
                    r -> r.size() >= expected, Duration.ofMinutes(10), Duration.ofSeconds(5));
            E3StreamJobITCase.assertExactlyOnce(prefix, reads, pngs, bad);
            assertEquals(sent, reads.size());

            int bound = LIMIT - OutputLimits.RECORD_OVERHEAD_MARGIN_BYTES;
            List<String> cut = new ArrayList<>();
            for (KafkaIO.Read r : reads) {
                int size = r.value().length + (r.key() == null ? 0 : r.key().getBytes(StandardCharsets.UTF_8).length);
                assertTrue(size <= bound, r.topic() + " record of " + size + " bytes");
                if (r.json().has("timestamp")) {
                    assertEquals((long) times.get(r.json().get("id").asText()), r.json().get("timestamp").asLong(),
                            "the year-old event time stays in the prediction");
                }
                if (r.json().path("truncated").asBoolean()) {
                    cut.add(r.json().path("error").path("code").asText());
                    assertTrue(r.json().path("original_length").asInt() > bound);
                }
            }
            cut.sort(null);
            assertEquals(List.of("CORRUPT_IMAGE", "INVALID_FIELD", "INVALID_JSON"), cut,
                    "the large dead letters keep the first bytes of their originals, marked truncated");

            // The drift snapshots: within the limit, their least busy sources dropped and counted.
            List<KafkaIO.Read> drift = KafkaIO.readUntil(SharedKafka.get().bootstrapServers(),
                    List.of(prefix + "calibration"), r -> r.stream().anyMatch(d -> d.json().has("sources_omitted")),
                    Duration.ofMinutes(2), Duration.ofSeconds(3));
            assertTrue(drift.stream().anyMatch(d -> d.json().path("truncated").asBoolean()
                    && d.json().path("sources_omitted").asInt() > 0 && d.json().path("sources").size() > 50),
                    "a drift window of over 64 KiB, its least busy sources dropped and counted, the busiest kept");
            for (KafkaIO.Read r : drift) {
                assertEquals("drift", r.json().path("kind").asText());
                assertTrue(r.value().length <= bound, "snapshot of " + r.value().length + " bytes");
                JsonNode snapshot = r.json();
                snapshot.path("sources").fieldNames().forEachRemaining(name -> {
                    assertTrue(name.length() <= 128, name);
                    assertFalse(name.contains("\n") || name.contains("\u202E"), "cleaned: " + name);
                });
            }

            assertEquals(JobStatus.RUNNING, job.status(), "the job still runs");
            assertEquals(options.get(E3StreamOptions.PARALLELISM), CountStarts.STARTS.get(),
                    "no task restarted: each of the " + options.get(E3StreamOptions.PARALLELISM) + " tasks started once");
        }
    }
}
