package e3stream.pipeline.internal.stats;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import com.esotericsoftware.kryo.serializers.JavaSerializer;
import e3stream.pipeline.internal.labels.LabelledPrediction;
import e3stream.runtime.stats.CalibrationStats;
import org.apache.flink.api.common.serialization.SerializerConfigImpl;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.streaming.api.watermark.Watermark;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.runtime.watermarkstatus.WatermarkStatus;
import org.apache.flink.streaming.util.AbstractStreamOperatorTestHarness;
import org.apache.flink.streaming.util.OneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.Test;

/**
 * The per-subtask half of the pre-aggregated calibration and drift windows: what the {@code windowAll} receives must
 * merge to exactly the accumulator of adding every item to one, whatever the watermarks, idleness and restores.
 */
class WindowPreAggregatorTest {

    private static final Duration WINDOW = Duration.ofSeconds(10);
    private static final int CLASSES = 3;

    private static OneInputStreamOperatorTestHarness<LabelledPrediction, CalibrationStats> harness(int parallelism,
                                                                                                    int subtask)
            throws Exception {
        OneInputStreamOperatorTestHarness<LabelledPrediction, CalibrationStats> h = new OneInputStreamOperatorTestHarness<>(
                new WindowPreAggregator<>(WINDOW, StatsAggregate.calibration(CLASSES, 2),
                        TypeInformation.of(CalibrationStats.class)), parallelism, parallelism, subtask);
        // as E3StreamJob registers it
        ((SerializerConfigImpl) h.getExecutionConfig().getSerializerConfig())
                .registerTypeWithKryoSerializer(CalibrationStats.class, JavaSerializer.class);
        return h;
    }

    private static LabelledPrediction item(Random random, long timestamp) {
        double[] p = {random.nextDouble(), random.nextDouble(), random.nextDouble()};
        double sum = p[0] + p[1] + p[2];
        for (int i = 0; i < p.length; i++) {
            p[i] /= sum;
        }
        return new LabelledPrediction("id-" + random.nextInt(), timestamp, p, random.nextBoolean(),
                random.nextInt(CLASSES), "source-" + random.nextInt(4));
    }

    private static CalibrationStats oneAccumulator(List<LabelledPrediction> items) {
        StatsAggregate<LabelledPrediction, CalibrationStats> aggregate = StatsAggregate.calibration(CLASSES, 2);
        CalibrationStats all = aggregate.createAccumulator();
        for (LabelledPrediction item : items) {
            all = aggregate.add(item, all);
        }
        return all;
    }

    /** The partials in the harness's output stamped with {@code maxTimestamp}, merged. */
    private static CalibrationStats merged(List<Object> output, long maxTimestamp) {
        CalibrationStats merged = StatsAggregate.calibration(CLASSES, 2).createAccumulator();
        for (Object o : output) {
            if (o instanceof StreamRecord<?> r && r.getTimestamp() == maxTimestamp) {
                merged.merge((CalibrationStats) r.getValue());
            }
        }
        return merged;
    }

    @Test
    void aWindowsPartialGoesOnWhenTheWatermarkClosesItAndBeforeThatWatermark() throws Exception {
        Random random = new Random(1);
        List<LabelledPrediction> first = new ArrayList<>();
        List<LabelledPrediction> second = new ArrayList<>();
        try (var h = harness(1, 0)) {
            h.open();
            for (int i = 0; i < 50; i++) {
                LabelledPrediction a = item(random, 1_000 + i * 100);
                LabelledPrediction b = item(random, 12_000 + i * 10);
                first.add(a);
                second.add(b);
                h.processElement(a, a.timestamp);
                h.processElement(b, b.timestamp);
            }
            assertTrue(h.getOutput().isEmpty(), "nothing goes on while the windows are open");
            h.processWatermark(new Watermark(9_998));
            assertEquals(1, h.getOutput().size(), "only the watermark, the window [0, 10 s) still open");
            h.processWatermark(new Watermark(9_999));
            List<Object> out = new ArrayList<>(h.getOutput());
            assertEquals(3, out.size(), "watermark 9998, the closed window's one partial, watermark 9999");
            assertInstanceOf(StreamRecord.class, out.get(1), "the partial before the watermark that closes it");
            assertEquals(new Watermark(9_999), out.get(2));
            assertEquals(oneAccumulator(first), merged(out, 9_999));
            h.processWatermark(new Watermark(Long.MAX_VALUE));
            assertEquals(oneAccumulator(second), merged(new ArrayList<>(h.getOutput()), 19_999));
        }
    }

