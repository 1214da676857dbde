package e3stream.pipeline.internal.control;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

import e3stream.pipeline.internal.inference.DecodedImage;
import e3stream.pipeline.internal.inference.ModelChoice;
import e3stream.runtime.session.ModelRoster;
import e3stream.runtime.session.PreparedRoster;
import e3stream.runtime.session.SessionSpec;
import e3stream.runtime.session.SharedSessions;
import org.apache.flink.annotation.Internal;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.runtime.state.StateInitializationContext;
import org.apache.flink.runtime.state.StateSnapshotContext;
import org.apache.flink.streaming.api.operators.AbstractStreamOperator;
import org.apache.flink.streaming.api.operators.TwoInputStreamOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.util.OutputTag;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Stamps each image with the models that score it ({@link ModelChoice}), in the task of the active model's scoring
 * (chained to it), from the rosters the control function broadcasts. A subtask switches to a roster only once it has
 * verified and opened the roster's bundles itself ({@link PreparedRoster}, on a thread of its own, so no image waits
 * on a bundle that is loading or cannot open); until then, and for good when they cannot be opened here within
 * {@code model.open-timeout}, its images go on to the roster it uses. Each subtask reports on every roster
 * ({@link #REPORTS}): {@link ControlAnswers} answers the command once all have.
 *
 * <p>A switch takes effect between two images: every image before it in the subtask's input (one or more Kafka
 * partitions, in offset order) is scored as before, every image after it by the new roster's models; the
 * predictions' {@code control_revision} shows which. The roster in use and the rosters not yet decided are operator
 * state, so after a restore the images go on to the models chosen before and undecided rosters are prepared again.
 */
@Internal
public final class ModelSelector extends AbstractStreamOperator<DecodedImage>
        implements TwoInputStreamOperator<DecodedImage, ModelRoster, DecodedImage> {

    private static final long serialVersionUID = 1L;
    private static final Logger LOG = LoggerFactory.getLogger(ModelSelector.class);

    /** One report per subtask and roster. */
    public static final OutputTag<SubtaskReport> REPORTS = new OutputTag<>("model-selector-reports") { };

    /** How often the task thread looks whether a roster's preparation has ended. */
    private static final long POLL_MS = 20;

    private final ModelRoster configured;
    private final SessionSpec activeSpec;
    private final SessionSpec shadowSpec;
    private final long prepareTimeoutMs;

    private transient ListState<SelectorState> state;
    private transient ModelRoster inUse;
    /** The sessions of the roster in use, held while it is used; null for a roster this subtask did not prepare. */
    private transient PreparedRoster inUseSessions;
    private transient ModelChoice choice;
    private transient ArrayDeque<ModelRoster> waiting;
    private transient ModelRoster preparing;
    private transient CompletableFuture<Prepared> preparation;
    private transient long preparingSinceMs;
    private transient ExecutorService preparer;

    /**
     * @param activeSpec     the active model scoring's session spec (device and batching of a commanded active model)
     * @param shadowSpec     the shadow model scoring's session spec
     * @param prepareTimeout how long a roster's bundles may take to open here before the subtask keeps its roster
     */
    public ModelSelector(ModelRoster configured, SessionSpec activeSpec, SessionSpec shadowSpec,
                         Duration prepareTimeout) {
        this.configured = configured;
        this.activeSpec = activeSpec;
        this.shadowSpec = shadowSpec;
        this.prepareTimeoutMs = prepareTimeout.toMillis();
    }

    /** What a subtask checkpoints: the roster it uses and the ones it has not decided yet. A Flink POJO. */
    public static class SelectorState {
        public int subtask;
        public ModelRoster inUse;
        public ArrayList<ModelRoster> undecided;

        public SelectorState() {
        }

        SelectorState(int subtask, ModelRoster inUse, ArrayList<ModelRoster> undecided) {
            this.subtask = subtask;
            this.inUse = inUse;
            this.undecided = undecided;
        }

        long lastRevision() {
            return undecided.isEmpty() ? inUse.revision() : undecided.get(undecided.size() - 1).revision();
        }
    }

    @Override
    public void initializeState(StateInitializationContext context) throws Exception {
        super.initializeState(context);
        // Union state: after a rescale a new subtask starts from the state of the one that knew the most.
        state = context.getOperatorStateStore().getUnionListState(
                new ListStateDescriptor<>("model-selector", TypeInformation.of(SelectorState.class)));
        inUse = configured;
        waiting = new ArrayDeque<>();
        SelectorState restored = null;
        for (SelectorState s : state.get()) {
            if (s.subtask == subtask()) {
                restored = s;
                break;
            }
            if (restored == null || s.lastRevision() > restored.lastRevision()) {
                restored = s;
            }
        }
        if (restored != null) {
            inUse = ModelRoster.restoredOr(restored.inUse, configured);
            for (ModelRoster roster : restored.undecided) {
                if (inUse.isSucceededBy(roster)) {
                    waiting.add(roster);
                }
            }
        }
    }

    @Override
    public void open() throws Exception {
        super.open();
        preparer = Executors.newSingleThreadExecutor(runnable -> {
            Thread thread = new Thread(runnable, "e3-model-selector-" + subtask());
            thread.setDaemon(true);
            return thread;
        });
        use(inUse, null);
        prepareNext();
    }

    @Override
    public void processElement1(StreamRecord<DecodedImage> record) {
        record.getValue().choice = choice;
        output.collect(record);
    }

    @Override
    public void processElement2(StreamRecord<ModelRoster> record) {
        ModelRoster roster = record.getValue();
        ModelRoster latest = !waiting.isEmpty() ? waiting.peekLast() : preparing != null ? preparing : inUse;
        if (!latest.isSucceededBy(roster)) {
            // Replayed from before a restore: decided here already.
            boolean using = inUse.baseline().equals(roster.baseline()) && inUse.revision() >= roster.revision();
            report(roster, using, using ? null : "this subtask went on from revision " + latest.revision()
                    + " already");
            return;
        }
        waiting.add(roster);
        prepareNext();
    }

    private void prepareNext() {
        if (preparation != null || waiting.isEmpty()) {
            return;
        }
        ModelRoster roster = waiting.poll();
        preparing = roster;
        preparingSinceMs = getProcessingTimeService().getCurrentProcessingTime();
        preparation = CompletableFuture.supplyAsync(() -> new Prepared(
                PreparedRoster.prepare(SharedSessions.jvm(), activeSpec, shadowSpec, roster),
                getProcessingTimeService().getCurrentProcessingTime()), preparer);
        lookAgainLater();
    }

    /** A roster's sessions and when they were ready. */
    private record Prepared(PreparedRoster sessions, long readyAtMs) {
    }

    private void lookAgainLater() {
        long now = getProcessingTimeService().getCurrentProcessingTime();
        getProcessingTimeService().registerTimer(now + POLL_MS, time -> lookAtPreparation());
    }

    private void lookAtPreparation() {
        if (preparation == null) {
            return;
        }
        ModelRoster roster = preparing;
        CompletableFuture<Prepared> done = preparation;
        String late = "its bundles did not open here within model.open-timeout (" + prepareTimeoutMs + " ms)";
        if (!done.isDone()) {
            if (getProcessingTimeService().getCurrentProcessingTime() - preparingSinceMs <= prepareTimeoutMs) {
                lookAgainLater();
                return;
            }
            done.thenAccept(ready -> ready.sessions().close()); // let go of them whenever they do open
            decided(roster, null, late);
            return;
        }
        Prepared ready;
        try {
            ready = done.join();
        } catch (CompletionException e) {
            Throwable cause = e.getCause() != null ? e.getCause() : e;
            decided(roster, null, cause.getClass().getSimpleName() + ": " + cause.getMessage());
            return;
        }
        if (ready.readyAtMs() - preparingSinceMs > prepareTimeoutMs) {
            ready.sessions().close();
            decided(roster, null, late);
        } else {
            decided(roster, ready.sessions(), null);
        }
    }

    private void decided(ModelRoster roster, PreparedRoster sessions, String whyNot) {
        preparation = null;
        preparing = null;
        if (sessions != null) {
            use(roster, sessions);
            report(roster, true, null);
        } else {
            LOG.warn("subtask {}: keeps {}; the control function's {} cannot be used here: {}", subtask(), inUse,
                    roster, whyNot);
            report(roster, false, whyNot);
        }
        prepareNext();
    }

    private void use(ModelRoster roster, PreparedRoster sessions) {
        if (inUseSessions != null) {
            inUseSessions.close(); // the scoring operators hold their own leases while they still need the models
        }
        LOG.info("subtask {}: images are scored by {}", subtask(), roster);
        inUse = roster;
        inUseSessions = sessions;
        choice = ModelChoice.of(roster);
    }

    private void report(ModelRoster roster, boolean switched, String reason) {
        output.collect(REPORTS, new StreamRecord<>(new SubtaskReport(ControlAnswers.rosterKey(roster), subtask(),
                getRuntimeContext().getTaskInfo().getNumberOfParallelSubtasks(), switched, inUse.revision(),
                reason)));
    }

    @Override
    public void snapshotState(StateSnapshotContext context) throws Exception {
        super.snapshotState(context);
        ArrayList<ModelRoster> undecided = new ArrayList<>();
        if (preparing != null) {
            undecided.add(preparing);
        }
        undecided.addAll(waiting);
        state.update(List.of(new SelectorState(subtask(), inUse, undecided)));
    }

    private int subtask() {
        return getRuntimeContext().getTaskInfo().getIndexOfThisSubtask();
    }

    @Override
    public void close() throws Exception {
        if (preparation != null) {
            preparation.thenAccept(ready -> ready.sessions().close());
            preparation = null;
        }
        if (preparer != null) {
            preparer.shutdown();
        }
        if (inUseSessions != null) {
            inUseSessions.close();
            inUseSessions = null;
        }
        super.close();
    }
}
