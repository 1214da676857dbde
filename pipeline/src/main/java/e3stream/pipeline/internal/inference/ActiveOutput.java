package e3stream.pipeline.internal.inference;

import e3stream.pipeline.internal.events.Prediction;
import org.apache.flink.annotation.Internal;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;

/**
 * Splits the active model's {@link ScoringFunction} output: the active prediction goes on at once (to the decision, the windows and
 * the label join, without the image), and an event the shadow model scores goes, with its image, to the side output
 * {@link #SHADOW_REQUESTS}, so the decision never waits for the shadow.
 */
@Internal
public final class ActiveOutput extends ProcessFunction<Inferred, Prediction> {

    private static final long serialVersionUID = 1L;

    /** Events for the shadow model: the active prediction and the image. */
    public static final OutputTag<Inferred> SHADOW_REQUESTS = new OutputTag<>("shadow-requests") { };

    @Override
    public void processElement(Inferred in, Context context, Collector<Prediction> out) {
        out.collect(in.prediction);
        if (in.shadowInput != null) {
            context.output(SHADOW_REQUESTS, in);
        }
    }
}