    @Test
    void anItemOfAWindowAlreadySentOnGoesOnAtOnceForTheWindowAllToJudge() throws Exception {
        Random random = new Random(2);
        try (var h = harness(1, 0)) {
            h.open();
            h.processWatermark(new Watermark(25_000));
            LabelledPrediction late = item(random, 3_000);
            h.processElement(late, late.timestamp);
            assertEquals(oneAccumulator(List.of(late)), merged(new ArrayList<>(h.getOutput()), 9_999));
        }
    }

    @Test
    void anIdleInputSendsItsOpenPartialsBeforeTheIdleStatus() throws Exception {
        Random random = new Random(3);
        List<LabelledPrediction> items = new ArrayList<>();
        try (var h = harness(1, 0)) {
            h.open();
            for (int i = 0; i < 20; i++) {
                LabelledPrediction a = item(random, 4_000 + i);
                items.add(a);
                h.processElement(a, a.timestamp);
            }
            h.processWatermarkStatus(WatermarkStatus.IDLE);
            List<Object> out = new ArrayList<>(h.getOutput());
            assertEquals(oneAccumulator(items), merged(out, 9_999));
            assertEquals(WatermarkStatus.IDLE, out.get(out.size() - 1));
            h.processWatermark(new Watermark(Long.MAX_VALUE));
            assertEquals(out.size() + 1, h.getOutput().size(), "nothing left open to send twice");
        }
    }

    /**
     * Labels that join while the images are idle: the {@code windowAll} does not wait for an idle subtask, so
     * whatever this subtask held would race the watermark of another subtask that turns active first.
     */
    @Test
    void itemsThatComeWhileIdleGoOnMergedWithinTheFlushDelayNotWhenTheInputTurnsActive() throws Exception {
        Random random = new Random(7);
        List<LabelledPrediction> burst = new ArrayList<>();
        try (var h = harness(1, 0)) {
            h.open();
            h.setProcessingTime(0);
            h.processWatermarkStatus(WatermarkStatus.IDLE);
            int idleAt = h.getOutput().size();
            for (int i = 0; i < 40; i++) {
                LabelledPrediction a = item(random, 4_000 + i);
                burst.add(a);
                h.processElement(a, a.timestamp);
            }
            h.setProcessingTime(WindowPreAggregator.IDLE_FLUSH_MS);
            List<Object> flushed = new ArrayList<>(h.getOutput()).subList(idleAt, h.getOutput().size());
            assertEquals(1, flushed.size(), "the burst goes on as one partial, while the input is still idle");
            assertEquals(oneAccumulator(burst), merged(flushed, 9_999));

            LabelledPrediction last = item(random, 4_100);
            h.processElement(last, last.timestamp);
            h.processWatermarkStatus(WatermarkStatus.ACTIVE);
            List<Object> out = new ArrayList<>(h.getOutput());
            assertEquals(WatermarkStatus.ACTIVE, out.get(out.size() - 1));
            assertEquals(oneAccumulator(List.of(last)), merged(out.subList(idleAt + 1, out.size() - 1), 9_999),
                    "what came since the flush goes on before the active status");
            h.setProcessingTime(10 * WindowPreAggregator.IDLE_FLUSH_MS);
            h.processWatermark(new Watermark(Long.MAX_VALUE));
            assertEquals(out.size() + 1, h.getOutput().size(), "nothing left open to send twice");
            burst.add(last);
            assertEquals(oneAccumulator(burst), merged(new ArrayList<>(h.getOutput()), 9_999));
        }
    }

    @Test
    void openPartialsSurviveARestoreAndMergeWhenTwoSubtasksStateLandsOnOne() throws Exception {
        Random random = new Random(4);
        List<LabelledPrediction> items = new ArrayList<>();
        OperatorSubtaskState[] states = new OperatorSubtaskState[2];
        for (int subtask = 0; subtask < 2; subtask++) {
            try (var h = harness(2, subtask)) {
                h.open();
                for (int i = 0; i < 30; i++) {
                    LabelledPrediction a = item(random, 2_000 + i * 200);
                    items.add(a);
                    h.processElement(a, a.timestamp);
                }
                states[subtask] = h.snapshot(1, 1);
            }
        }
        OperatorSubtaskState rescaled = AbstractStreamOperatorTestHarness.repackageState(states);
        try (var h = harness(1, 0)) {
            h.initializeState(AbstractStreamOperatorTestHarness.repartitionOperatorState(rescaled, 128, 2, 1, 0));
            h.open();
            h.processWatermark(new Watermark(10_000));
            List<Object> out = new ArrayList<>(h.getOutput());
            assertEquals(oneAccumulator(items), merged(out, 9_999));
            assertEquals(60, merged(out, 9_999).count());
        }
    }

