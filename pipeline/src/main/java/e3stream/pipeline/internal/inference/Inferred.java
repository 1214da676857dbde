package e3stream.pipeline.internal.inference;

import e3stream.pipeline.internal.events.Prediction;
import org.apache.flink.annotation.Internal;

/**
 * What the active model's {@link ScoringFunction} emits for one image: the active model's prediction and, when the event is one the
 * shadow model scores, the decoded image for it ({@link ActiveOutput} splits the two). A Flink POJO.
 */
@Internal
public class Inferred {
    public Prediction prediction;
    /** The image, for the shadow model; null when there is no shadow or the event is not in its share. */
    public DecodedImage shadowInput;

    public Inferred() {
    }

    public Inferred(Prediction prediction, DecodedImage shadowInput) {
        this.prediction = prediction;
        this.shadowInput = shadowInput;
    }
}
