package e3stream.pipeline.internal.events;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import e3stream.pipeline.internal.control.ControlAnswers;
import e3stream.pipeline.internal.control.SubtaskReport;
import e3stream.pipeline.internal.stats.Snapshots;
import e3stream.pipeline.testutils.SchemaCheck;
import e3stream.pipeline.testutils.TestData;
import e3stream.runtime.model.BundleDescription;
import e3stream.runtime.model.BundleManifest;
import e3stream.runtime.model.ModelBundle;
import e3stream.runtime.session.ModelRoster;
import e3stream.runtime.stats.CalibrationStats;
import e3stream.runtime.stats.DriftStats;
import e3stream.runtime.stats.ReferenceDistributions;
import org.junit.jupiter.api.Test;

/**
 * Every kind of output record at its topic's size limit, through the sink's one guard: a record that fits is written
 * as it is, one that does not is cut (still valid for its schema, the cut marked) or dead-lettered; and the
 * timestamp rule of topics with strict timestamp bounds.
 */
class OutputFitTest {

    private static final long NOW = 1_800_000_000_000L;
    private static final long DAY = 86_400_000L;
    private static final int KIB_64 = 64 * 1024;

    private static final String PREDICTIONS = "predictions";
    private static final String REVIEW = "review";
    private static final String DLQ = "images-dlq";
    private static final String CALIBRATION = "calibration";
    private static final String SHADOW = "shadow";
    private static final String CONTROL_RESULTS = "control-results";
    private static final List<String> TOPICS = List.of(PREDICTIONS, REVIEW, DLQ, CALIBRATION, SHADOW, CONTROL_RESULTS);

    /** Every topic with {@code maxMessageBytes} and a one-day bound into the past, the producer at 1 MiB. */
    private static OutputFit fit(int maxMessageBytes) {
        return fit(maxMessageBytes, maxMessageBytes);
    }

    /** As {@link #fit(int)}, the dead-letter topic with its own limit. */
    private static OutputFit fit(int maxMessageBytes, int dlqMaxMessageBytes) {
        Map<String, OutputLimits.Topic> topics = new LinkedHashMap<>();
        for (String t : TOPICS) {
            topics.put(t, new OutputLimits.Topic(t.equals(DLQ) ? dlqMaxMessageBytes : maxMessageBytes, DAY,
                    OutputLimits.KAFKA_DEFAULT_AFTER_MAX_MS, false));
        }
        return new OutputFit(new OutputLimits(DeadLetters.KAFKA_DEFAULT_MAX_REQUEST_SIZE, topics),
                OutputFit.kinds(PREDICTIONS, REVIEW, DLQ, CALIBRATION, SHADOW, CONTROL_RESULTS), DLQ);
    }

    private static Prediction prediction(String id, int classes, boolean accepted) {
        Prediction p = new Prediction();
        p.id = id;
        p.timestamp = NOW - 365 * DAY;
        p.modelName = "e3";
        p.modelVersion = "1.0.0";
        p.modelSha256 = "ab".repeat(32);
        p.classIndex = 0;
        p.label = "class-0";
        p.confidence = 0.9;
        p.probabilities = new double[classes];
        Arrays.fill(p.probabilities, 0.1 / classes);
        p.probabilities[0] = 0.9 + 0.1 / classes;
        p.entropy = 0.4;
        p.expectedEntropy = 0.3;
        p.mutualInformation = 0.1;
        p.memberDisagreement = 0.05;
        p.predictionSet = new int[] {0};
        p.accepted = accepted;
        p.reasons = accepted ? new String[0] : new String[] {"low_confidence"};
        p.latencyMs = 2.5;
        return p;
    }

    private static OutputRecord decision(Prediction p) {
        return new OutputRecord(p.accepted ? PREDICTIONS : REVIEW, p.id, p.toJson(), p.timestamp);
    }

    private static int size(OutputRecord r) {
        return (r.key == null ? 0 : r.key.length) + r.value.length;
    }

    private static JsonNode json(OutputRecord r) throws Exception {
        return Json.MAPPER.readTree(r.value);
    }

    /** The limit ({@code max.message.bytes}) at which {@code record} just fits: its size plus Kafka's framing. */
    private static int exactLimit(OutputRecord record) {
        return size(record) + OutputLimits.RECORD_OVERHEAD_MARGIN_BYTES;
    }

