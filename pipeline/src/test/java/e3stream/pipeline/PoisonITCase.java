package e3stream.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import e3stream.pipeline.testutils.CountStarts;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import e3stream.pipeline.embedded.ImageEvents;
import e3stream.pipeline.internal.metrics.PipelineMetrics;
import e3stream.pipeline.testutils.KafkaIO;
import e3stream.pipeline.testutils.RunningJob;
import e3stream.pipeline.testutils.SharedKafka;
import org.apache.flink.api.common.JobStatus;
import org.junit.jupiter.api.Test;

/**
 * What real producers send by mistake, mixed into valid events on a real broker and MiniCluster: every input ends
 * once in predictions, review or images-dlq with its reason (bad labels too: counted and dead-lettered), no task
 * ever restarts, and the job keeps running.
 */
class PoisonITCase {


    /** The poison: id (null when unreadable) -> [raw value, expected error code]. */
    static List<Object[]> poison() {
        // E3StreamJobITCase's malformed records (wrong-unit and future timestamps among them), but for the two that
        // are sized against that test's shrunken decode limits; this test runs with the job's real limits.
        List<Object[]> m = new ArrayList<>(E3StreamJobITCase.malformed());
        m.removeIf(r -> "bad-too-large".equals(r[0]) || "bad-too-many-pixels".equals(r[0]));
        // ~880 KB of malformed JSON, inside Kafka's 1 MB default: re-encoded whole, its dead letter would not fit.
        m.add(new Object[] {null, ("{\"id\":\"poison-880k\",\"content_type\":\"image/png\",\"image\":\""
                + "A".repeat(880_000)).getBytes(StandardCharsets.UTF_8), "INVALID_JSON"});
        // A 4096 x 4096 16-bit RGBA PNG (~130 KB, under the pixel limit) would allocate 128 MiB while decoding.
        m.add(new Object[] {"poison-png16", ImageEvents.imageEvent("poison-png16", 1_700_000_000_000L, null,
                "image/png", ImageEvents.zeroPng(4096, 4096, 16, 6)), "DECODE_BUDGET_EXCEEDED"});
        // A 100 KB id: refused, and its dead letter's texts stay bounded.
        String png64 = Base64.getEncoder().encodeToString(E3StreamJobITCase.png(0));
        m.add(new Object[] {null, ("{\"id\":\"" + "i".repeat(100_000) + "\",\"content_type\":\"image/png\",\"image\":\""
                + png64 + "\"}").getBytes(StandardCharsets.UTF_8), "INVALID_FIELD"});
        return m;
    }

    /** Labels real producers get wrong: id -> [raw value, expected error code] (null id: unreadable). */
    static List<Object[]> badLabels() {
        long ts = 1_700_000_000_000L;
        return List.of(
                new Object[] {null, "{\"id\":\"badlabel-json\",\"label\":".getBytes(StandardCharsets.UTF_8),
                        "INVALID_JSON"},
                new Object[] {"badlabel-class", ("{\"id\":\"badlabel-class\",\"label\":\"zebra\",\"timestamp\":" + ts
                        + "}").getBytes(StandardCharsets.UTF_8), "INVALID_FIELD"},
                new Object[] {"badlabel-index", ImageEvents.labelEvent("badlabel-index", 17, ts), "INVALID_FIELD"},
                new Object[] {"badlabel-missing", ("{\"id\":\"badlabel-missing\",\"timestamp\":" + ts + "}")
                        .getBytes(StandardCharsets.UTF_8), "MISSING_FIELD"},
                // A 100 KB class name: refused, and the log line and dead letter stay bounded.
                new Object[] {"badlabel-huge", ("{\"id\":\"badlabel-huge\",\"label\":\"" + "x".repeat(100_000)
                        + "\",\"timestamp\":" + ts + "}").getBytes(StandardCharsets.UTF_8), "INVALID_FIELD"});
    }

    @Test
    void everyPoisonRecordIsDeadLetteredOnceAndNoTaskEverRestarts() throws Exception {
        String prefix = "poison-";
        SharedKafka.createTopics(prefix);
        E3StreamJobITCase.kafka = SharedKafka.get();
        Map<String, byte[]> pngs = E3StreamJobITCase.pngs(300);
        List<Object[]> bad = poison();
        List<String> outputs = List.of(prefix + "predictions", prefix + "review", prefix + "images-dlq");
        // The job's real decode limits (the other ITCases shrink them to make small images fail).
        E3StreamOptions options = E3StreamJobITCase.options(prefix, Map.of("decode.max-payload-bytes", "1048576",
                "decode.max-pixels", Integer.toString(4096 * 4096)));
        try (RunningJob job = RunningJob.start(options, s -> s.map(new CountStarts()).name("count-starts"))) {
            double invalidLabelsBefore = PipelineMetrics.get().labelsInvalid.get();
            int sent = E3StreamJobITCase.produce(prefix + "images", pngs, bad, 1_700_000_000_000L);
            List<Object[]> labels = badLabels();
            int sentLabels = E3StreamJobITCase.produce(prefix + "labels", Map.of(), labels, 1_700_000_000_000L);
            List<KafkaIO.Read> all = KafkaIO.readUntil(SharedKafka.get().bootstrapServers(), outputs,
                    r -> r.size() >= sent + sentLabels, Duration.ofMinutes(10), Duration.ofSeconds(5));
            // Dead letters of labels name the labels topic as their source; the rest are the images' outputs.
            List<KafkaIO.Read> labelDeadLetters = all.stream()
                    .filter(r -> (prefix + "labels").equals(r.json().path("source").path("topic").asText())).toList();
            List<KafkaIO.Read> reads = all.stream().filter(r -> !labelDeadLetters.contains(r)).toList();
            E3StreamJobITCase.assertExactlyOnce(prefix, reads, pngs, bad);
            assertEquals(sent, reads.size());
            Map<String, String> labelCodes = new java.util.TreeMap<>();
            for (KafkaIO.Read r : labelDeadLetters) {
                assertEquals(prefix + "images-dlq", r.topic());
                labelCodes.merge(r.json().path("id").asText("(no id)"), r.json().path("error").path("code").asText(),
                        (a, b) -> a + "," + b);
            }
            Map<String, String> expectedLabelCodes = new java.util.TreeMap<>();
            for (Object[] l : labels) {
                expectedLabelCodes.merge(l[0] == null ? "(no id)" : (String) l[0], (String) l[2], (a, b) -> a + "," + b);
            }
            assertEquals(expectedLabelCodes, labelCodes, "every bad label dead-lettered once, with its reason");
            assertEquals(labels.size(), PipelineMetrics.get().labelsInvalid.get() - invalidLabelsBefore, 0.0,
                    "every bad label counted in e3_labels_invalid_total");

            JsonNode big = reads.stream().filter(r -> r.topic().endsWith("images-dlq"))
                    .map(KafkaIO.Read::json).filter(j -> j.path("original_length").asLong() > 800_000)
                    .findFirst().orElseThrow();
            assertTrue(big.path("truncated").asBoolean(), "the 880 KB original is kept truncated: " + big.path("error"));
            assertEquals(64, big.path("original_sha256").asText().length());
            for (KafkaIO.Read r : reads) {
                assertTrue(r.json().toString().length() < 1 << 20, "every dead letter fits the 1 MiB request limit");
            }
            assertEquals(JobStatus.RUNNING, job.status(), "the job still runs");
            assertEquals(options.get(E3StreamOptions.PARALLELISM), CountStarts.STARTS.get(),
                    "no task restarted: each of the " + options.get(E3StreamOptions.PARALLELISM) + " tasks started once");
        }
    }
}
