package e3stream.pipeline.internal.control;

import com.fasterxml.jackson.databind.node.ObjectNode;
import e3stream.pipeline.internal.events.Json;
import e3stream.pipeline.internal.events.OutputRecord;
import e3stream.pipeline.internal.events.RawRecord;
import e3stream.runtime.session.BundleRoot;
import e3stream.runtime.session.ModelCommand;
import e3stream.runtime.session.ModelRoster;
import org.apache.flink.annotation.Internal;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Applies the {@code control} topic's commands to the model roster, in the order they were written (all commands
 * under one key, so one subtask decides them all): each command gets one answer on {@code control-results}. An
 * applied command that changes the roster sends the new roster on, to be broadcast to every {@link ModelSelector}
 * subtask, and its answer waits ({@link #PENDING}) until each has said whether it switched ({@link ControlAnswers});
 * every other answer goes out at once ({@link #RESULTS}). The roster is keyed state, so a restart from a checkpoint
 * keeps the models it chose; a command replayed after a restore is decided again from the restored roster, with the
 * same answer.
 *
 * <p>A command that is not valid JSON, or names a bundle that fails verification (outside {@code model.bundle-root}
 * once links and {@code ..} are resolved, missing, not a bundle, sha256 of model.onnx not the one model.json records,
 * not the command's {@code bundle_sha256}, not opened by ONNX Runtime, other classes or input than the active
 * bundle), is refused with the reason and changes nothing: a new roster is broadcast only for a bundle this subtask
 * opened (and each selector subtask uses it only once it opened it too). No record fails the task, and every answer is
 * bounded: the echoed {@code command_id} and {@code bundle} are cut to {@link ModelCommand#MAX_ID_LENGTH} and
 * {@link ModelCommand#MAX_BUNDLE_LENGTH} characters, the reason to {@link #MAX_REASON_LENGTH}, and {@code truncated}
 * says whether anything was cut. Bundles are loaded where this subtask runs: name them by a path every TaskManager
 * sees.
 */
@Internal
public final class ModelControlFunction extends KeyedProcessFunction<Integer, RawRecord, ModelRoster> {

    private static final long serialVersionUID = 1L;
    private static final Logger LOG = LoggerFactory.getLogger(ModelControlFunction.class);

    /** The answers, one per command. */
    public static final OutputTag<OutputRecord> RESULTS = new OutputTag<>("control-results") { };

    /** Answers to commands that changed the roster, held until every model selector subtask reported on it. */
    public static final OutputTag<PendingAnswer> PENDING = new OutputTag<>("control-results-pending") { };

    /** Longest reason in an answer. */
    public static final int MAX_REASON_LENGTH = 2048;

    private final ModelRoster configured;
    private final BundleRoot bundleRoot;
    private final String resultsTopic;
    private transient ValueState<ModelRoster> roster;

    public ModelControlFunction(ModelRoster configured, BundleRoot bundleRoot, String resultsTopic) {
        this.configured = configured;
        this.bundleRoot = bundleRoot;
        this.resultsTopic = resultsTopic;
    }

    @Override
    public void open(OpenContext context) {
        roster = getRuntimeContext().getState(new ValueStateDescriptor<>("model-roster",
                TypeInformation.of(ModelRoster.class)));
    }

    @Override
    public void processElement(RawRecord record, Context context, Collector<ModelRoster> out) throws Exception {
        ModelRoster before = ModelRoster.restoredOr(roster.value(), configured);
        ModelCommand command = null;
        Echo echo = new Echo(null, null, false);
        ModelRoster.Change change;
        try {
            command = ModelCommand.parse(record.value);
            echo = new Echo(command.id(), command.bundle(), false);
            change = before.apply(command, bundleRoot::load);
        } catch (ModelCommand.InvalidCommand e) {
            echo = new Echo(e.id(), e.bundle(), e.truncated());
            change = new ModelRoster.Change(before, false, "invalid command: " + e.getMessage());
        } catch (RuntimeException e) {
            // Whatever a command's content makes go wrong is that command's refusal, never a task failure.
            LOG.error("model command at {}/{} could not be decided", record.partition, record.offset, e);
            change = new ModelRoster.Change(before, false, "the command could not be decided ("
                    + e.getClass().getSimpleName() + "); nothing changed");
        }
        ModelRoster after = change.roster();
        if (change.applied()) {
            LOG.info("model command {} at {}/{}: applied, now {}", command.kind().json(), record.partition,
                    record.offset, after);
        } else {
            LOG.warn("model command at {}/{} refused: {}", record.partition, record.offset,
                    ModelCommand.cut(change.reason(), MAX_REASON_LENGTH));
        }
        OutputRecord answer = answer(record, command, echo, change);
        if (after != before) {
            roster.update(after);
            out.collect(after);
            context.output(PENDING, new PendingAnswer(ControlAnswers.rosterKey(after), answer));
        } else {
            context.output(RESULTS, answer);
        }
    }

    /** What of the command its answer echoes, cut to size, and whether anything was cut. */
    private record Echo(String id, String bundle, boolean truncated) {
    }

    private OutputRecord answer(RawRecord record, ModelCommand command, Echo echo, ModelRoster.Change change) {
        ObjectNode node = Json.object();
        String reason = change.reason();
        boolean truncated = echo.truncated() || (reason != null && reason.length() > MAX_REASON_LENGTH);
        node.put("command_id", echo.id());
        node.put("command", command != null ? command.kind().json() : null);
        node.put("bundle", echo.bundle());
        node.put("status", change.applied() ? "applied" : "refused");
        node.put("reason", ModelCommand.cut(reason, MAX_REASON_LENGTH));
        node.put("truncated", truncated);
        change.roster().writeTo(node);
        ObjectNode source = node.putObject("source");
        source.put("topic", record.topic);
        source.put("partition", record.partition);
        source.put("offset", record.offset);
        node.put("timestamp", record.timestamp);
        String key = echo.id() != null ? echo.id() : "control-" + record.partition + "-" + record.offset;
        return new OutputRecord(resultsTopic, key, Json.bytes(node), record.timestamp);
    }
}
