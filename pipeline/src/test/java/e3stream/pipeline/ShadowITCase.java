package e3stream.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import com.fasterxml.jackson.databind.JsonNode;
import e3stream.pipeline.embedded.ImageEvents;
import e3stream.pipeline.internal.metrics.PipelineMetrics;
import e3stream.pipeline.testutils.Expected;
import e3stream.pipeline.testutils.KafkaIO;
import e3stream.pipeline.testutils.RunningJob;
import e3stream.pipeline.testutils.SchemaCheck;
import e3stream.pipeline.testutils.SharedKafka;
import e3stream.pipeline.testutils.TestData;
import e3stream.runtime.model.ModelBundle;
import e3stream.runtime.session.Scored;
import e3stream.runtime.session.ShadowShare;
import e3stream.runtime.session.TriageOverrides;
import e3stream.runtime.stats.ReferenceDistributions;
import e3stream.runtime.stats.ShadowComparison;
import e3stream.runtime.stats.ShadowComparison.ShadowSnapshot;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.junit.jupiter.api.Test;

/**
 * Shadow scoring (issue 11, item 2) on a real broker and MiniCluster: {@code models/e3} decides, {@code models/de-vmoe}
 * scores the same events beside it; every event is decided once by e3, and the shadow's result of each sampled event
 * is on the shadow topic once, with e3's decision beside it; the drift snapshot's comparison is what the shadow
 * records themselves give.
 */
class ShadowITCase {

    private static final long BASE = 1_700_000_000_000L; // a multiple of the 20 s window
    private static final long WINDOW_MS = 20_000;

    private static Path shadowBundle() {
        return TestData.repoRoot().resolve("models/de-vmoe");
    }

    /** Runs the job with e3 active and de-vmoe shadow over {@code pngs}; returns what it wrote. */
    private static List<KafkaIO.Read> run(String prefix, Map<String, byte[]> pngs, String share, int expectedShadow)
            throws Exception {
        SharedKafka.createTopics(prefix, 1);
        SharedKafka.get().createTopics(2, prefix + "shadow");
        E3StreamJobITCase.kafka = SharedKafka.get();
        String servers = SharedKafka.get().bootstrapServers();
        E3StreamOptions options = E3StreamJobITCase.options(prefix, KafkaIO.map(
                "model.shadow-bundle", shadowBundle().toString(), "model.shadow-share", share,
                "kafka.topic.shadow", prefix + "shadow", "windows.size", "20 s", "windows.idleness", "1 s"));
        try (RunningJob job = RunningJob.start(options);
             KafkaProducer<byte[], byte[]> producer = KafkaIO.producer(servers)) {
            int i = 0;
            for (Map.Entry<String, byte[]> e : pngs.entrySet()) {
                long ts = BASE + 10L * i++;
                KafkaIO.send(producer, prefix + "images", e.getKey(), ImageEvents.imageEvent(e.getKey(), ts, "test",
                        "image/png", e.getValue()), ts);
            }
            // A later event moves event time past the first window, which then closes.
            long late = BASE + 3 * WINDOW_MS;
            KafkaIO.send(producer, prefix + "images", "late-0", ImageEvents.imageEvent("late-0", late, "test",
                    "image/png", E3StreamJobITCase.png(0)), late);
            KafkaIO.flush(producer);
            return KafkaIO.readUntil(servers, List.of(prefix + "predictions", prefix + "review", prefix + "shadow",
                            prefix + "calibration"),
                    r -> r.stream().filter(x -> x.topic().endsWith("shadow") && pngs.containsKey(x.key())).count()
                            >= expectedShadow
                            && r.stream().filter(x -> !x.topic().endsWith("shadow") && !x.topic().endsWith("calibration")
                                    && pngs.containsKey(x.key())).count() >= pngs.size()
                            && r.stream().anyMatch(x -> "drift".equals(x.json().path("kind").asText())
                                    && x.json().path("window").path("start").asLong() == BASE),
                    Duration.ofMinutes(5), Duration.ofSeconds(3));
        }
    }

    private static Map<String, KafkaIO.Read> once(List<KafkaIO.Read> reads, Set<String> topics, Set<String> ids) {
        Map<String, KafkaIO.Read> byId = new HashMap<>();
        List<String> twice = new ArrayList<>();
        for (KafkaIO.Read r : reads) {
            if (topics.contains(r.topic()) && ids.contains(r.key()) && byId.put(r.key(), r) != null) {
                twice.add(r.key());
            }
        }
        assertEquals(List.of(), twice, "ids written more than once to " + topics);
        return byId;
    }

