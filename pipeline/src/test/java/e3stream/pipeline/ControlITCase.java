package e3stream.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import e3stream.pipeline.embedded.ImageEvents;
import e3stream.pipeline.internal.inference.DecodedImage;
import e3stream.pipeline.testutils.Expected;
import e3stream.pipeline.testutils.KafkaIO;
import e3stream.pipeline.testutils.RunningJob;
import e3stream.pipeline.testutils.SchemaCheck;
import e3stream.pipeline.testutils.SharedKafka;
import e3stream.pipeline.testutils.TestData;
import e3stream.runtime.model.ModelBundle;
import e3stream.runtime.session.Scored;
import e3stream.runtime.session.TriageOverrides;
import org.apache.flink.api.common.functions.RichMapFunction;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Model control on a real broker and MiniCluster, exactly-once (issue 11, item 3): a shadow started, promoted and
 * rolled back by commands on the control topic while images stream, with a task failure injected around the
 * promotion and another after the rollback. Every event is decided once, by the model the control log
 * ({@code control-results}) names for the revision the event was decided under; each switch happens at one point
 * of each partition's stream; every command is answered once; a bundle that fails verification changes nothing.
 */
class ControlITCase {

    /** Throws on the first image after each arming. Static: one JVM. */
    static final class FailWhenArmed extends RichMapFunction<DecodedImage, DecodedImage> {
        static final AtomicBoolean ARMED = new AtomicBoolean();
        static final AtomicInteger FAILURES = new AtomicInteger();

        @Override
        public DecodedImage map(DecodedImage image) {
            if (ARMED.compareAndSet(true, false)) {
                FAILURES.incrementAndGet();
                throw new IllegalStateException("injected failure (test) at image " + image.id);
            }
            return image;
        }
    }

    private static final String PREFIX = "control-";
    private static final long BASE = 1_700_000_000_000L;
    private static final int BATCH = 150;

    private String servers;
    private final List<String> decisionTopics = List.of(PREFIX + "predictions", PREFIX + "review", PREFIX + "images-dlq");

