package e3stream.pipeline.internal.labels;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;

import e3stream.pipeline.internal.events.LabelEvent;
import e3stream.pipeline.internal.events.Prediction;
import e3stream.pipeline.internal.metrics.PipelineMetrics;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.streaming.api.operators.co.KeyedCoProcessOperator;
import org.apache.flink.streaming.util.KeyedTwoInputStreamOperatorTestHarness;
import org.apache.flink.streaming.util.ProcessFunctionTestHarnesses;
import org.junit.jupiter.api.Test;

/**
 * The label join's keyed state and timers under Flink's operator test harness (processing time set by the test):
 * either order joins, what never joins expires after the TTL and is counted, nothing stays behind, and a waiting
 * prediction survives a checkpoint and restore.
 */
class LabelJoinFunctionTest {

    private static final Duration TTL = Duration.ofSeconds(60);

    private static KeyedTwoInputStreamOperatorTestHarness<JoinKey, Prediction, LabelEvent, LabelledPrediction> harness()
            throws Exception {
        return ProcessFunctionTestHarnesses.forKeyedCoProcessFunction(new LabelJoinFunction(TTL),
                JoinKey.OF_PREDICTION, JoinKey.OF_LABEL, JoinKey.TYPE);
    }

    private static Prediction prediction(String id, long timestamp, boolean accepted, double... probabilities) {
        Prediction p = new Prediction();
        p.id = id;
        p.timestamp = timestamp;
        p.probabilities = probabilities;
        p.accepted = accepted;
        p.source = "cam-" + id;
        return p;
    }

    private static void assertEmpty(KeyedTwoInputStreamOperatorTestHarness<?, ?, ?, ?> h) {
        assertEquals(0, h.numKeyedStateEntries(), "no keyed state left");
        assertEquals(0, h.numProcessingTimeTimers(), "no timer left");
    }

    @Test
    void joinsAPredictionWithALaterLabelAndKeepsNothing() throws Exception {
        try (var h = harness()) {
            h.setProcessingTime(1_000);
            h.processElement1(prediction("a", 42L, false, 0.7, 0.3), 42L);
            assertEquals(List.of(), h.extractOutputValues());
            h.processElement2(new LabelEvent("a", 1, 50L), 50L);
            List<LabelledPrediction> out = h.extractOutputValues();
            assertEquals(1, out.size());
            LabelledPrediction joined = out.get(0);
            assertEquals("a", joined.id);
            assertEquals(42L, joined.timestamp, "the image's event time, not the label's");
            assertArrayEquals(new double[] {0.7, 0.3}, joined.probabilities);
            assertTrue(joined.reviewed);
            assertEquals(1, joined.label);
            assertEquals("cam-a", joined.source, "the image's source, for the per-source calibration");
            assertEmpty(h);
        }
    }

    @Test
    void joinsALabelThatCameBeforeItsPrediction() throws Exception {
        try (var h = harness()) {
            h.processElement2(new LabelEvent("b", 0, 10L), 10L);
            h.setProcessingTime(30_000);
            h.processElement1(prediction("b", 5L, true, 0.9, 0.1), 5L);
            List<LabelledPrediction> out = h.extractOutputValues();
            assertEquals(1, out.size());
            assertEquals(0, out.get(0).label);
            assertEquals(false, out.get(0).reviewed);
            assertEquals("cam-b", out.get(0).source);
            assertEmpty(h);
        }
    }

    @Test
    void aPredictionWithoutLabelExpiresAfterTheTtlAndIsCounted() throws Exception {
        double unlabelled = PipelineMetrics.get().predictionsUnlabelled.get();
        try (var h = harness()) {
            h.setProcessingTime(0);
            h.processElement1(prediction("c", 1L, true, 0.5, 0.5), 1L);
            h.setProcessingTime(TTL.toMillis() - 1);
            assertEquals(1, h.numKeyedStateEntries(), "still waiting just before the TTL");
            h.setProcessingTime(TTL.toMillis());
            assertEquals(unlabelled + 1, PipelineMetrics.get().predictionsUnlabelled.get());
            assertEmpty(h);
            h.processElement2(new LabelEvent("c", 0, 1L), 1L);
            assertEquals(List.of(), h.extractOutputValues(), "a label after the TTL no longer joins");
        }
    }

    @Test
    void anOrphanLabelExpiresAndASecondLabelBeforeThePredictionReplacesTheFirst() throws Exception {
        double expired = PipelineMetrics.get().labelsExpired.get();
        try (var h = harness()) {
            h.setProcessingTime(0);
            h.processElement2(new LabelEvent("d", 0, 1L), 1L);
            h.processElement2(new LabelEvent("d", 1, 1L), 1L);
            assertEquals(expired + 1, PipelineMetrics.get().labelsExpired.get(), "the replaced label can never join");
            assertEquals(1, h.numProcessingTimeTimers(), "one timer per id");
            h.processElement1(prediction("d", 1L, true, 0.2, 0.8), 1L);
            assertEquals(1, h.extractOutputValues().get(0).label, "joined with the later label");

            h.processElement2(new LabelEvent("orphan", 1, 2L), 2L);
            h.setProcessingTime(TTL.toMillis());
            assertEquals(expired + 2, PipelineMetrics.get().labelsExpired.get());
            assertEmpty(h);
        }
    }

    @Test
    void aWaitingPredictionSurvivesACheckpointAndRestore() throws Exception {
        OperatorSubtaskState snapshot;
        try (var h = harness()) {
            h.setProcessingTime(0);
            h.processElement1(prediction("e", 7L, false, 0.6, 0.4), 7L);
            snapshot = h.snapshot(1L, 1L);
        }
        try (var restored = new KeyedTwoInputStreamOperatorTestHarness<>(
                new KeyedCoProcessOperator<>(new LabelJoinFunction(TTL)), JoinKey.OF_PREDICTION, JoinKey.OF_LABEL, JoinKey.TYPE)) {
            restored.initializeState(snapshot);
            restored.open();
            restored.setProcessingTime(1_000);
            restored.processElement2(new LabelEvent("e", 0, 8L), 8L);
            List<LabelledPrediction> out = restored.extractOutputValues();
            assertEquals(1, out.size());
            assertEquals(7L, out.get(0).timestamp);
            assertArrayEquals(new double[] {0.6, 0.4}, out.get(0).probabilities);
            assertEquals("cam-e", out.get(0).source, "the source is kept in the checkpointed state");
            assertEmpty(restored);
        }
    }
}