    @Test
    void aPredictionAndAReviewAtTheirTopicsLimitAreWrittenAsTheyAreOneByteMoreIsDeadLetteredWithItsId()
            throws Exception {
        for (boolean accepted : new boolean[] {true, false}) {
            OutputRecord record = decision(prediction("img-" + accepted, 3000, accepted));
            assertTrue(size(record) > 40_000, "a 3000-class prediction is large: " + size(record));
            OutputRecord written = fit(exactLimit(record), KIB_64).fit(record, NOW);
            assertEquals(record.topic, written.topic);
            assertArrayEquals(record.value, written.value, "at the limit: unchanged");

            OutputRecord refused = fit(exactLimit(record) - 1, KIB_64).fit(record, NOW);
            assertEquals(DLQ, refused.topic, "one byte over: to the dead-letter topic");
            assertTrue(size(refused) <= KIB_64 - OutputLimits.RECORD_OVERHEAD_MARGIN_BYTES, "fits the dead-letter topic");
            JsonNode dl = json(refused);
            assertEquals(List.of(), SchemaCheck.violations("dead-letter", dl));
            assertEquals("img-" + accepted, dl.get("id").asText(), "the event's id, so the input is accounted for");
            assertEquals("img-" + accepted, new String(refused.key, StandardCharsets.UTF_8));
            assertEquals(OutputFit.OUTPUT_TOO_LARGE, dl.get("error").get("code").asText());
            assertTrue(dl.get("error").get("message").asText().contains("max.message.bytes"),
                    dl.get("error").get("message").asText());
            assertEquals(record.topic, dl.get("source").get("topic").asText());
            assertEquals(-1, dl.get("source").get("offset").asLong());
            assertTrue(dl.get("truncated").asBoolean());
            assertEquals(record.value.length, dl.get("original_length").asInt());
            byte[] kept = Base64.getDecoder().decode(dl.get("original").asText());
            assertArrayEquals(Arrays.copyOf(record.value, kept.length), kept, "the prediction's first bytes");
        }
    }

    @Test
    void aShadowRecordThatCannotFitIsDeadLetteredWithItsId() throws Exception {
        Prediction shadow = prediction("img-s", 3000, false);
        shadow.modelName = "de-vmoe";
        OutputRecord record = new OutputRecord(SHADOW, shadow.id,
                new ShadowPrediction(shadow, prediction("img-s", 3000, true)).toJson(), shadow.timestamp);
        assertArrayEquals(record.value, fit(exactLimit(record)).fit(record, NOW).value, "at the limit: unchanged");
        assertEquals(List.of(), SchemaCheck.violations("shadow-record", json(record)));
        OutputRecord refused = fit(exactLimit(record) - 1, KIB_64).fit(record, NOW);
        assertEquals(DLQ, refused.topic);
        JsonNode dl = json(refused);
        assertEquals(List.of(), SchemaCheck.violations("dead-letter", dl));
        assertEquals("img-s", dl.get("id").asText());
        assertEquals(SHADOW, dl.get("source").get("topic").asText());
    }

    @Test
    void aDeadLetterOverItsTopicsLimitKeepsTheFirstBytesOfItsOriginalMarkedTruncated() throws Exception {
        byte[] original = new byte[300_000];
        new Random(7).nextBytes(original);
        RawRecord raw = new RawRecord("images", 1, 42, NOW - 365 * DAY, NOW, null, original);
        // built for the producer's 1 MiB, as the parse and decode steps build them
        OutputRecord record = DeadLetters.of(DLQ, raw, "img-big", "CORRUPT_IMAGE", "not a PNG");
        assertFalse(json(record).get("truncated").asBoolean());
        assertArrayEquals(record.value, fit(exactLimit(record)).fit(record, NOW).value, "at the limit: unchanged");

        OutputRecord cut = fit(KIB_64).fit(record, NOW);
        assertEquals(DLQ, cut.topic);
        assertTrue(size(cut) <= KIB_64 - OutputLimits.RECORD_OVERHEAD_MARGIN_BYTES, "fits: " + size(cut));
        assertTrue(size(cut) > KIB_64 - OutputLimits.RECORD_OVERHEAD_MARGIN_BYTES - 8, "and keeps what fits");
        JsonNode dl = json(cut);
        assertEquals(List.of(), SchemaCheck.violations("dead-letter", dl));
        assertTrue(dl.get("truncated").asBoolean());
        assertEquals(original.length, dl.get("original_length").asInt(), "still describes the whole original");
        assertEquals(json(record).get("original_sha256"), dl.get("original_sha256"));
        assertEquals("img-big", dl.get("id").asText());
        assertEquals("CORRUPT_IMAGE", dl.get("error").get("code").asText());
        byte[] kept = Base64.getDecoder().decode(dl.get("original").asText());
        assertTrue(kept.length > 40_000, "most of the room holds the original: " + kept.length);
        assertArrayEquals(Arrays.copyOf(original, kept.length), kept, "its first bytes");
    }

