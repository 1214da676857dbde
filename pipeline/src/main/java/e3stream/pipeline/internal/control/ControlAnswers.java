package e3stream.pipeline.internal.control;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;
import java.util.stream.Collectors;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import e3stream.pipeline.internal.events.Json;
import e3stream.pipeline.internal.events.OutputRecord;
import e3stream.runtime.session.ModelCommand;
import e3stream.runtime.session.ModelRoster;
import org.apache.flink.annotation.Internal;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.MapState;
import org.apache.flink.api.common.state.MapStateDescriptor;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.streaming.api.functions.co.KeyedCoProcessFunction;
import org.apache.flink.util.Collector;

/**
 * Answers a command that changed the roster once every model selector subtask has reported on the new roster
 * ({@link ModelSelector}): {@code status} {@code applied} when every subtask switched to it, {@code partial} when
 * one or more kept the models they use (each listed in {@code kept} with the revision it scores with, and the first
 * one's reason in {@code reason}). Keyed by the roster ({@link #rosterKey}); the held answer and the reports are
 * keyed state, so a restore loses neither.
 */
@Internal
public final class ControlAnswers extends KeyedCoProcessFunction<String, PendingAnswer, SubtaskReport, OutputRecord> {

    private static final long serialVersionUID = 1L;

    /** At most this many subtasks are listed in {@code kept} (the answer stays small however wide the job is). */
    public static final int MAX_KEPT_LISTED = 64;

    /** How long reports wait for an answer that never comes (replayed after a restore) before they are dropped. */
    private static final long ORPHAN_REPORT_MS = 3_600_000;

    private transient ValueState<PendingAnswer> pending;
    private transient MapState<Integer, SubtaskReport> reports;

    /** The key of a roster here: its configuration's fingerprint and its revision. */
    public static String rosterKey(ModelRoster roster) {
        return roster.baseline() + "#" + roster.revision();
    }

    @Override
    public void open(OpenContext context) {
        pending = getRuntimeContext().getState(new ValueStateDescriptor<>("pending-answer",
                TypeInformation.of(PendingAnswer.class)));
        reports = getRuntimeContext().getMapState(new MapStateDescriptor<>("subtask-reports", Types.INT,
                TypeInformation.of(SubtaskReport.class)));
    }

    @Override
    public void processElement1(PendingAnswer answer, Context context, Collector<OutputRecord> out) throws Exception {
        pending.update(answer);
        answerWhenAllReported(out);
    }

    @Override
    public void processElement2(SubtaskReport report, Context context, Collector<OutputRecord> out)
            throws Exception {
        reports.put(report.subtask, report);
        if (pending.value() == null) {
            context.timerService().registerProcessingTimeTimer(
                    context.timerService().currentProcessingTime() + ORPHAN_REPORT_MS);
        }
        answerWhenAllReported(out);
    }

    @Override
    public void onTimer(long timestamp, OnTimerContext context, Collector<OutputRecord> out) throws Exception {
        if (pending.value() == null) {
            reports.clear();
        }
    }

    private void answerWhenAllReported(Collector<OutputRecord> out) throws Exception {
        PendingAnswer answer = pending.value();
        if (answer == null) {
            return;
        }
        TreeMap<Integer, SubtaskReport> bySubtask = new TreeMap<>();
        int subtasks = 0;
        for (SubtaskReport r : reports.values()) {
            bySubtask.put(r.subtask, r);
            subtasks = Math.max(subtasks, r.subtasks);
        }
        if (subtasks == 0 || bySubtask.headMap(subtasks).size() < subtasks) {
            return;
        }
        out.collect(complete(answer.answer, new ArrayList<>(bySubtask.headMap(subtasks).values())));
        pending.clear();
        reports.clear();
    }

    /** The held answer with what the subtasks made of the roster. */
    public static OutputRecord complete(OutputRecord held, List<SubtaskReport> reports) throws IOException {
        ObjectNode node = (ObjectNode) Json.MAPPER.readTree(held.value);
        List<SubtaskReport> kept = reports.stream().filter(r -> !r.switched).collect(Collectors.toList());
        node.put("subtasks", reports.size());
        ArrayNode keptNode = node.putArray("kept");
        for (SubtaskReport r : kept.subList(0, Math.min(kept.size(), MAX_KEPT_LISTED))) {
            keptNode.addObject().put("subtask", r.subtask).put("revision", r.revisionInUse);
        }
        if (!kept.isEmpty()) {
            String reason = kept.size() + " of " + reports.size() + " inference subtasks kept the models they use "
                    + "(listed in kept); subtask " + kept.get(0).subtask + ": " + kept.get(0).reason;
            node.put("status", "partial");
            node.put("reason", ModelCommand.cut(reason, ModelControlFunction.MAX_REASON_LENGTH));
            node.put("truncated", node.path("truncated").asBoolean()
                    || reason.length() > ModelControlFunction.MAX_REASON_LENGTH
                    || kept.size() > MAX_KEPT_LISTED);
        }
        OutputRecord answer = new OutputRecord();
        answer.topic = held.topic;
        answer.key = held.key;
        answer.value = Json.bytes(node);
        answer.timestamp = held.timestamp;
        return answer;
    }
}
