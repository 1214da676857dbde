package e3stream.pipeline.internal.control;

import e3stream.pipeline.internal.events.OutputRecord;
import org.apache.flink.annotation.Internal;

/**
 * The answer to a command that changed the roster, held back until every model selector subtask has reported on
 * the new roster ({@link ControlAnswers}). A Flink POJO.
 */
@Internal
public class PendingAnswer {
    /** The new roster's {@link ControlAnswers#rosterKey key}. */
    public String rosterKey;
    /** The answer as the control function wrote it: {@code status} applied, the roster after the command. */
    public OutputRecord answer;

    public PendingAnswer() {
    }

    PendingAnswer(String rosterKey, OutputRecord answer) {
        this.rosterKey = rosterKey;
        this.answer = answer;
    }
}