    @Test
    void promoteAndRollBackMidStreamDecideEveryEventOnceByTheModelTheControlLogSays(@TempDir Path dir)
            throws Exception {
        servers = SharedKafka.get().bootstrapServers();
        SharedKafka.createTopics(PREFIX);
        SharedKafka.get().createTopics(1, PREFIX + "control");
        SharedKafka.get().createTopics(2, PREFIX + "control-results", PREFIX + "shadow");
        E3StreamJobITCase.kafka = SharedKafka.get();
        // The bundle root commands may name bundles in: a copy of de-vmoe, and one whose model file was changed.
        Path root = Files.createDirectories(dir.resolve("bundles")).toRealPath();
        Path deVmoe = Files.createDirectories(root.resolve("de-vmoe"));
        Path tampered = Files.createDirectories(root.resolve("tampered"));
        for (String f : List.of("model.onnx", "model.json")) {
            Files.copy(TestData.repoRoot().resolve("models/de-vmoe").resolve(f), deVmoe.resolve(f));
            Files.copy(deVmoe.resolve(f), tampered.resolve(f));
        }
        Files.write(tampered.resolve("model.onnx"), new byte[] {0}, StandardOpenOption.APPEND);

        Map<String, byte[]> all = E3StreamJobITCase.pngs(5 * BATCH);
        List<Map<String, byte[]>> batches = new ArrayList<>();
        for (int b = 0; b < 5; b++) {
            batches.add(new LinkedHashMap<>());
        }
        int n = 0;
        for (Map.Entry<String, byte[]> e : all.entrySet()) {
            batches.get(n++ / BATCH).put(e.getKey(), e.getValue());
        }
        Map<String, byte[]> a = batches.get(0);
        Map<String, byte[]> b = batches.get(1);
        Map<String, byte[]> c1 = batches.get(2);
        Map<String, byte[]> c2 = batches.get(3);
        Map<String, byte[]> d = batches.get(4);

        Map<String, String> extra = KafkaIO.map(
                "model.control", "true",
                "model.bundle-root", root.toString(),
                "kafka.topic.control", PREFIX + "control",
                "kafka.topic.control-results", PREFIX + "control-results",
                "kafka.topic.shadow", PREFIX + "shadow",
                "checkpoint.dir", dir.resolve("checkpoints").toUri().toString());
        try (RunningJob job = RunningJob.start(E3StreamJobITCase.options(PREFIX, extra),
                s -> s.map(new FailWhenArmed()).name("fail-when-armed"));
             KafkaProducer<byte[], byte[]> producer = KafkaIO.producer(servers)) {
            produce(producer, a, BASE);
            awaitDecisions(a.size());

            command(producer, "bad-shadow", "{\"id\": \"bad-shadow\", \"command\": \"shadow\", \"bundle\": \""
                    + tampered + "\"}");
            command(producer, "shadow-1", "{\"id\": \"shadow-1\", \"command\": \"shadow\", \"bundle\": \""
                    + deVmoe + "\", \"share\": 1.0}");
            awaitAnswers(2);
            produce(producer, b, BASE + 100_000);
            awaitDecisions(a.size() + b.size());
            // Labels for batch B: both models' labelled figures of its window.
            int index = a.size();
            for (String id : b.keySet()) {
                KafkaIO.send(producer, PREFIX + "labels", id, ImageEvents.labelEvent(id,
                        E3StreamJobITCase.fashion().label(index++), BASE + 100_000), BASE + 100_000);
            }
            KafkaIO.flush(producer);

            // A failure around the switch: armed with the promotion, hit by the first image after it.
            FailWhenArmed.ARMED.set(true);
            command(producer, "promote-1", "{\"id\": \"promote-1\", \"command\": \"promote\"}");
            produce(producer, c1, BASE + 200_000);
            awaitAnswers(3);
            // The answer is committed with a checkpoint that every selector passed after the new roster.
            produce(producer, c2, BASE + 300_000);
            awaitDecisions(a.size() + b.size() + c1.size() + c2.size());
            assertEquals(1, FailWhenArmed.FAILURES.get(), "the failure around the promotion happened");

            command(producer, "rollback-1", "{\"id\": \"rollback-1\", \"command\": \"rollback\"}");
            awaitAnswers(4);
            // A failure after the rollback was committed: the restarted job keeps the rolled-back choice.
            FailWhenArmed.ARMED.set(true);
            produce(producer, d, BASE + 400_000);
            awaitDecisions(all.size());
            assertEquals(2, FailWhenArmed.FAILURES.get(), "the failure after the rollback happened");

            command(producer, null, "promote, please");
            command(producer, "promote-2", "{\"id\": \"promote-2\", \"command\": \"promote\"}");
            // A later image closes the windows of the batches.
            long closing = BASE + 600_000;
            KafkaIO.send(producer, PREFIX + "images", 0, "closing", ImageEvents.imageEvent("closing", closing, "test",
                    "image/png", E3StreamJobITCase.png(0)), closing);
            KafkaIO.flush(producer);
            awaitAnswers(6);
        }

        List<KafkaIO.Read> reads = KafkaIO.readUntil(servers, List.of(PREFIX + "predictions", PREFIX + "review",
                        PREFIX + "images-dlq", PREFIX + "shadow", PREFIX + "control-results", PREFIX + "calibration"),
                r -> false, Duration.ofSeconds(8), Duration.ZERO);

        // The control log: one answer per command, in order.
        Map<String, JsonNode> answers = new LinkedHashMap<>();
        for (KafkaIO.Read r : topic(reads, "control-results")) {
            assertEquals(List.of(), SchemaCheck.violations("control-result", r.json()), "answer " + r.key());
            assertEquals(null, answers.put(r.key(), r.json()), "one answer per command: " + r.key());
        }
        assertEquals(6, answers.size(), "answers: " + answers.keySet());
        JsonNode bad = answers.get("bad-shadow");
        assertEquals("refused", bad.get("status").asText());
        assertTrue(bad.get("reason").asText().contains("sha256"), bad.get("reason").asText());
        assertEquals(0, bad.get("revision").asLong(), "a refused bundle changes nothing");
        assertTrue(bad.get("shadow").isNull());
        String e3Sha = ModelBundle.load(TestData.bundle()).manifest().sha256();
        String deVmoeSha = ModelBundle.load(deVmoe).manifest().sha256();
        assertApplied(answers.get("shadow-1"), 1, e3Sha, deVmoeSha);
        assertApplied(answers.get("promote-1"), 2, deVmoeSha, null);
        assertEquals(e3Sha, answers.get("promote-1").get("previous").get("sha256").asText());
        assertApplied(answers.get("rollback-1"), 3, e3Sha, null);
        JsonNode garbage = answers.values().stream().filter(x -> x.get("command").isNull()).findFirst().orElseThrow();
        assertEquals("refused", garbage.get("status").asText());
        assertTrue(garbage.get("reason").asText().startsWith("invalid command: control record is not JSON"),
                garbage.get("reason").asText());
        assertEquals("refused", answers.get("promote-2").get("status").asText());
        assertEquals(3, answers.get("promote-2").get("revision").asLong());

        // The model of each revision, as the control log says (0: the configured e3).
        Map<Long, String> activeByRevision = new HashMap<>(Map.of(0L, e3Sha));
        answers.values().forEach(x -> activeByRevision.put(x.get("revision").asLong(), x.get("active").get("sha256").asText()));

        // Every event decided once, by the model of its revision, as model-runtime decides it with that model.
        Map<String, KafkaIO.Read> decided = new HashMap<>();
        for (KafkaIO.Read r : reads) {
            if (decisionTopics.contains(r.topic()) && !"closing".equals(r.key())) {
                assertEquals(null, decided.put(r.key(), r), "decided once: " + r.key());
            }
        }
        assertEquals(all.keySet(), decided.keySet(), "every event decided");
        Map<String, Scored> byE3 = Expected.score(all, TriageOverrides.NONE);
        Map<String, Scored> byDeVmoe = Expected.score(deVmoe, all, TriageOverrides.NONE);
        Map<String, Long> revision = new HashMap<>();
        for (KafkaIO.Read r : decided.values()) {
            JsonNode p = r.json();
            assertEquals(List.of(), SchemaCheck.violations("prediction-event", p), "prediction " + r.key());
            assertNotNull(p.get("control_revision"), "control_revision of " + r.key());
            long rev = p.get("control_revision").asLong();
            String sha = p.get("model").get("sha256").asText();
            assertEquals(activeByRevision.get(rev), sha, "decided by the model of revision " + rev + ": " + r.key());
            Scored expected = (sha.equals(e3Sha) ? byE3 : byDeVmoe).get(r.key());
            assertEquals(expected.uncertainty().classIndex(), p.get("class_index").asInt(), "class of " + r.key());
            assertEquals(expected.decision().accepted() ? "accept" : "review", p.get("decision").asText());
            revision.put(r.key(), rev);
        }
        assertEquals(Set.of(0L), revisions(revision, a), "before any command: the configured model");
        assertEquals(Set.of(1L), revisions(revision, b), "with the shadow running, e3 still decides");
        assertEquals(Set.of(2L), revisions(revision, c2), "after the promotion's answer: the promoted model");
        assertEquals(Set.of(3L), revisions(revision, d), "after the rollback, and its restart: e3 again");
        // The promotion happened at one point of each partition's stream (images go to partitions 0, 1, 0, 1, ...).
        List<String> c1Ids = new ArrayList<>(c1.keySet());
        for (int partition = 0; partition < 2; partition++) {
            List<Long> sequence = new ArrayList<>();
            for (int i = partition; i < c1Ids.size(); i += 2) {
                sequence.add(revision.get(c1Ids.get(i)));
            }
            for (int i = 1; i < sequence.size(); i++) {
                assertTrue(sequence.get(i - 1) <= sequence.get(i), "one switch point in partition " + partition
                        + ": " + sequence);
            }
            assertTrue(Set.of(1L, 2L).containsAll(sequence), "partition " + partition + ": " + sequence);
        }

        // The shadow scored exactly the events decided under revision 1 (share 1), each once.
        Set<String> underShadow = revision.entrySet().stream().filter(e -> e.getValue() == 1L).map(Map.Entry::getKey)
                .collect(Collectors.toSet());
        Map<String, JsonNode> shadows = new HashMap<>();
        for (KafkaIO.Read r : topic(reads, "shadow")) {
            assertEquals(null, shadows.put(r.key(), r.json()), "shadow-scored once: " + r.key());
            assertEquals(List.of(), SchemaCheck.violations("shadow-record", r.json()));
            assertEquals(deVmoeSha, r.json().get("model").get("sha256").asText());
            assertEquals(e3Sha, r.json().get("active").get("model").get("sha256").asText());
        }
        assertEquals(underShadow, shadows.keySet(), "shadow records = events decided while the shadow ran");

        // The drift window of batch B compares the commanded shadow, named from its results.
        JsonNode driftB = topic(reads, "calibration").stream().map(KafkaIO.Read::json)
                .filter(x -> "drift".equals(x.path("kind").asText())
                        && x.path("window").path("start").asLong() == BASE + 100_000)
                .findFirst().orElseThrow(() -> new AssertionError("no drift snapshot of batch B's window"));
        assertEquals("de-vmoe", driftB.path("shadow").path("model").path("name").asText(), driftB.toString());
        assertEquals(b.size(), driftB.path("shadow").path("count").asLong(), driftB.toString());
        assertEquals("e3", driftB.path("shadow").path("active_model").path("name").asText(), driftB.toString());

        // Once labels arrive, each model's labelled figures of that window: the active's calibration record and the
        // shadow's shadow-calibration record, each with the accuracy its own predictions had.
        int correctE3 = 0;
        int correctDeVmoe = 0;
        int index = a.size();
        for (String id : b.keySet()) {
            int label = E3StreamJobITCase.fashion().label(index++);
            correctE3 += byE3.get(id).uncertainty().classIndex() == label ? 1 : 0;
            correctDeVmoe += byDeVmoe.get(id).uncertainty().classIndex() == label ? 1 : 0;
        }
        JsonNode activeB = calibration(reads, "calibration", BASE + 100_000);
        JsonNode shadowB = calibration(reads, "shadow-calibration", BASE + 100_000);
        assertEquals(List.of(), SchemaCheck.violations("calibration-snapshot", shadowB));
        assertEquals(b.size(), activeB.get("count").asLong());
        assertEquals(b.size(), shadowB.get("count").asLong());
        assertEquals("de-vmoe", shadowB.path("model").path("name").asText());
        assertEquals((double) correctE3 / b.size(), activeB.get("accuracy").asDouble(), 1e-9);
        assertEquals((double) correctDeVmoe / b.size(), shadowB.get("accuracy").asDouble(), 1e-9);
        assertTrue(shadowB.get("nll").asDouble() > 0 && shadowB.get("ece").asDouble() >= 0, shadowB.toString());
    }