    /**
     * A control answer as the control function writes it: the echoed id and bundle (cut there to 256 and 1024
     * characters), the reason (cut to 2048), the roster after the command.
     */
    private static OutputRecord controlAnswer(String id, String bundle, String reason) {
        ObjectNode node = Json.object();
        node.put("command_id", id);
        node.put("command", "activate");
        node.put("bundle", bundle);
        node.put("status", "refused");
        node.put("reason", reason);
        node.put("truncated", true);
        ModelRoster.configured(BundleDescription.load(TestData.bundle()), null, 0).writeTo(node);
        ObjectNode source = node.putObject("source");
        source.put("topic", "control");
        source.put("partition", 0);
        source.put("offset", 7);
        node.put("timestamp", NOW - 365 * DAY);
        return new OutputRecord(CONTROL_RESULTS, id, Json.bytes(node), NOW - 365 * DAY);
    }

    @Test
    void theLargestControlAnswerFitsTheSmallestLimitStartUpAcceptsAndBelowThatItsTextsAreCutMarkedTruncated()
            throws Exception {
        // The longest texts the control function echoes, in 4-byte characters: the largest answer it can write.
        String wide = "\uD83D\uDCE6";
        String id = wide.repeat(128);
        String bundle = "/models/" + wide.repeat(508);
        String reason = "invalid command: no bundle at " + wide.repeat(1009);
        OutputRecord record = controlAnswer(id, bundle, reason);
        assertEquals(List.of(), SchemaCheck.violations("control-result", json(record)));
        assertArrayEquals(record.value, fit(OutputLimits.MIN_RECORD_LIMIT).fit(record, NOW).value,
                "bounded at its source, it fits any topic start-up accepts unchanged (" + size(record) + " bytes)");

        // Below what start-up accepts, the guard still cuts the texts, marks the cut and keeps the roster whole.
        int small = 8 * 1024;
        OutputRecord cut = fit(small).fit(record, NOW);
        assertEquals(CONTROL_RESULTS, cut.topic);
        assertTrue(size(cut) <= small - OutputLimits.RECORD_OVERHEAD_MARGIN_BYTES, "fits: " + size(cut));
        JsonNode answer = json(cut);
        assertEquals(List.of(), SchemaCheck.violations("control-result", answer));
        assertTrue(answer.get("truncated").asBoolean());
        String cutReason = answer.get("reason").asText();
        assertTrue(cutReason.startsWith("invalid command: no bundle at " + wide), cutReason);
        assertTrue(cutReason.endsWith("\u2026"), "the cut is marked");
        assertEquals(json(record).get("active"), answer.get("active"), "the roster stays whole");
    }

    @Test
    void theLargestPartlyAppliedAnswerFitsTheSmallestLimitStartUpAcceptsUnchanged() throws Exception {
        // A model change that every one of 500 inference subtasks kept away from, each with the longest reason.
        String wide = "\uD83D\uDCE6";
        ObjectNode applied = (ObjectNode) json(controlAnswer(wide.repeat(128), "/models/" + wide.repeat(508), null));
        applied.put("status", "applied");
        applied.put("truncated", false);
        OutputRecord held = new OutputRecord(CONTROL_RESULTS, wide.repeat(128), Json.bytes(applied), NOW - 365 * DAY);
        List<SubtaskReport> reports = new ArrayList<>();
        for (int subtask = 0; subtask < 500; subtask++) {
            reports.add(new SubtaskReport("key", subtask, 500, false, 1_000_000, "BundleException: " + wide.repeat(3000)));
        }
        OutputRecord record = ControlAnswers.complete(held, reports);
        JsonNode answer = json(record);
        assertEquals(List.of(), SchemaCheck.violations("control-result", answer));
        assertEquals("partial", answer.get("status").asText());
        assertEquals(500, answer.get("subtasks").asInt());
        assertEquals(ControlAnswers.MAX_KEPT_LISTED, answer.get("kept").size(), "the list is bounded");
        assertTrue(answer.get("truncated").asBoolean(), "and says it was cut");
        assertTrue(answer.get("reason").asText().startsWith("500 of 500 inference subtasks kept the models they use"),
                answer.get("reason").asText());
        assertArrayEquals(record.value, fit(OutputLimits.MIN_RECORD_LIMIT).fit(record, NOW).value,
                "bounded at its source, it fits any topic start-up accepts unchanged (" + size(record) + " bytes)");
    }

