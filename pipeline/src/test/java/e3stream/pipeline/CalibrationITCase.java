package e3stream.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import com.fasterxml.jackson.databind.JsonNode;
import e3stream.pipeline.embedded.ImageEvents;
import e3stream.pipeline.internal.metrics.MetricsServer;
import e3stream.pipeline.internal.metrics.PortRange;
import e3stream.pipeline.internal.metrics.PipelineMetrics;
import e3stream.pipeline.testutils.Expected;
import e3stream.runtime.session.Scored;
import e3stream.runtime.session.TriageOverrides;
import e3stream.pipeline.testutils.KafkaIO;
import e3stream.pipeline.testutils.RunningJob;
import e3stream.pipeline.testutils.TestData;
import e3stream.runtime.data.ImageSet;
import e3stream.runtime.model.ModelBundle;
import e3stream.runtime.stats.CalibrationStats;
import e3stream.runtime.stats.DriftStats;
import e3stream.runtime.stats.ReferenceDistributions;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.junit.jupiter.api.Test;

/**
 * Delayed labels, before and after their images: the calibration and drift figures the job publishes per window
 * equal model-runtime's statistics computed offline over the same events.
 */
class CalibrationITCase {

    static final long BASE = 1_700_000_000_000L; // a multiple of the 10 s window
    static final int N = 600;
    static final long STEP_MS = 50; // 600 images over 30 s: three windows of 200

    @Test
    void publishedWindowFiguresEqualAnOfflineComputationOverTheSameEventsAndPrometheusServesThem() throws Exception {
        String prefix = "cal-";
        String servers = E3StreamJobITCase.onOwnTopics(prefix, 1);
        ImageSet set = E3StreamJobITCase.fashion();
        Map<String, byte[]> pngs = new LinkedHashMap<>();
        Map<String, Integer> labels = new HashMap<>();
        Map<String, Long> times = new HashMap<>();
        for (int i = 0; i < N; i++) {
            String id = "cal-" + i;
            pngs.put(id, E3StreamJobITCase.png(i));
            labels.put(id, set.label(i));
            times.put(id, BASE + i * STEP_MS);
        }
        E3StreamOptions options = E3StreamJobITCase.options(prefix, KafkaIO.map(
                "windows.size", "10 s", "labels.max-delay", "5 s", "windows.idleness", "60 s"));
        double joinedBefore = PipelineMetrics.get().labelsJoined.get();
        double lateBefore = PipelineMetrics.get().labelsLate.get();
        int port = MetricsServer.ensureStarted(PortRange.parse(Integer.toString(freePort())));
        assertTrue(port > 0, "metrics endpoint started");
        List<KafkaIO.Read> reads;
        String scrape;
        try (RunningJob job = RunningJob.start(options);
             KafkaProducer<byte[], byte[]> producer = KafkaIO.producer(servers)) {
            // Labels of even images come before their image, those of odd images after.
            for (String id : pngs.keySet()) {
                if (Integer.parseInt(id.substring(4)) % 2 == 0) {
                    KafkaIO.send(producer, prefix + "labels", id, ImageEvents.labelEvent(id, labels.get(id), times.get(id)), times.get(id));
                }
            }
            KafkaIO.flush(producer);
            // Each odd label right after its image: joined items then come roughly in event-time order, as they
            // would in production, and within labels.max-delay of each other.
            for (Map.Entry<String, byte[]> e : pngs.entrySet()) {
                String id = e.getKey();
                long ts = times.get(id);
                KafkaIO.send(producer, prefix + "images", id, ImageEvents.imageEvent(id, ts, "test", "image/png", e.getValue()), ts);
                if (Integer.parseInt(id.substring(4)) % 2 == 1) {
                    KafkaIO.send(producer, prefix + "labels", id, ImageEvents.labelEvent(id, labels.get(id), ts), ts);
                }
            }
            KafkaIO.flush(producer);
            long deadline = System.nanoTime() + Duration.ofMinutes(10).toNanos();
            while (PipelineMetrics.get().labelsJoined.get() - joinedBefore < N && System.nanoTime() < deadline) {
                Thread.sleep(200);
            }
            // At least: counters are per JVM and count again what a restart replays; the windows below are exact.
            assertTrue(PipelineMetrics.get().labelsJoined.get() - joinedBefore >= N, "all labels joined");
            assertEquals(lateBefore, PipelineMetrics.get().labelsLate.get(), 0.0, "no joined label came after its window closed");
            // Later events (and their labels) move event time on, so the three windows close.
            for (int i = 0; i < 20; i++) {
                String id = "cal-late-" + i;
                long ts = BASE + 120_000 + i;
                KafkaIO.send(producer, prefix + "images", id, ImageEvents.imageEvent(id, ts, "test", "image/png",
                        E3StreamJobITCase.png(N + i)), ts);
                KafkaIO.send(producer, prefix + "labels", id, ImageEvents.labelEvent(id, set.label(N + i), ts), ts);
            }
            KafkaIO.flush(producer);
            reads = KafkaIO.readUntil(servers, List.of(prefix + "calibration"),
                    r -> r.stream().filter(x -> x.json().path("window").path("start").asLong() < BASE + 30_000).count() >= 6,
                    Duration.ofMinutes(10), Duration.ofSeconds(2));
            scrape = scrape(port);
        }
        assertMetrics(scrape, N);

        Map<String, Scored> scored = Expected.score(pngs, TriageOverrides.NONE);
        ReferenceDistributions reference = ReferenceDistributions.fromJson(
                ModelBundle.load(TestData.bundle()).manifest().referenceJson());
        // the bundle's reference review rate is served exactly when model.json has one (the shipped e3 has none)
        double servedReference = sample(scrape, "e3_review_ratio_reference{model=\"e3\",}");
        if (reference.reviewRate() == null) {
            assertTrue(Double.isNaN(servedReference), "no e3_review_ratio_reference without reference.review_rate");
        } else {
            assertEquals(reference.reviewRate(), servedReference, 1e-12);
        }
        Map<Long, CalibrationStats> calibration = new TreeMap<>();
        Map<Long, DriftStats> drift = new TreeMap<>();
        for (String id : pngs.keySet()) {
            long window = times.get(id) - Math.floorMod(times.get(id), 10_000L);
            Scored s = scored.get(id);
            boolean reviewed = !s.decision().accepted();
            calibration.computeIfAbsent(window, w -> new CalibrationStats(10)).add(s.uncertainty(), labels.get(id), reviewed);
            drift.computeIfAbsent(window, w -> new DriftStats(reference)).add(s.uncertainty(), reviewed,
                    s.featureLogDensity());
        }
        assertEquals(3, calibration.size());
        for (long window : calibration.keySet()) {
            JsonNode cal = only(reads, "calibration", window);
            CalibrationStats.CalibrationSnapshot want = calibration.get(window).snapshot();
            assertEquals(want.count(), cal.get("count").asLong(), "labelled events in window " + window);
            assertEquals(want.ece(), cal.get("ece").asDouble(), 1e-6, "ECE of window " + window);
            assertEquals(want.nll(), cal.get("nll").asDouble(), 1e-6, "NLL of window " + window);
            assertEquals(want.brier(), cal.get("brier").asDouble(), 1e-6, "Brier of window " + window);
            assertEquals(want.accuracy(), cal.get("accuracy").asDouble(), 1e-12, "accuracy of window " + window);
            assertEquals(want.reviewRate(), cal.get("review_rate").asDouble(), 1e-12);
            assertEquals(CalibrationStats.ECE_BINS, cal.get("reliability").size());

            JsonNode dr = only(reads, "drift", window);
            DriftStats.DriftSnapshot d = drift.get(window).snapshot();
            assertEquals(d.count(), dr.get("count").asLong(), "events in drift window " + window);
            assertEquals(d.reviewRate(), dr.get("review_rate").asDouble(), 1e-12);
            assertEquals(d.estimatedAccuracy(), dr.get("estimated_accuracy").asDouble(), 1e-6);
            for (String signal : d.psi().keySet()) {
                assertEquals(d.psi().get(signal), dr.path("psi").get(signal).asDouble(), 1e-6, "PSI " + signal);
            }
        }
        assertTrue(calibration.values().stream().allMatch(c -> c.count() == 200));
    }

