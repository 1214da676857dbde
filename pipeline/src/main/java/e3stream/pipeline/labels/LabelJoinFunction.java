package e3stream.pipeline.labels;

import java.time.Duration;

import e3stream.pipeline.events.LabelEvent;
import e3stream.pipeline.events.Prediction;
import e3stream.pipeline.metrics.PipelineMetrics;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.streaming.api.functions.co.KeyedCoProcessFunction;
import org.apache.flink.util.Collector;

/**
 * Joins predictions and labels by id in keyed state, whichever arrives first waiting for the other for at most
 * {@code ttl} (processing time). State per id is one prediction or one label, cleared on the join or on expiry, so
 * it stays bounded by the arrival rate times the TTL. A waiting prediction is kept as the few fields calibration
 * needs (a {@link LabelledPrediction} without its label), not the whole event: without labels every event waits.
 * Counts {@code e3_labels_joined_total}, {@code e3_labels_expired_total} (a label whose prediction never came) and
 * {@code e3_predictions_unlabelled_total}.
 * A second label for an id already joined waits and expires like an orphan.
 */
public final class LabelJoinFunction extends KeyedCoProcessFunction<String, Prediction, LabelEvent, LabelledPrediction> {

    private static final long serialVersionUID = 1L;

    private final long ttlMs;
    private transient ValueState<LabelledPrediction> prediction;
    private transient ValueState<LabelEvent> label;
    private transient ValueState<Long> timer;

    public LabelJoinFunction(Duration ttl) {
        this.ttlMs = ttl.toMillis();
    }

    @Override
    public void open(OpenContext context) {
        prediction = getRuntimeContext().getState(new ValueStateDescriptor<>("pending-prediction", LabelledPrediction.class));
        label = getRuntimeContext().getState(new ValueStateDescriptor<>("label", LabelEvent.class));
        timer = getRuntimeContext().getState(new ValueStateDescriptor<>("expiry", Long.class));
    }

    @Override
    public void processElement1(Prediction p, Context ctx, Collector<LabelledPrediction> out) throws Exception {
        LabelledPrediction pending = LabelledPrediction.awaitingLabel(p);
        LabelEvent l = label.value();
        if (l != null) {
            emit(pending, l, ctx, out);
        } else {
            prediction.update(pending);
            arm(ctx);
        }
    }

    @Override
    public void processElement2(LabelEvent l, Context ctx, Collector<LabelledPrediction> out) throws Exception {
        LabelledPrediction p = prediction.value();
        if (p != null) {
            emit(p, l, ctx, out);
        } else {
            if (label.value() != null) {
                PipelineMetrics.get().labelsExpired.inc(); // replaced before its prediction came: it can never join
            }
            label.update(l);
            arm(ctx);
        }
    }

    private void emit(LabelledPrediction p, LabelEvent l, Context ctx, Collector<LabelledPrediction> out) throws Exception {
        out.collect(p.withLabel(l.label));
        PipelineMetrics.get().labelsJoined.inc();
        Long t = timer.value();
        if (t != null) {
            ctx.timerService().deleteProcessingTimeTimer(t);
        }
        prediction.clear();
        label.clear();
        timer.clear();
    }

    private void arm(Context ctx) throws Exception {
        Long old = timer.value();
        if (old != null) {
            ctx.timerService().deleteProcessingTimeTimer(old);
        }
        long at = ctx.timerService().currentProcessingTime() + ttlMs;
        ctx.timerService().registerProcessingTimeTimer(at);
        timer.update(at);
    }

    @Override
    public void onTimer(long timestamp, OnTimerContext ctx, Collector<LabelledPrediction> out) throws Exception {
        if (label.value() != null) {
            PipelineMetrics.get().labelsExpired.inc();
        }
        if (prediction.value() != null) {
            PipelineMetrics.get().predictionsUnlabelled.inc();
        }
        prediction.clear();
        label.clear();
        timer.clear();
    }
}