    private static JsonNode calibration(List<KafkaIO.Read> reads, String kind, long windowStart) {
        List<JsonNode> found = topic(reads, "calibration").stream().map(KafkaIO.Read::json)
                .filter(x -> kind.equals(x.path("kind").asText()) && x.path("window").path("start").asLong() == windowStart)
                .toList();
        assertEquals(1, found.size(), kind + " records of window " + windowStart + ": " + found);
        return found.get(0);
    }

    private static void assertApplied(JsonNode answer, long revision, String activeSha, String shadowSha) {
        assertEquals("applied", answer.get("status").asText(), answer.toString());
        assertTrue(answer.get("reason").isNull());
        assertEquals(2, answer.get("subtasks").asInt(), "answered once both inference subtasks opened the models");
        assertEquals(0, answer.get("kept").size(), answer.toString());
        assertEquals(revision, answer.get("revision").asLong());
        assertEquals(activeSha, answer.get("active").get("sha256").asText());
        if (shadowSha == null) {
            assertTrue(answer.get("shadow").isNull(), answer.toString());
        } else {
            assertEquals(shadowSha, answer.get("shadow").get("sha256").asText());
        }
    }

    private static Set<Long> revisions(Map<String, Long> revision, Map<String, byte[]> batch) {
        return batch.keySet().stream().map(revision::get).collect(Collectors.toCollection(java.util.TreeSet::new));
    }

