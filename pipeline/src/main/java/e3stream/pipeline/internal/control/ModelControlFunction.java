package e3stream.pipeline.internal.control;

import com.fasterxml.jackson.databind.node.ObjectNode;
import e3stream.pipeline.internal.events.Json;
import e3stream.pipeline.internal.events.OutputRecord;
import e3stream.pipeline.internal.events.RawRecord;
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
 * under one key, so one subtask decides them all): each command gets one answer on {@code control-results}
 * ({@link #RESULTS}); an applied command that changes the roster sends the new roster on, to be broadcast to every
 * model selector. The roster is keyed state, so a restart from a checkpoint keeps the models it chose; a command
 * replayed after a restore is decided again from the restored roster, with the same answer.
 *
 * <p>A command that is not valid JSON, or names a bundle that fails verification (missing, sha256 of model.onnx
 * not the one model.json records, other classes or input than the active bundle), is refused with the reason and
 * changes nothing. Bundles are loaded where this subtask runs: name them by a path every TaskManager sees.
 */
@Internal
public final class ModelControlFunction extends KeyedProcessFunction<Integer, RawRecord, ModelRoster> {

    private static final long serialVersionUID = 1L;
    private static final Logger LOG = LoggerFactory.getLogger(ModelControlFunction.class);

    /** The answers, one per command. */
    public static final OutputTag<OutputRecord> RESULTS = new OutputTag<>("control-results") { };

    private final ModelRoster configured;
    private final String resultsTopic;
    private transient ValueState<ModelRoster> roster;

    public ModelControlFunction(ModelRoster configured, String resultsTopic) {
        this.configured = configured;
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
        ModelRoster.Change change;
        try {
            command = ModelCommand.parse(record.value);
            change = before.apply(command, ModelRoster::load);
        } catch (IllegalArgumentException e) {
            change = new ModelRoster.Change(before, false, "invalid command: " + e.getMessage());
        }
        ModelRoster after = change.roster();
        if (after != before) {
            roster.update(after);
            out.collect(after);
        }
        if (change.applied()) {
            LOG.info("model command {} at {}/{}: applied, now {}", command.kind().json(), record.partition,
                    record.offset, after);
        } else {
            LOG.warn("model command at {}/{} refused: {}", record.partition, record.offset, change.reason());
        }
        context.output(RESULTS, answer(record, command, change));
    }

    private OutputRecord answer(RawRecord record, ModelCommand command, ModelRoster.Change change) {
        ObjectNode node = Json.object();
        String id = command != null ? command.id() : null;
        node.put("command_id", id);
        node.put("command", command != null ? command.kind().json() : null);
        node.put("status", change.applied() ? "applied" : "refused");
        node.put("reason", change.reason());
        change.roster().writeTo(node);
        ObjectNode source = node.putObject("source");
        source.put("topic", record.topic);
        source.put("partition", record.partition);
        source.put("offset", record.offset);
        node.put("timestamp", record.timestamp);
        String key = id != null ? id : "control-" + record.partition + "-" + record.offset;
        return new OutputRecord(resultsTopic, key, Json.bytes(node), record.timestamp);
    }
}