    @Test
    void figuresOfAnEarlierConfigurationRestoredFromASavepointAreDroppedNotMerged() throws Exception {
        Random random = new Random(6);
        // Partials of a job that kept per-source figures (topSources 2), restored into one that keeps none.
        OperatorSubtaskState earlier;
        try (var h = harness(1, 0)) {
            h.open();
            LabelledPrediction a = item(random, 1_000);
            h.processElement(a, a.timestamp);
            earlier = h.snapshot(1, 1);
        }
        StatsAggregate<LabelledPrediction, CalibrationStats> now = StatsAggregate.calibration(CLASSES, 0);
        List<LabelledPrediction> after = new ArrayList<>();
        try (var h = new OneInputStreamOperatorTestHarness<LabelledPrediction, CalibrationStats>(new WindowPreAggregator<>(
                WINDOW, now, TypeInformation.of(CalibrationStats.class)))) {
            ((SerializerConfigImpl) h.getExecutionConfig().getSerializerConfig())
                    .registerTypeWithKryoSerializer(CalibrationStats.class, JavaSerializer.class);
            h.initializeState(earlier);
            h.open();
            for (int i = 0; i < 5; i++) {
                LabelledPrediction b = item(random, 2_000 + i);
                after.add(b);
                h.processElement(b, b.timestamp);
            }
            h.processWatermark(new Watermark(Long.MAX_VALUE));
            CalibrationStats partial = null;
            for (Object o : h.getOutput()) {
                if (o instanceof StreamRecord<?> r) {
                    partial = (CalibrationStats) r.getValue();
                }
            }
            assertEquals(5, partial.count(), "only the items of the current configuration");
            // The windowAll half: an accumulator restored from the earlier job gives way to the current figures,
            // and an earlier partial is dropped; neither fails the task.
            PartialsMerge<CalibrationStats> merge = new PartialsMerge<>(now);
            CalibrationStats restoredWindow = StatsAggregate.calibration(CLASSES, 2).createAccumulator();
            restoredWindow.add("s", new double[] {0.2, 0.3, 0.5}, 2, false);
            CalibrationStats merged = merge.add(partial, restoredWindow);
            assertEquals(5, merged.count());
            assertEquals(merged, merge.add(restoredWindow, merged), "an earlier partial changes nothing");
            CalibrationStats expected = now.createAccumulator();
            for (LabelledPrediction b : after) {
                expected = now.add(b, expected);
            }
            assertEquals(expected, merged);
        }
    }

    @Test
    void partialsOfAnyWatermarkOrderMergeToTheOneAccumulatorResult() throws Exception {
        Random random = new Random(5);
        List<LabelledPrediction> items = new ArrayList<>();
        List<Object> out = new ArrayList<>();
        for (int subtask = 0; subtask < 2; subtask++) {
            try (var h = harness(2, subtask)) {
                h.open();
                for (int i = 0; i < 400; i++) {
                    LabelledPrediction a = item(random, random.nextInt(10_000));
                    items.add(a);
                    h.processElement(a, a.timestamp);
                    if (random.nextInt(50) == 0) {
                        h.processWatermark(new Watermark(random.nextInt(12_000))); // some items then come late
                    }
                }
                h.processWatermark(new Watermark(Long.MAX_VALUE));
                out.addAll(h.getOutput());
            }
        }
        CalibrationStats viaPartials = new PartialsMerge<>(StatsAggregate.calibration(CLASSES, 2)).createAccumulator();
        for (Object o : out) {
            if (o instanceof StreamRecord<?> r) {
                assertEquals(9_999, r.getTimestamp(), "every item is in the window [0, 10 s)");
                viaPartials = new PartialsMerge<>(StatsAggregate.calibration(CLASSES, 2))
                        .add((CalibrationStats) r.getValue(), viaPartials);
            }
        }
        assertEquals(oneAccumulator(items), viaPartials);
        assertEquals(800, viaPartials.count());
    }
}