    private static List<KafkaIO.Read> topic(List<KafkaIO.Read> reads, String suffix) {
        return reads.stream().filter(r -> r.topic().equals(PREFIX + suffix)).toList();
    }

    /** Sends the images alternately to partitions 0 and 1, in order, 10 ms of event time apart. */
    private static void produce(KafkaProducer<byte[], byte[]> producer, Map<String, byte[]> pngs, long base) {
        int i = 0;
        for (Map.Entry<String, byte[]> e : pngs.entrySet()) {
            long ts = base + 10L * i;
            KafkaIO.send(producer, PREFIX + "images", i % 2, e.getKey(), ImageEvents.imageEvent(e.getKey(), ts, "test",
                    "image/png", e.getValue()), ts);
            i++;
        }
        KafkaIO.flush(producer);
    }

    private static void command(KafkaProducer<byte[], byte[]> producer, String key, String json) {
        KafkaIO.send(producer, PREFIX + "control", key, json.getBytes(StandardCharsets.UTF_8), System.currentTimeMillis());
        KafkaIO.flush(producer);
    }

    private void awaitDecisions(int count) {
        await(decisionTopics, r -> r.stream().filter(x -> !"closing".equals(x.key())).count() >= count,
                "decisions: " + count);
    }

    private void awaitAnswers(int count) {
        await(List.of(PREFIX + "control-results"), r -> r.size() >= count, "answers: " + count);
    }

    private void await(List<String> topics, Predicate<List<KafkaIO.Read>> done, String what) {
        List<KafkaIO.Read> reads = KafkaIO.readUntil(servers, topics, done, Duration.ofMinutes(5), Duration.ZERO);
        assertTrue(done.test(reads), "timed out waiting for " + what + " (read " + reads.size() + ")");
    }
}
