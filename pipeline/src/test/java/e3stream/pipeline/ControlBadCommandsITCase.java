package e3stream.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import e3stream.pipeline.testutils.CountStarts;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import e3stream.pipeline.embedded.ImageEvents;
import e3stream.pipeline.testutils.KafkaIO;
import e3stream.pipeline.testutils.RunningJob;
import e3stream.pipeline.testutils.SchemaCheck;
import e3stream.pipeline.testutils.SharedKafka;
import e3stream.pipeline.testutils.TestData;
import e3stream.runtime.model.ModelBundle;
import e3stream.runtime.session.ModelCommand;
import org.apache.flink.api.common.JobStatus;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every kind of bad model command, in one run of the job on a real broker and MiniCluster: each is answered on
 * {@code control-results} with its reason, in an answer of bounded size (echoed id and bundle cut, marked
 * {@code truncated}); none changes the roster, no task restarts, the job keeps running, and the images after them
 * are decided by the configured model. Then a shadow bundle that vanishes from the inference subtasks' disk before it
 * is promoted: the promotion is answered {@code partial}, naming each subtask that kept its models, and the images
 * go on to the models they used, without a restart.
 */
class ControlBadCommandsITCase {


    private static final String PREFIX = "badcmd-";
    private static final long BASE = 1_700_000_000_000L;