    /**
     * A backlog of image partitions far apart in event time, read at once, with four partitions on two source
     * subtasks (so a subtask reads the slow partition and a fast one): the calibration windows follow the slowest
     * partition's watermark, so every label counts in its own window and none is late.
     */
    @Test
    void aBacklogOfPartitionsFarApartInEventTimeKeepsEveryLabelInItsWindow() throws Exception {
        String prefix = "backlog-";
        String servers = E3StreamJobITCase.onOwnTopics(prefix, 4);
        ImageSet set = E3StreamJobITCase.fashion();
        int perRange = 200;
        long[] starts = {BASE, BASE + 200_000}; // partition 0 holds the first range, partitions 1-3 the second
        long step = 200; // 200 images over 40 s: four windows of 50 per range
        try (KafkaProducer<byte[], byte[]> producer = KafkaIO.producer(servers)) {
            for (int r = 0; r < 2; r++) {
                for (int i = 0; i < perRange; i++) {
                    String id = "bl-" + r + "-" + i;
                    long ts = starts[r] + i * step;
                    int image = r * perRange + i;
                    int partition = r == 0 ? 0 : 1 + i % 3;
                    KafkaIO.send(producer, prefix + "images", partition, id, ImageEvents.imageEvent(id, ts, "test",
                            "image/png", E3StreamJobITCase.png(image)), ts);
                    KafkaIO.send(producer, prefix + "labels", id, ImageEvents.labelEvent(id, set.label(image), ts), ts);
                }
            }
            // then, in every partition, an image 400 s on moves event time past every window of the backlog
            for (int p = 0; p < 4; p++) {
                String id = "bl-end-" + p;
                long ts = BASE + 400_000;
                KafkaIO.send(producer, prefix + "images", p, id, ImageEvents.imageEvent(id, ts, "test", "image/png",
                        E3StreamJobITCase.png(p)), ts);
            }
            KafkaIO.flush(producer);
        }
        double lateBefore = PipelineMetrics.get().labelsLate.get();
        E3StreamOptions options = E3StreamJobITCase.options(prefix, KafkaIO.map(
                "windows.size", "10 s", "labels.max-delay", "5 s", "windows.idleness", "60 s"));
        List<KafkaIO.Read> reads;
        try (RunningJob job = RunningJob.start(options)) {
            reads = KafkaIO.readUntil(servers, List.of(prefix + "calibration"),
                    r -> r.stream().filter(x -> "calibration".equals(x.json().path("kind").asText())).count() >= 8,
                    Duration.ofMinutes(10), Duration.ofSeconds(2));
        }
        for (long start : starts) {
            for (long window = start; window < start + 40_000; window += 10_000) {
                assertEquals(50, only(reads, "calibration", window).get("count").asLong(),
                        "labelled events in window " + window);
            }
        }
        assertEquals(lateBefore, PipelineMetrics.get().labelsLate.get(), 0.0, "no label was late");
    }