    private static String source(int i) {
        return String.format("%04d-", i) + "camera-with-a-long-name-".repeat(5);
    }

    @Test
    void aCalibrationSnapshotOverItsTopicsLimitDropsTheLeastBusySourcesKeepingOther() throws Exception {
        CalibrationStats stats = new CalibrationStats(10, 1000);
        Random rnd = new Random(3);
        for (int i = 0; i < 1000; i++) {
            for (int n = 0; n <= (1000 - i) / 100; n++) { // the lower the number, the busier
                double[] p = new double[10];
                int top = rnd.nextInt(10);
                p[top] = 0.6 + 0.4 * rnd.nextDouble();
                p[(top + 1) % 10] = 1 - p[top];
                stats.add(source(i), p, top, p[top] < 0.7);
            }
        }
        stats.add(null, new double[] {1, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 0, false);
        ObjectNode node = Snapshots.calibration(stats.snapshot(), stats.snapshotBySource(), 1000, 0, 10_000, "e3", "1");
        OutputRecord record = new OutputRecord(CALIBRATION, "calibration-0", Json.bytes(node), 9_999);
        assertTrue(size(record) > 200_000, "1000 sources: " + size(record));
        assertArrayEquals(record.value, fit(exactLimit(record)).fit(record, NOW).value, "at the limit: unchanged");

        OutputRecord cut = fit(KIB_64).fit(record, NOW);
        assertEquals(CALIBRATION, cut.topic);
        assertTrue(size(cut) <= KIB_64 - OutputLimits.RECORD_OVERHEAD_MARGIN_BYTES, "fits: " + size(cut));
        JsonNode snapshot = json(cut);
        assertEquals(List.of(), SchemaCheck.violations("calibration-snapshot", snapshot));
        assertTrue(snapshot.get("truncated").asBoolean());
        List<String> kept = names(snapshot.get("sources"));
        assertEquals("other", kept.get(kept.size() - 1), "other stays");
        assertEquals(1001 - kept.size(), snapshot.get("sources_omitted").asInt());
        assertEquals(names(json(record).get("sources")).subList(0, kept.size() - 1), kept.subList(0, kept.size() - 1),
                "the busiest are kept, in order");
        assertTrue(kept.size() > 50, "as many as fit: " + kept.size());
        assertEquals(json(record).get("reliability"), snapshot.get("reliability"), "the whole stream's figures stay");
    }

    @Test
    void aDriftSnapshotOverItsTopicsLimitDropsTheLeastBusySourcesKeepingOther() throws Exception {
        BundleManifest manifest = BundleManifest.read(TestData.bundle().resolve(ModelBundle.MANIFEST_FILE));
        DriftStats stats = new DriftStats(ReferenceDistributions.fromJson(manifest.referenceJson()), 1000);
        Random rnd = new Random(4);
        for (int i = 0; i < 1000; i++) {
            for (int n = 0; n <= (1000 - i) / 100; n++) {
                double c = 0.3 + 0.7 * rnd.nextDouble();
                stats.add(source(i), c, 1.5 * (1 - c), 0.01 * rnd.nextDouble(), rnd.nextInt(10), c < 0.8, Double.NaN);
            }
        }
        ObjectNode node = Snapshots.drift(stats.snapshot(), stats.snapshotBySource(), 1000, 0, 10_000, "e3", "1");
        OutputRecord record = new OutputRecord(CALIBRATION, "drift-0", Json.bytes(node), 9_999);
        assertTrue(size(record) > 200_000, "1000 sources: " + size(record));
        assertArrayEquals(record.value, fit(exactLimit(record)).fit(record, NOW).value, "at the limit: unchanged");

        OutputRecord cut = fit(KIB_64).fit(record, NOW);
        assertTrue(size(cut) <= KIB_64 - OutputLimits.RECORD_OVERHEAD_MARGIN_BYTES, "fits: " + size(cut));
        JsonNode snapshot = json(cut);
        assertEquals(List.of(), SchemaCheck.violations("drift-snapshot", snapshot));
        assertTrue(snapshot.get("truncated").asBoolean());
        assertTrue(snapshot.get("sources_omitted").asInt() > 0);
        assertEquals(json(record).get("psi"), snapshot.get("psi"), "the whole stream's figures stay");
    }

    @Test
    void aShadowCalibrationSnapshotAtItsTopicsLimitIsWrittenAsItIs() throws Exception {
        CalibrationStats stats = new CalibrationStats(10, 0);
        stats.add(null, new double[] {0.9, 0.1, 0, 0, 0, 0, 0, 0, 0, 0}, 0, false);
        OutputRecord record = new OutputRecord(CALIBRATION, "shadow-calibration-de-vmoe-0", Json.bytes(
                Snapshots.shadowCalibration(stats.snapshot(), 0, 10_000, "de-vmoe", "1")), 9_999);
        OutputRecord written = fit(exactLimit(record)).fit(record, NOW);
        assertArrayEquals(record.value, written.value);
        assertEquals(List.of(), SchemaCheck.violations("calibration-snapshot", json(written)));
    }

    @Test
    void aTimestampTheTopicWouldRefuseBecomesTheTimeOfWritingTheEventTimeStaysInTheRecord() throws Exception {
        OutputFit fit = fit(KIB_64);
        Prediction old = prediction("img-old", 10, true);
        OutputRecord yearOld = fit.fit(decision(old), NOW);
        assertEquals(NOW, yearOld.timestamp, "a year old, on a topic that takes one day: the time of writing");
        assertEquals(old.timestamp, json(yearOld).get("timestamp").asLong(), "the event time stays in the record");

        Prediction recent = prediction("img-recent", 10, true);
        recent.timestamp = NOW - DAY + OutputLimits.TIMESTAMP_MARGIN_MS;
        OutputRecord kept = fit.fit(decision(recent), NOW);
        assertEquals(recent.timestamp, kept.timestamp, "inside the bound with the margin to spare: its own");
        recent.timestamp = NOW - DAY + OutputLimits.TIMESTAMP_MARGIN_MS - 1;
        assertEquals(NOW, fit.fit(decision(recent), NOW).timestamp, "within the margin of the bound: now");

        Prediction future = prediction("img-future", 10, true);
        future.timestamp = NOW + OutputLimits.KAFKA_DEFAULT_AFTER_MAX_MS;
        assertEquals(NOW, fit.fit(decision(future), NOW).timestamp, "an hour ahead, on Kafka's 1 h bound: now");
        future.timestamp = NOW + 60_000;
        assertEquals(NOW + 60_000, fit.fit(decision(future), NOW).timestamp, "a minute ahead: its own");

        OutputRecord negative = new OutputRecord(DLQ, "k", "{}".getBytes(StandardCharsets.UTF_8), -1);
        assertEquals(NOW, fit.fit(negative, NOW).timestamp, "no timestamp: now");

        OutputLimits appendTime = new OutputLimits(1 << 20, Map.of(PREDICTIONS,
                new OutputLimits.Topic(KIB_64, DAY, DAY, true)));
        assertEquals(old.timestamp, appendTime.timestamp(PREDICTIONS, old.timestamp, NOW),
                "LogAppendTime: the broker sets it, any is taken");
    }

    @Test
    void limitsTheJobCannotHonourAreRefusedNamingTheSettingAndTopic() {
        OutputLimits tiny = new OutputLimits(1 << 20, Map.of(PREDICTIONS,
                new OutputLimits.Topic(1000, Long.MAX_VALUE, Long.MAX_VALUE, false)));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, tiny::check);
        assertTrue(e.getMessage().startsWith("max.message.bytes of topic predictions is 1000 bytes"), e.getMessage());

        OutputLimits instant = new OutputLimits(1 << 20, Map.of(CALIBRATION,
                new OutputLimits.Topic(KIB_64, 60_000, Long.MAX_VALUE, false)));
        e = assertThrows(IllegalArgumentException.class, instant::check);
        assertTrue(e.getMessage().startsWith("message.timestamp.before.max.ms of topic calibration is 60000 ms"),
                e.getMessage());

        new OutputLimits(1 << 20, Map.of(PREDICTIONS, new OutputLimits.Topic(KIB_64, DAY, 0, false))).check();
        new OutputLimits(1 << 20, Map.of(PREDICTIONS, new OutputLimits.Topic(KIB_64, 0, 0, true))).check();
    }

    private static List<String> names(JsonNode object) {
        List<String> names = new ArrayList<>();
        object.fieldNames().forEachRemaining(names::add);
        return names;
    }
}
