package e3stream.pipeline.internal.events;

import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.flink.annotation.Internal;

/**
 * A shadow model's result for one event, with the active model's prediction of the same event: the record of the
 * {@code shadow} topic (schemas/shadow-record.schema.json). A Flink POJO; treat as immutable.
 */
@Internal
public class ShadowPrediction {
    /** The shadow model's prediction (its {@code model} is the shadow bundle); it decided nothing. */
    public Prediction shadow;
    /** The active model's prediction, which decided the event. */
    public Prediction active;

    public ShadowPrediction() {
    }

    public ShadowPrediction(Prediction shadow, Prediction active) {
        this.shadow = shadow;
        this.active = active;
    }

    /**
     * The shadow model's prediction record ({@link Prediction#toJson()}: what it would have written had it decided)
     * plus {@code active}: the deciding model's {@code model} provenance, {@code class_index}, {@code decision} and
     * {@code confidence}.
     */
    public byte[] toJson() {
        ObjectNode node = shadow.toJsonNode();
        ObjectNode a = node.putObject("active");
        ObjectNode model = a.putObject("model");
        model.put("name", active.modelName);
        model.put("version", active.modelVersion);
        model.put("sha256", active.modelSha256);
        model.put("training_commit", active.modelTrainingCommit);
        a.put("class_index", active.classIndex);
        a.put("decision", active.decision());
        a.put("confidence", active.confidence);
        return Json.bytes(node);
    }
}
