package e3stream.pipeline.internal.labels;

import java.time.Duration;

import e3stream.pipeline.internal.events.LabelEvent;
import e3stream.pipeline.internal.events.ModelTag;
import e3stream.pipeline.internal.events.Prediction;
import e3stream.pipeline.internal.metrics.PipelineMetrics;
import org.apache.flink.annotation.Internal;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.streaming.api.functions.co.KeyedCoProcessFunction;
import org.apache.flink.util.Collector;

/**
 * Joins predictions and labels by id ({@link JoinKey}) in keyed state, whichever arrives first waiting for the
 * other for at most {@code ttl} (processing time). State per id is one {@link PendingJoin} (only what calibration
 * needs of a prediction, or the label) and one timer, cleared on the join or on expiry, so it stays bounded by the
 * arrival rate times the TTL. Counts {@code e3_labels_joined_total}, {@code e3_labels_expired_total} (a label whose
 * prediction never came) and {@code e3_predictions_unlabelled_total}. A second label for an id already joined waits
 * and expires like an orphan; a second label before the prediction replaces the first, which counts as expired.
 */
@Internal
public final class LabelJoinFunction extends KeyedCoProcessFunction<JoinKey, Prediction, LabelEvent, LabelledPrediction> {

    private static final long serialVersionUID = 1L;

    private final long ttlMs;
    private final boolean countsLabels;
    private transient ValueState<PendingJoin> pending;

    /** The join of the active model's predictions, which counts the labels. */
    public LabelJoinFunction(Duration ttl) {
        this(ttl, true);
    }

    /**
     * @param countsLabels whether this join counts joined and expired labels and unlabelled predictions: the join
     *                     of the active model's predictions does; the shadow model's, which sees the same labels
     *                     but predictions for its share only, does not
     */
    public LabelJoinFunction(Duration ttl, boolean countsLabels) {
        this.ttlMs = ttl.toMillis();
        this.countsLabels = countsLabels;
    }

    @Override
    public void open(OpenContext context) {
        pending = getRuntimeContext().getState(new ValueStateDescriptor<>("pending", PendingJoinSerializer.INSTANCE));
    }

    @Override
    public void processElement1(Prediction p, Context ctx, Collector<LabelledPrediction> out) throws Exception {
        PendingJoin entry = pending.value();
        if (entry != null && entry.hasLabel()) {
            emit(ctx, out, entry, p.id, p.timestamp, p.probabilities, !p.accepted, entry.label, p.source, p.shadowOf);
            return;
        }
        entry = rearm(ctx, entry);
        entry.timestamp = p.timestamp;
        entry.probabilities = p.probabilities;
        entry.reviewed = !p.accepted;
        entry.source = p.source;
        entry.shadowOf = p.shadowOf;
        pending.update(entry);
    }

    @Override
    public void processElement2(LabelEvent l, Context ctx, Collector<LabelledPrediction> out) throws Exception {
        PendingJoin entry = pending.value();
        if (entry != null && entry.hasPrediction()) {
            emit(ctx, out, entry, l.id, entry.timestamp, entry.probabilities, entry.reviewed, l.label, entry.source,
                    entry.shadowOf);
            return;
        }
        if (entry != null && entry.hasLabel() && countsLabels) {
            PipelineMetrics.get().labelsExpired.inc(); // replaced before its prediction came: it can never join
        }
        entry = rearm(ctx, entry);
        entry.label = l.label;
        pending.update(entry);
    }

    private void emit(Context ctx, Collector<LabelledPrediction> out, PendingJoin entry, String id, long timestamp,
                      double[] probabilities, boolean reviewed, int label, String source, ModelTag shadowOf)
            throws Exception {
        LabelledPrediction joined = new LabelledPrediction(id, timestamp, probabilities, reviewed,
                label, source);
        joined.shadowOf = shadowOf;
        out.collect(joined);
        if (countsLabels) {
            PipelineMetrics.get().labelsJoined.inc();
        }
        ctx.timerService().deleteProcessingTimeTimer(entry.expiresAt);
        pending.clear();
    }

    /** The entry to update (a new one if none) with its timer moved to now + TTL. */
    private PendingJoin rearm(Context ctx, PendingJoin entry) {
        if (entry == null) {
            entry = new PendingJoin();
        } else {
            ctx.timerService().deleteProcessingTimeTimer(entry.expiresAt);
        }
        entry.expiresAt = ctx.timerService().currentProcessingTime() + ttlMs;
        ctx.timerService().registerProcessingTimeTimer(entry.expiresAt);
        return entry;
    }

    @Override
    public void onTimer(long timestamp, OnTimerContext ctx, Collector<LabelledPrediction> out) throws Exception {
        PendingJoin entry = pending.value();
        if (entry == null || entry.expiresAt != timestamp) {
            return; // a timer of an entry already joined or re-armed
        }
        if (entry.hasLabel() && countsLabels) {
            PipelineMetrics.get().labelsExpired.inc();
        }
        if (entry.hasPrediction() && countsLabels) {
            PipelineMetrics.get().predictionsUnlabelled.inc();
        }
        pending.clear();
    }
}