    @Test
    void everyEventIsDecidedOnceByTheActiveModelAndScoredOnceByTheShadow() throws Exception {
        String prefix = "shadow-all-";
        Map<String, byte[]> pngs = E3StreamJobITCase.pngs(300);
        List<KafkaIO.Read> reads = run(prefix, pngs, "1.0", pngs.size());

        Map<String, KafkaIO.Read> decisions = once(reads, Set.of(prefix + "predictions", prefix + "review"),
                pngs.keySet());
        Map<String, KafkaIO.Read> shadows = once(reads, Set.of(prefix + "shadow"), pngs.keySet());
        assertEquals(pngs.keySet(), decisions.keySet(), "every input decided");
        assertEquals(pngs.keySet(), shadows.keySet(), "every input on the shadow topic");

        Map<String, Scored> active = Expected.score(pngs, TriageOverrides.NONE);
        Map<String, Scored> shadowExpected = Expected.score(shadowBundle(), pngs, TriageOverrides.NONE);
        ShadowComparison fromRecords = new ShadowComparison(ReferenceDistributions.fromJson(
                ModelBundle.load(TestData.bundle()).manifest().referenceJson()).signal(ReferenceDistributions.CONFIDENCE));
        int agreed = 0;
        for (String id : pngs.keySet()) {
            JsonNode d = decisions.get(id).json();
            JsonNode s = shadows.get(id).json();
            assertEquals("e3", d.path("model").path("name").asText(), "decided by the active model: " + id);
            assertEquals(active.get(id).uncertainty().classIndex(), d.get("class_index").asInt());
            assertEquals(List.of(), SchemaCheck.violations("shadow-record", s), "shadow record of " + id);
            assertEquals("de-vmoe", s.path("model").path("name").asText(), "shadow's provenance: " + id);
            assertEquals(ModelBundle.load(shadowBundle()).manifest().sha256(), s.path("model").path("sha256").asText());
            Scored e = shadowExpected.get(id);
            assertEquals(e.uncertainty().classIndex(), s.get("class_index").asInt(), "shadow class of " + id);
            assertEquals(e.uncertainty().confidence(), s.get("confidence").asDouble(), 1e-5);
            assertEquals(e.decision().accepted() ? "accept" : "review", s.get("decision").asText());
            JsonNode a = s.get("active");
            assertEquals("e3", a.path("model").path("name").asText());
            assertEquals(d.path("model"), a.path("model"), "the active provenance beside it");
            assertEquals(d.get("class_index").asInt(), a.get("class_index").asInt());
            assertEquals(d.get("decision").asText(), a.get("decision").asText());
            assertEquals(decisions.get(id).topic(), prefix + (a.get("decision").asText().equals("accept")
                    ? "predictions" : "review"));
            assertEquals(d.get("confidence").asDouble(), a.get("confidence").asDouble(), 0.0);
            agreed += s.get("class_index").asInt() == a.get("class_index").asInt() ? 1 : 0;
            fromRecords.add(a.get("class_index").asInt(), a.get("confidence").asDouble(),
                    a.get("decision").asText().equals("review"), s.get("class_index").asInt(),
                    s.get("confidence").asDouble(), s.get("decision").asText().equals("review"));
        }

        JsonNode snapshot = driftSnapshot(reads, BASE).get("shadow");
        assertEquals(List.of(), SchemaCheck.violations("drift-snapshot", driftSnapshot(reads, BASE)));
        assertEquals("de-vmoe", snapshot.path("model").path("name").asText());
        assertEquals(pngs.size(), snapshot.get("count").asLong());
        double agreement = (double) agreed / pngs.size();
        assertEquals(agreement, snapshot.get("agreement").asDouble(), 1e-12, "agreement of the snapshot vs records");
        ShadowSnapshot expected = fromRecords.snapshot();
        assertEquals(expected.reviewRateDifference(), snapshot.get("review_rate_difference").asDouble(), 1e-12);
        assertEquals(expected.activeReviewRate(), snapshot.get("active_review_rate").asDouble(), 1e-12);
        assertEquals(expected.confidencePsi(), snapshot.get("confidence_psi").asDouble(), 1e-9);
        // The gauges hold the last closed window: this one.
        PipelineMetrics m = PipelineMetrics.get();
        assertEquals(agreement, m.shadowAgreement.labels("de-vmoe").get(), 1e-12);
        assertEquals(expected.activeReviewRate(), m.shadowReviewRatio.labels("e3").get(), 1e-12);
        assertEquals(expected.shadowReviewRate(), m.shadowReviewRatio.labels("de-vmoe").get(), 1e-12);
        assertEquals(expected.confidencePsi(), m.shadowConfidencePsi.labels("de-vmoe").get(), 1e-9);
        System.out.printf("shadow de-vmoe vs active e3 on %d events: agreement %.4f, review rate e3 %.4f, "
                        + "de-vmoe %.4f (difference %+.4f), confidence PSI %.4f%n", pngs.size(), agreement,
                expected.activeReviewRate(), expected.shadowReviewRate(), expected.reviewRateDifference(),
                expected.confidencePsi());
    }

    @Test
    void aShareOfOneHalfScoresTheIdsTheHashPicks() throws Exception {
        String prefix = "shadow-half-";
        Map<String, byte[]> pngs = E3StreamJobITCase.pngs(200);
        ShadowShare half = new ShadowShare(0.5);
        Set<String> picked = new TreeSet<>();
        pngs.keySet().stream().filter(half::includes).forEach(picked::add);
        // Binomial(200, 0.5): sd about 7.
        assertTrue(picked.size() > 65 && picked.size() < 135, "the hash picks about half: " + picked.size());
        List<KafkaIO.Read> reads = run(prefix, pngs, "0.5", picked.size());

        Map<String, KafkaIO.Read> decisions = once(reads, Set.of(prefix + "predictions", prefix + "review"),
                pngs.keySet());
        Map<String, KafkaIO.Read> shadows = once(reads, Set.of(prefix + "shadow"), pngs.keySet());
        assertEquals(pngs.keySet(), decisions.keySet(), "every input decided, sampled or not");
        assertEquals(picked, new TreeSet<>(shadows.keySet()), "the shadow scored exactly the ids the hash picks");
        decisions.values().forEach(r -> assertEquals("e3", r.json().path("model").path("name").asText()));
        assertEquals(picked.size(), driftSnapshot(reads, BASE).get("shadow").get("count").asLong());
        System.out.printf("share 0.5: %d of %d ids shadow-scored%n", picked.size(), pngs.size());
    }

    private static JsonNode driftSnapshot(List<KafkaIO.Read> reads, long window) {
        List<JsonNode> found = reads.stream().map(KafkaIO.Read::json)
                .filter(j -> "drift".equals(j.path("kind").asText()) && j.path("window").path("start").asLong() == window)
                .toList();
        assertEquals(1, found.size(), "one drift snapshot of window " + window);
        return found.get(0);
    }
}
