package e3stream.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.JsonNode;
import e3stream.pipeline.embedded.ImageEvents;
import e3stream.pipeline.internal.metrics.MetricsServer;
import e3stream.pipeline.internal.metrics.PortRange;
import e3stream.pipeline.testutils.Expected;
import e3stream.pipeline.testutils.KafkaIO;
import e3stream.pipeline.testutils.RunningJob;
import e3stream.pipeline.testutils.SchemaCheck;
import e3stream.pipeline.testutils.TestData;
import e3stream.runtime.data.Corruption;
import e3stream.runtime.data.Corruptions;
import e3stream.runtime.data.ImageSet;
import e3stream.runtime.model.ModelBundle;
import e3stream.runtime.session.Scored;
import e3stream.runtime.session.TriageOverrides;
import e3stream.runtime.stats.CalibrationStats;
import e3stream.runtime.stats.DriftStats;
import e3stream.runtime.stats.ReferenceDistributions;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.junit.jupiter.api.Test;

/**
 * Drift per source on the real broker and MiniCluster: three cameras send clean Fashion-MNIST images for one window;
 * in the next, one of them sends blurred ones (Gaussian blur, severity 5) while the other two stay clean, and twenty
 * rare sources send one image each. With {@code drift.top-sources 3}, the drift and calibration records and the
 * {@code *_by_source} gauges name the three cameras and {@code other}; the blurred camera's PSI and review ratio rise,
 * its accuracy falls, and the clean cameras' PSI stays below 0.1; every per-source figure equals model-runtime's over
 * the same events.
 */
class SourceDriftITCase {

    static final long BASE = 1_700_000_000_000L; // a multiple of the 20 s window
    static final long WINDOW_MS = 20_000;
    static final int PER_WINDOW = 1_000;
    static final long STEP_MS = WINDOW_MS / PER_WINDOW;
    static final List<String> CAMERAS = List.of("cam-a", "cam-b", "cam-c");
    static final String BLURRED = "cam-c";

    /** One input event: its image, source, label and event time. */
    record Event(String id, byte[] png, String source, int label, long timestamp) {
        /** The per-source bucket with drift.top-sources 3: a camera, or other for the rare sources. */
        String bucket() {
            return CAMERAS.contains(source) ? source : "other";
        }

        long window() {
            return timestamp - Math.floorMod(timestamp, WINDOW_MS);
        }
    }