    @Test
    void everyBadCommandIsAnsweredWithItsReasonAndChangesNothing(@TempDir Path dir) throws Exception {
        String servers = SharedKafka.get().bootstrapServers();
        SharedKafka.createTopics(PREFIX);
        SharedKafka.get().createTopics(1, PREFIX + "control");
        SharedKafka.get().createTopics(2, PREFIX + "control-results", PREFIX + "shadow");
        E3StreamJobITCase.kafka = SharedKafka.get();

        // The bundle root: a good copy of de-vmoe, one ONNX Runtime cannot open (its sha256 matches), a plain file
        // and a link that leads outside to another copy of de-vmoe.
        Path deVmoe = TestData.repoRoot().resolve("models/de-vmoe");
        Path root = Files.createDirectories(dir.resolve("root"));
        Path outside = copy(deVmoe, dir.resolve("outside/de-vmoe"));
        copy(deVmoe, root.resolve("de-vmoe"));
        Path broken = copy(deVmoe, root.resolve("broken"));
        Files.writeString(broken.resolve("model.onnx"), "not an onnx graph");
        Files.writeString(broken.resolve("model.json"), Files.readString(broken.resolve("model.json"))
                .replace(ModelBundle.sha256(deVmoe.resolve("model.onnx")), ModelBundle.sha256(broken.resolve("model.onnx"))));
        Files.writeString(root.resolve("notes.txt"), "not a bundle");
        Files.createSymbolicLink(root.resolve("linked"), outside);
        Path vanishing = copy(deVmoe, root.resolve("vanishing"));

        String hugeBundle = "/" + "b".repeat(900_000);
        String hugeId = "i".repeat(500_000);
        String deep = "[".repeat(50_000) + "]".repeat(50_000);
        // key -> [value, expected start or part of the reason]; null value: a tombstone.
        Map<String, Object[]> commands = new LinkedHashMap<>();
        commands.put("huge-bundle", new Object[] {"{\"id\": \"huge-bundle\", \"command\": \"shadow\", \"bundle\": \""
                + hugeBundle + "\"}", "\"bundle\" must be at most 1024 characters"});
        commands.put("huge-id", new Object[] {"{\"id\": \"" + hugeId + "\", \"command\": \"promote\"}",
                "\"id\" must be a string of at most 256 characters"});
        commands.put("outside", new Object[] {shadow("outside", outside.toString()), "outside the bundle root"});
        commands.put("dot-dot", new Object[] {shadow("dot-dot", "../outside/de-vmoe"), "outside the bundle root"});
        commands.put("link", new Object[] {shadow("link", root.resolve("linked").toString()), "outside the bundle root"});
        commands.put("missing", new Object[] {shadow("missing", root.resolve("nope").toString()), "no such directory"});
        commands.put("file", new Object[] {shadow("file", "notes.txt"), "not a bundle"});
        commands.put("broken", new Object[] {shadow("broken", "broken"), "ONNX Runtime cannot open"});
        commands.put("wrong-digest", new Object[] {"{\"id\": \"wrong-digest\", \"command\": \"shadow\", \"bundle\": "
                + "\"de-vmoe\", \"bundle_sha256\": \"" + "0".repeat(64) + "\"}", "but the command names " + "0".repeat(64)});
        commands.put("unknown", new Object[] {"{\"id\": \"unknown\", \"command\": \"deploy\"}", "unknown command 'deploy'"});
        commands.put("not-json", new Object[] {"promote, please", "control record is not JSON"});
        commands.put("deep", new Object[] {"{\"id\": \"deep\", \"command\": \"status\", \"x\": " + deep + "}",
                "nested deeper than " + ModelCommand.MAX_NESTING});
        commands.put("empty", new Object[] {"", "empty control record"});
        commands.put("tombstone", new Object[] {null, "empty control record"});
        commands.put("null-command", new Object[] {"{\"id\": \"null-command\", \"command\": null}", "\"command\" is missing"});
        commands.put("null-bundle", new Object[] {"{\"id\": \"null-bundle\", \"command\": \"shadow\", \"bundle\": null}",
                "needs \"bundle\""});
        commands.put("empty-bundle", new Object[] {"{\"id\": \"empty-bundle\", \"command\": \"shadow\", \"bundle\": \"\"}",
                "needs \"bundle\""});
        commands.put("null-id", new Object[] {"{\"id\": null, \"command\": \"promote\"}", "no shadow model to promote"});

        Map<String, String> extra = KafkaIO.map(
                "model.control", "true",
                "model.bundle-root", root.toString(),
                "kafka.topic.control", PREFIX + "control",
                "kafka.topic.control-results", PREFIX + "control-results",
                "kafka.topic.shadow", PREFIX + "shadow");
        E3StreamOptions options = E3StreamJobITCase.options(PREFIX, extra);
        Map<String, byte[]> all = E3StreamJobITCase.pngs(80);
        Map<String, byte[]> pngs = new LinkedHashMap<>();
        Map<String, byte[]> later = new LinkedHashMap<>();
        all.forEach((id, png) -> (pngs.size() < 40 ? pngs : later).put(id, png));
        List<KafkaIO.Read> answers;
        List<KafkaIO.Read> decisions;
        List<String> decisionTopics = List.of(PREFIX + "predictions", PREFIX + "review", PREFIX + "images-dlq");
        try (RunningJob job = RunningJob.start(options, s -> s.map(new CountStarts()).name("count-starts"));
             KafkaProducer<byte[], byte[]> producer = KafkaIO.producer(servers)) {
            for (Map.Entry<String, Object[]> c : commands.entrySet()) {
                String value = (String) c.getValue()[0];
                KafkaIO.send(producer, PREFIX + "control", c.getKey(),
                        value == null ? null : value.getBytes(StandardCharsets.UTF_8), System.currentTimeMillis());
            }
            KafkaIO.send(producer, PREFIX + "control", "status", "{\"id\": \"status\", \"command\": \"status\"}"
                    .getBytes(StandardCharsets.UTF_8), System.currentTimeMillis());
            KafkaIO.flush(producer);
            int expected = commands.size() + 1;
            answers = KafkaIO.readUntil(servers, List.of(PREFIX + "control-results"), r -> r.size() >= expected,
                    Duration.ofMinutes(5), Duration.ofSeconds(2));
            assertEquals(expected, answers.size(), "one answer per command");

            // Images after the commands: still decided by the configured model.
            int i = 0;
            for (Map.Entry<String, byte[]> e : pngs.entrySet()) {
                long ts = BASE + 10L * i;
                KafkaIO.send(producer, PREFIX + "images", i++ % 2, e.getKey(), ImageEvents.imageEvent(e.getKey(), ts,
                        "test", "image/png", e.getValue()), ts);
            }
            KafkaIO.flush(producer);
            decisions = KafkaIO.readUntil(servers, decisionTopics, r -> r.size() >= pngs.size(), Duration.ofMinutes(5),
                    Duration.ofSeconds(2));

            // A bundle the inference subtasks cannot open (gone from their disk, as on a TaskManager that does not
            // mount it) after the control function accepted it as the shadow: promoted, it is refused where it cannot
            // open, the answer says so, and the images go on to the models each subtask used before.
            KafkaIO.send(producer, PREFIX + "control", "shadow-vanishing", shadow("shadow-vanishing", "vanishing")
                    .replace("}", ", \"share\": 0}").getBytes(StandardCharsets.UTF_8), System.currentTimeMillis());
            KafkaIO.flush(producer);
            answers = KafkaIO.readUntil(servers, List.of(PREFIX + "control-results"), r -> r.size() >= expected + 1,
                    Duration.ofMinutes(5), Duration.ofSeconds(2));
            Files.delete(vanishing.resolve("model.onnx"));
            KafkaIO.send(producer, PREFIX + "control", "promote-vanishing", ("{\"id\": \"promote-vanishing\", "
                    + "\"command\": \"promote\"}").getBytes(StandardCharsets.UTF_8), System.currentTimeMillis());
            KafkaIO.flush(producer);
            answers = KafkaIO.readUntil(servers, List.of(PREFIX + "control-results"), r -> r.size() >= expected + 2,
                    Duration.ofMinutes(5), Duration.ofSeconds(2));
            for (Map.Entry<String, byte[]> e : later.entrySet()) {
                long ts = BASE + 10L * i;
                KafkaIO.send(producer, PREFIX + "images", i++ % 2, e.getKey(), ImageEvents.imageEvent(e.getKey(), ts,
                        "test", "image/png", e.getValue()), ts);
            }
            KafkaIO.flush(producer);
            decisions = KafkaIO.readUntil(servers, decisionTopics, r -> r.size() >= pngs.size() + later.size(),
                    Duration.ofMinutes(5), Duration.ofSeconds(2));
            assertEquals(JobStatus.RUNNING, job.status(), "the job still runs");
            assertEquals(options.get(E3StreamOptions.PARALLELISM), CountStarts.STARTS.get(),
                    "no task restarted: each of the " + options.get(E3StreamOptions.PARALLELISM) + " tasks started once");
        }

        // The answers by the offset of their command (one partition, sent in order).
        String e3Sha = ModelBundle.load(TestData.bundle()).manifest().sha256();
        List<String> names = new java.util.ArrayList<>(commands.keySet());
        names.add("status");
        names.add("shadow-vanishing");
        names.add("promote-vanishing");
        Map<String, KafkaIO.Read> byName = new HashMap<>();
        for (KafkaIO.Read r : answers) {
            assertEquals(null, byName.put(names.get(r.json().get("source").get("offset").asInt()), r),
                    "one answer per command: " + r.json().get("source"));
        }
        assertEquals(names.size(), byName.size());
        for (String name : names.subList(0, names.size() - 2)) {
            KafkaIO.Read r = byName.get(name);
            JsonNode a = r.json();
            assertEquals(List.of(), SchemaCheck.violations("control-result", a), name + ": " + a);
            assertTrue(r.value().length < 8 * 1024, name + ": the answer stays small (" + r.value().length + " bytes)");
            assertEquals(0, a.get("revision").asLong(), name + " changes nothing");
            assertEquals(e3Sha, a.get("active").get("sha256").asText(), name);
            assertTrue(a.get("shadow").isNull(), name);
            if (name.equals("status")) {
                assertEquals("applied", a.get("status").asText());
                continue;
            }
            assertEquals("refused", a.get("status").asText(), name + ": " + a);
            String reason = a.get("reason").asText();
            assertTrue(reason.contains((String) commands.get(name)[1]), name + ": " + reason);
            boolean cut = name.equals("huge-bundle") || name.equals("huge-id");
            assertEquals(cut, a.get("truncated").asBoolean(), name + ": " + a);
        }
        JsonNode hugeBundleAnswer = byName.get("huge-bundle").json();
        assertEquals(hugeBundle.substring(0, ModelCommand.MAX_BUNDLE_LENGTH), hugeBundleAnswer.get("bundle").asText());
        assertEquals("huge-bundle", hugeBundleAnswer.get("command_id").asText());
        KafkaIO.Read hugeIdAnswer = byName.get("huge-id");
        assertEquals(hugeId.substring(0, ModelCommand.MAX_ID_LENGTH), hugeIdAnswer.json().get("command_id").asText());
        assertEquals(hugeId.substring(0, ModelCommand.MAX_ID_LENGTH), hugeIdAnswer.key(), "keyed by the cut id");
        assertEquals("broken", byName.get("broken").json().get("command_id").asText());
        assertEquals("control-0-" + names.indexOf("not-json"), byName.get("not-json").key(), "no id: keyed by offset");

        JsonNode shadowed = byName.get("shadow-vanishing").json();
        assertEquals("applied", shadowed.get("status").asText(), shadowed.toString());
        assertEquals(List.of(), SchemaCheck.violations("control-result", shadowed));
        JsonNode promoted = byName.get("promote-vanishing").json();
        assertEquals(List.of(), SchemaCheck.violations("control-result", promoted));
        assertEquals("partial", promoted.get("status").asText(), promoted.toString());
        assertEquals(2, promoted.get("revision").asLong(), "the control function's roster after the command");
        assertEquals(vanishing.toRealPath().toString(), promoted.get("active").get("directory").asText());
        assertEquals(2, promoted.get("subtasks").asInt());
        assertEquals(List.of(0, 1), promoted.get("kept").findValuesAsText("subtask").stream().map(Integer::valueOf)
                .toList(), "both subtasks kept their models: " + promoted);
        promoted.get("kept").forEach(k -> assertEquals(1, k.get("revision").asLong(), "kept revision 1: " + k));
        assertTrue(promoted.get("reason").asText().startsWith("2 of 2 inference subtasks kept the models they use"),
                promoted.get("reason").asText());
        assertTrue(promoted.get("reason").asText().contains("model.onnx"), promoted.get("reason").asText());

        // Every image decided once, by the configured e3: before the commands under revision 0, after the refused
        // promotion under revision 1 (e3 active, the shadow on no share of the events), where each subtask stayed.
        Map<String, JsonNode> decided = new HashMap<>();
        for (KafkaIO.Read r : decisions) {
            assertEquals(null, decided.put(r.key(), r.json()), "decided once: " + r.key());
            assertEquals(e3Sha, r.json().get("model").get("sha256").asText(), r.key());
            assertEquals(pngs.containsKey(r.key()) ? 0 : 1, r.json().get("control_revision").asLong(), r.key());
        }
        assertEquals(all.keySet(), decided.keySet());
    }

    private static String shadow(String id, String bundle) {
        return "{\"id\": \"" + id + "\", \"command\": \"shadow\", \"bundle\": \"" + bundle + "\"}";
    }

    private static Path copy(Path bundle, Path to) throws Exception {
        Files.createDirectories(to);
        for (String f : List.of("model.json", "model.onnx")) {
            Files.copy(bundle.resolve(f), to.resolve(f));
        }
        return to;
    }
}