    static int freePort() throws Exception {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }

    static String scrape(int port) throws Exception {
        HttpResponse<String> response = HttpClient.newHttpClient().send(
                HttpRequest.newBuilder(URI.create("http://localhost:" + port + "/metrics")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, response.statusCode());
        return response.body();
    }

    /** The value of the first sample line starting with {@code prefix} (name plus labels), or NaN. */
    static double sample(String scrape, String prefix) {
        for (String line : scrape.split("\n")) {
            if (line.startsWith(prefix + " ") || (line.startsWith(prefix) && prefix.endsWith("}"))) {
                String[] parts = line.trim().split(" ");
                return Double.parseDouble(parts[parts.length - 1]);
            }
        }
        return Double.NaN;
    }

    /** Every metric stem of docs/design.md, "Metrics", is served, with values a working job would have. */
    static void assertMetrics(String scrape, int labelled) {
        assertTrue(sample(scrape, "e3_events_total{outcome=\"accept\",}") + sample(scrape, "e3_events_total{outcome=\"review\",}")
                >= labelled, "e3_events_total counts the scored events:\n" + scrape);
        assertTrue(sample(scrape, "e3_inference_batch_size_count{model=\"e3\",}") > 0, "batches were observed");
        assertTrue(sample(scrape, "e3_inference_batch_size_sum{model=\"e3\",}")
                >= sample(scrape, "e3_inference_batch_size_count{model=\"e3\",}"), "batches hold at least one image");
        assertTrue(sample(scrape, "e3_inference_seconds_count{model=\"e3\",}") > 0);
        assertTrue(sample(scrape, "e3_queue_wait_seconds_count{model=\"e3\",}") > 0);
        assertTrue(scrape.contains("e3_inference_seconds_bucket{"), "histograms have buckets");
        assertBetween(scrape, "e3_review_ratio", 0, 1);
        assertBetween(scrape, "e3_calibration_ece", 0, 1);
        assertBetween(scrape, "e3_calibration_nll", 0, 20);
        assertBetween(scrape, "e3_calibration_brier", 0, 2);
        assertBetween(scrape, "e3_accuracy", 0.5, 1);
        // e3_estimated_accuracy{method}: mean calibrated confidence, and ATC (the bundle's reference has an accuracy).
        assertBetween(scrape, "e3_estimated_accuracy{method=\"confidence\",}", 0.5, 1);
        assertBetween(scrape, "e3_estimated_accuracy{method=\"atc\",}", 0, 1);
        for (String signal : List.of("confidence", "entropy", "mutual_information", "predicted_class")) {
            assertBetween(scrape, "e3_drift_psi{signal=\"" + signal + "\",}", 0, 50);
        }
        assertTrue(sample(scrape, "e3_labels_joined_total") >= labelled);
        // every label of this test has its image and joins well within labels.ttl: none expires
        assertEquals(0.0, sample(scrape, "e3_labels_expired_total"), 0.0, "e3_labels_expired_total is served and 0");
    }

    static void assertBetween(String scrape, String prefix, double lo, double hi) {
        double v = sample(scrape, prefix);
        assertTrue(v >= lo && v <= hi, prefix + " = " + v + ", expected in [" + lo + ", " + hi + "]");
    }

    static JsonNode only(List<KafkaIO.Read> reads, String kind, long window) {
        List<JsonNode> found = reads.stream().map(KafkaIO.Read::json)
                .filter(j -> kind.equals(j.path("kind").asText()) && j.path("window").path("start").asLong() == window)
                .toList();
        assertEquals(1, found.size(), "one " + kind + " snapshot for window " + window + " in " + reads.size() + " records");
        return found.get(0);
    }
}
