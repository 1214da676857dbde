package e3stream.pipeline.internal.stats;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import e3stream.runtime.stats.MergeableStats;
import org.apache.flink.annotation.Internal;
import org.apache.flink.api.common.functions.AggregateFunction;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.typeinfo.BasicTypeInfo;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.java.tuple.Tuple2;
import org.apache.flink.api.java.typeutils.TupleTypeInfo;
import org.apache.flink.runtime.state.StateInitializationContext;
import org.apache.flink.runtime.state.StateSnapshotContext;
import org.apache.flink.streaming.api.operators.AbstractStreamOperator;
import org.apache.flink.streaming.api.operators.OneInputStreamOperator;
import org.apache.flink.streaming.api.watermark.Watermark;
import org.apache.flink.streaming.api.windowing.windows.TimeWindow;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.runtime.tasks.ProcessingTimeService;
import org.apache.flink.streaming.runtime.watermarkstatus.WatermarkStatus;

/**
 * Adds each subtask's items to one partial accumulator per tumbling event-time window, in memory, and sends the
 * partial on (stamped with the window's last millisecond) when this subtask's watermark closes the window; a
 * {@code windowAll} of the same size then merges the subtasks' partials ({@link PartialsMerge}).
 *
 * <p>Why: a {@code windowAll} fed item by item costs a network hop per item, and its accumulator (a
 * {@link e3stream.runtime.stats.DriftStats} is tens of KB) sits in keyed state, so a state backend that serialises
 * on access (RocksDB) or logs every change ({@code checkpoint.changelog}) would write it whole once per item. With
 * this operator the {@code windowAll} sees a handful of partials per window and subtask.
 *
 * <p>Lateness is left to the {@code windowAll}: nothing is dropped here. An item of
 * a window this subtask has already sent on goes on at once as a partial of its own, and the {@code windowAll}
 * decides with its own watermark (the least of all subtasks'). When this subtask's input goes idle, its partials go
 * on before the idle status does, because the {@code windowAll} stops waiting for an idle input's watermark. For the
 * same reason nothing is held while idle: items that come then (labels joining after the images stopped) go on
 * within {@link #IDLE_FLUSH_MS}, merged into one partial per window. Held until this subtask's input turns active
 * again, they would race the other subtasks: the watermark of a subtask that turns active first would close the
 * window in the {@code windowAll} without them, and they would count as late.
 *
 * <p>The open partials are operator state: written whole at each checkpoint (a few per subtask), merged on restore
 * whichever subtask they land on after rescaling.
 */
@Internal
public final class WindowPreAggregator<IN, A extends MergeableStats<A>> extends AbstractStreamOperator<A>
        implements OneInputStreamOperator<IN, A> {

    private static final long serialVersionUID = 1L;

    /**
     * How long an item that comes while this subtask is idle may wait to go on: short against anything that could
     * close its window (a watermark comes from an image that is yet to be scored), long enough to merge a burst of
     * labels into a few partials instead of one per label.
     */
    static final long IDLE_FLUSH_MS = 10;

    private final long sizeMs;
    private final AggregateFunction<IN, A, A> aggregate;
    private final TypeInformation<A> accumulatorType;

    /** Open partials by window start; owned by the task thread. */
    private transient TreeMap<Long, A> open;
    private transient ListState<Tuple2<Long, A>> checkpointed;
    private transient long watermark;
    private transient boolean idle;
    /** Whether a flush of the items that came while idle is scheduled; owned by the task thread, as are the timers. */
    private transient boolean idleFlushScheduled;

    /**
     * @param size            the window size of the {@code windowAll} downstream (tumbling, no offset)
     * @param aggregate       adds one item to an accumulator (its {@code createAccumulator} makes an empty one)
     * @param accumulatorType how the partials are serialised, in checkpoints and between operators
     */
    public WindowPreAggregator(Duration size, AggregateFunction<IN, A, A> aggregate, TypeInformation<A> accumulatorType) {
        this.sizeMs = size.toMillis();
        this.aggregate = aggregate;
        this.accumulatorType = accumulatorType;
    }

    @Override
    public void initializeState(StateInitializationContext context) throws Exception {
        super.initializeState(context);
        open = new TreeMap<>();
        watermark = Long.MIN_VALUE;
        checkpointed = context.getOperatorStateStore().getListState(new ListStateDescriptor<>("open-partials",
                new TupleTypeInfo<>(BasicTypeInfo.LONG_TYPE_INFO, accumulatorType)));
        A current = aggregate.createAccumulator();
        for (Tuple2<Long, A> partial : checkpointed.get()) {
            // a savepoint of another bundle or other settings: keep only the current configuration's figures
            if (PartialsMerge.ofCurrentConfiguration(current, partial.f1)) {
                open.merge(partial.f0, partial.f1, MergeableStats::merge); // after rescaling, a window may come twice
            }
        }
    }

    @Override
    public void snapshotState(StateSnapshotContext context) throws Exception {
        super.snapshotState(context);
        List<Tuple2<Long, A>> partials = new ArrayList<>(open.size());
        for (Map.Entry<Long, A> e : open.entrySet()) {
            partials.add(Tuple2.of(e.getKey(), e.getValue()));
        }
        checkpointed.update(partials); // the operator state backend copies them before this thread goes on
    }

    @Override
    public void processElement(StreamRecord<IN> element) {
        if (!element.hasTimestamp()) {
            // as Flink's event-time window assigners refuse it: the sources stamp every image event
            throw new IllegalStateException("an item without event time reached the window pre-aggregation");
        }
        long start = TimeWindow.getWindowStartWithOffset(element.getTimestamp(), 0, sizeMs);
        if (lastMs(start) <= watermark) {
            // already sent on: this item alone, for the windowAll to merge or count late
            send(start, aggregate.add(element.getValue(), aggregate.createAccumulator()));
            return;
        }
        open.put(start, aggregate.add(element.getValue(), open.computeIfAbsent(start, s -> aggregate.createAccumulator())));
        if (idle && !idleFlushScheduled) {
            idleFlushScheduled = true;
            ProcessingTimeService time = getProcessingTimeService();
            time.registerTimer(time.getCurrentProcessingTime() + IDLE_FLUSH_MS, t -> {
                idleFlushScheduled = false;
                if (idle) {
                    sendOpen();
                }
            });
        }
    }

    @Override
    public void processWatermark(Watermark mark) throws Exception {
        watermark = Math.max(watermark, mark.getTimestamp());
        Iterator<Map.Entry<Long, A>> it = open.entrySet().iterator();
        while (it.hasNext()) {
            Map.Entry<Long, A> e = it.next();
            if (lastMs(e.getKey()) > watermark) {
                break; // ordered by start: the rest are still open
            }
            send(e.getKey(), e.getValue());
            it.remove();
        }
        super.processWatermark(mark);
    }

    @Override
    public void processWatermarkStatus(WatermarkStatus status) throws Exception {
        // Either way what is open goes on first: on idle, the windowAll stops waiting for this subtask; on active,
        // these are the items that came while idle.
        if (status.isIdle() != idle) {
            sendOpen();
        }
        idle = status.isIdle();
        super.processWatermarkStatus(status);
    }

    private void sendOpen() {
        open.forEach(this::send);
        open.clear();
    }

    /** The last millisecond of the window starting at {@code start}: the windowAll puts a partial stamped so in it. */
    private long lastMs(long start) {
        return start + sizeMs - 1;
    }

    private void send(long start, A partial) {
        output.collect(new StreamRecord<>(partial, lastMs(start)));
    }
}
