package e3stream.pipeline.internal.control;

import org.apache.flink.annotation.Internal;

/**
 * What one model selector subtask made of a roster the control function broadcast: whether it switched to it (its
 * bundles verified and opened there) or kept the roster it uses, and why. A Flink POJO.
 */
@Internal
public class SubtaskReport {
    /** The roster's {@link ControlAnswers#rosterKey key}: its baseline and revision. */
    public String rosterKey;
    public int subtask;
    /** How many selector subtasks report on each roster. */
    public int subtasks;
    public boolean switched;
    /** The revision the subtask scores with after the roster (the roster's own when it switched). */
    public long revisionInUse;
    /** Why it kept the roster it uses; null when it switched. */
    public String reason;

    public SubtaskReport() {
    }

    public SubtaskReport(String rosterKey, int subtask, int subtasks, boolean switched, long revisionInUse,
                         String reason) {
        this.rosterKey = rosterKey;
        this.subtask = subtask;
        this.subtasks = subtasks;
        this.switched = switched;
        this.revisionInUse = revisionInUse;
        this.reason = reason;
    }
}