    @Test
    void oneSourceTurnsBlurredItsPsiAndReviewRatioRiseWhileTheOthersStayBelowPointOne() throws Exception {
        String prefix = "src-";
        String servers = E3StreamJobITCase.onOwnTopics(prefix, 1);
        ImageSet set = E3StreamJobITCase.fashion();
        // Window 1: images 0..999, window 2: 1000..1999; in window 2 the blurred camera's images are corrupted.
        int[] second = new int[PER_WINDOW];
        for (int i = 0; i < PER_WINDOW; i++) {
            second[i] = PER_WINDOW + i;
        }
        ImageSet blurred = Corruptions.apply(set.select("second window", second), Corruption.GAUSSIAN_BLUR, 5,
                Corruptions.DEFAULT_SEED);
        List<Event> events = new ArrayList<>();
        int rare = 0;
        for (int i = 0; i < 2 * PER_WINDOW; i++) {
            String source = i % 50 == 49 ? "rare-" + rare++ : CAMERAS.get(i % 3);
            boolean corrupt = i >= PER_WINDOW && source.equals(BLURRED);
            byte[] png = corrupt ? ImageEvents.png(blurred.imageBytes(i - PER_WINDOW), set.height(), set.width())
                    : E3StreamJobITCase.png(i);
            events.add(new Event("src-" + i, png, source, set.label(i), BASE + i * STEP_MS));
        }
        E3StreamOptions options = E3StreamJobITCase.options(prefix, KafkaIO.map(
                "windows.size", "20 s", "labels.max-delay", "5 s", "windows.idleness", "60 s",
                "drift.top-sources", "3"));
        int port = MetricsServer.ensureStarted(PortRange.parse(Integer.toString(CalibrationITCase.freePort())));
        List<KafkaIO.Read> reads;
        String scrape;
        try (RunningJob job = RunningJob.start(options);
             KafkaProducer<byte[], byte[]> producer = KafkaIO.producer(servers)) {
            for (Event e : events) {
                KafkaIO.send(producer, prefix + "images", e.id(), ImageEvents.imageEvent(e.id(), e.timestamp(),
                        e.source(), "image/png", e.png()), e.timestamp());
                KafkaIO.send(producer, prefix + "labels", e.id(), ImageEvents.labelEvent(e.id(), e.label(),
                        e.timestamp()), e.timestamp());
            }
            // Later events (from a camera, so no new source) move event time past both windows.
            for (int i = 0; i < 20; i++) {
                String id = "src-late-" + i;
                long ts = BASE + 6 * WINDOW_MS + i;
                KafkaIO.send(producer, prefix + "images", id, ImageEvents.imageEvent(id, ts, "cam-a", "image/png",
                        E3StreamJobITCase.png(i)), ts);
                KafkaIO.send(producer, prefix + "labels", id, ImageEvents.labelEvent(id, set.label(i), ts), ts);
            }
            KafkaIO.flush(producer);
            reads = KafkaIO.readUntil(servers, List.of(prefix + "calibration"),
                    r -> r.stream().filter(x -> x.json().path("window").path("start").asLong() < BASE + 2 * WINDOW_MS)
                            .count() >= 4, Duration.ofMinutes(5), Duration.ofSeconds(2));
            scrape = CalibrationITCase.scrape(port);
        }

        // model-runtime's figures over the same events, per window and bucket
        Map<String, byte[]> pngs = new LinkedHashMap<>();
        events.forEach(e -> pngs.put(e.id(), e.png()));
        Map<String, Scored> scored = Expected.score(pngs, TriageOverrides.NONE);
        ReferenceDistributions reference = ReferenceDistributions.fromJson(
                ModelBundle.load(TestData.bundle()).manifest().referenceJson());
        Map<String, DriftStats> drift = new HashMap<>();
        Map<String, CalibrationStats> calibration = new HashMap<>();
        for (Event e : events) {
            Scored s = scored.get(e.id());
            String key = e.window() + "/" + e.bucket();
            boolean reviewed = !s.decision().accepted();
            drift.computeIfAbsent(key, k -> DriftStats.compact(reference)).add(s.uncertainty(), reviewed,
                    s.featureLogDensity());
            calibration.computeIfAbsent(key, k -> CalibrationStats.compact(10)).add(s.uncertainty(), e.label(),
                    reviewed);
        }

        Map<Long, JsonNode> driftSources = new HashMap<>();
        for (long window : List.of(BASE, BASE + WINDOW_MS)) {
            JsonNode dr = CalibrationITCase.only(reads, "drift", window);
            JsonNode cal = CalibrationITCase.only(reads, "calibration", window);
            assertEquals(List.of(), SchemaCheck.violations("drift-snapshot", dr), "drift record of " + window);
            assertEquals(List.of(), SchemaCheck.violations("calibration-snapshot", cal));
            assertEquals(3, dr.get("top_sources").asInt());
            // the three cameras, most events first (ties by name), then the 20 rare sources as other
            List<String> busiest = new ArrayList<>(CAMERAS);
            busiest.sort(Comparator.<String>comparingLong(c -> -drift.get(window + "/" + c).count())
                    .thenComparing(c -> c));
            busiest.add("other");
            assertEquals(busiest, names(dr.get("sources")), "sources of drift window " + window);
            assertEquals(busiest, names(cal.get("sources")), "sources of calibration window " + window);
            for (String bucket : names(dr.get("sources"))) {
                String at = bucket + " in window " + window;
                DriftStats.DriftSnapshot want = drift.get(window + "/" + bucket).snapshot();
                JsonNode got = dr.get("sources").get(bucket);
                assertEquals(want.count(), got.get("count").asLong(), "events of " + at);
                assertEquals(want.reviewRate(), got.get("review_rate").asDouble(), 1e-12, "review rate of " + at);
                assertEquals(want.estimatedAccuracy(), got.get("estimated_accuracy").asDouble(), 1e-6, at);
                assertEquals(want.estimatedAccuracyAtc(), got.get("estimated_accuracy_atc").asDouble(), 1e-12, at);
                for (String signal : want.psi().keySet()) {
                    assertEquals(want.psi().get(signal), got.get("psi").get(signal).asDouble(), 1e-6,
                            "PSI of " + signal + " of " + at);
                }
                CalibrationStats.CalibrationSnapshot labelled = calibration.get(window + "/" + bucket).snapshot();
                JsonNode c = cal.get("sources").get(bucket);
                assertEquals(labelled.count(), c.get("count").asLong(), "labelled events of " + at);
                assertEquals(labelled.accuracy(), c.get("accuracy").asDouble(), 1e-12, "accuracy of " + at);
                assertEquals(labelled.ece(), c.get("ece").asDouble(), 1e-6, "ECE of " + at);
            }
            assertEquals(20, dr.get("sources").get("other").get("count").asLong(), "the rare sources of " + window);
            driftSources.put(window, dr.get("sources"));
        }

        // What a user sees: the blurred camera drifts, the clean ones do not
        JsonNode before = driftSources.get(BASE);
        JsonNode after = driftSources.get(BASE + WINDOW_MS);
        for (String bucket : names(after)) {
            System.out.printf("%-6s clean window: review %.3f PSI conf/ent/MI %.3f/%.3f/%.3f | second window: review "
                            + "%.3f PSI %.3f/%.3f/%.3f est. accuracy %.3f (atc %.3f)%n", bucket,
                    before.get(bucket).get("review_rate").asDouble(), psi(before, bucket, "confidence"),
                    psi(before, bucket, "entropy"), psi(before, bucket, "mutual_information"),
                    after.get(bucket).get("review_rate").asDouble(), psi(after, bucket, "confidence"),
                    psi(after, bucket, "entropy"), psi(after, bucket, "mutual_information"),
                    after.get(bucket).get("estimated_accuracy").asDouble(),
                    after.get(bucket).get("estimated_accuracy_atc").asDouble());
        }
        for (String camera : CAMERAS) {
            for (JsonNode window : List.of(before, after)) {
                if (window == after && camera.equals(BLURRED)) {
                    continue;
                }
                window.get(camera).get("psi").fields().forEachRemaining(psi -> assertTrue(psi.getValue().asDouble() < 0.1,
                        camera + " (clean) PSI of " + psi.getKey() + " = " + psi.getValue()));
            }
        }
        for (String signal : List.of("confidence", "entropy", "mutual_information")) {
            double psi = after.get(BLURRED).get("psi").get(signal).asDouble();
            assertTrue(psi > 0.25, BLURRED + " (blurred) PSI of " + signal + " = " + psi);
            assertTrue(psi > 5 * before.get(BLURRED).get("psi").get(signal).asDouble(), signal + " rose");
        }
        double reviewBefore = before.get(BLURRED).get("review_rate").asDouble();
        double reviewAfter = after.get(BLURRED).get("review_rate").asDouble();
        assertTrue(reviewAfter > reviewBefore + 0.15, "review rate of " + BLURRED + " " + reviewBefore + " -> "
                + reviewAfter);
        JsonNode calAfter = CalibrationITCase.only(reads, "calibration", BASE + WINDOW_MS).get("sources");
        assertTrue(calAfter.get(BLURRED).get("accuracy").asDouble() < calAfter.get("cam-a").get("accuracy").asDouble()
                - 0.1, "the blurred camera's accuracy falls: " + calAfter);

        // The gauges hold the last closed window (the second): bounded to the three cameras and other
        assertEquals(Set.of("cam-a", "cam-b", "cam-c", "other"), labelValues(scrape, "e3_window_events_by_source"),
                "source label values of e3_window_events_by_source");
        assertEquals(Set.of("cam-a", "cam-b", "cam-c", "other"), labelValues(scrape, "e3_accuracy_by_source"));
        for (String signal : List.of("confidence", "entropy", "mutual_information")) {
            assertEquals(after.get(BLURRED).get("psi").get(signal).asDouble(), CalibrationITCase.sample(scrape,
                    "e3_drift_psi_by_source{source=\"" + BLURRED + "\",signal=\"" + signal + "\",}"), 1e-9);
            assertTrue(CalibrationITCase.sample(scrape, "e3_drift_psi_by_source{source=\"cam-a\",signal=\""
                    + signal + "\",}") < 0.1);
        }
        assertEquals(reviewAfter, CalibrationITCase.sample(scrape,
                "e3_review_ratio_by_source{source=\"" + BLURRED + "\",}"), 1e-12);
        assertEquals(after.get(BLURRED).get("estimated_accuracy_atc").asDouble(), CalibrationITCase.sample(scrape,
                "e3_estimated_accuracy_by_source{source=\"" + BLURRED + "\",method=\"atc\",}"), 1e-12);
        assertEquals(calAfter.get(BLURRED).get("ece").asDouble(), CalibrationITCase.sample(scrape,
                "e3_calibration_ece_by_source{source=\"" + BLURRED + "\",}"), 1e-12);
    }

    static double psi(JsonNode sources, String source, String signal) {
        return sources.get(source).get("psi").get(signal).asDouble();
    }

    static List<String> names(JsonNode object) {
        List<String> names = new ArrayList<>();
        object.fieldNames().forEachRemaining(names::add);
        return names;
    }

    /** The values of the {@code source} label among {@code metric}'s samples in a scrape. */
    static Set<String> labelValues(String scrape, String metric) {
        Set<String> values = new TreeSet<>();
        Matcher m = Pattern.compile("(?m)^" + Pattern.quote(metric) + "\\{source=\"([^\"]*)\"").matcher(scrape);
        while (m.find()) {
            values.add(m.group(1));
        }
        return values;
    }
}
