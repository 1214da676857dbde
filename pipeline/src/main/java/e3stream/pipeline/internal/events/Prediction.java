package e3stream.pipeline.internal.events;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import e3stream.runtime.session.Scored;
import e3stream.runtime.uncertainty.Uncertainty;
import org.apache.flink.annotation.Internal;

/**
 * A scored image: the prediction event of docs/design.md, "Events and snapshots"
 * (schemas/prediction-event.schema.json) plus the event time. A Flink POJO; treat as immutable.
 */
@Internal
public class Prediction {
    public String id;
    /** Event time (ms). */
    public long timestamp;
    /** Provenance of the model that decided: name, version, sha256 of model.onnx, training commit (may be null). */
    public String modelName;
    public String modelVersion;
    public String modelSha256;
    public String modelTrainingCommit;
    public int classIndex;
    public String label;
    public double confidence;
    public double[] probabilities;
    public double entropy;
    public double expectedEntropy;
    public double mutualInformation;
    public double memberDisagreement;
    /** The bundle's feature log density of the image, or null when the bundle has no density output. */
    public Double featureLogDensity;
    public int[] predictionSet;
    /** True for "accept", false for "review". */
    public boolean accepted;
    public String[] reasons;
    /** Time from reading the image record to the decision (ms). */
    public double latencyMs;
    /**
     * The image event's source as the per-source statistics name it ({@code TopSources.name}); for the windows
     * only, not written to the output record.
     */
    public String source;
    /**
     * With {@code model.control}: the revision of the model roster that chose the deciding model (the answers on
     * {@code control-results} name each revision's models); null without model control.
     */
    public Long controlRevision;
    /** A shadow model's result: which model, for its labelled figures; null on the active model's predictions. */
    public ModelTag shadowOf;

    public Prediction() {
    }

    /** The prediction of a scored image (latency not set). */
    public static Prediction of(String id, long timestamp, Scored scored) {
        Uncertainty u = scored.uncertainty();
        Prediction p = new Prediction();
        p.id = id;
        p.timestamp = timestamp;
        p.modelName = scored.model().name();
        p.modelVersion = scored.model().version();
        p.modelSha256 = scored.model().sha256();
        p.modelTrainingCommit = scored.model().trainingCommit();
        p.classIndex = u.classIndex();
        p.label = scored.label();
        p.confidence = u.confidence();
        p.probabilities = u.probabilities();
        p.entropy = u.entropy();
        p.expectedEntropy = u.expectedEntropy();
        p.mutualInformation = u.mutualInformation();
        p.memberDisagreement = u.memberDisagreement();
        p.featureLogDensity = scored.hasFeatureLogDensity() ? scored.featureLogDensity() : null;
        p.predictionSet = scored.decision().predictionSet();
        p.accepted = scored.accepted();
        p.reasons = scored.decision().reasons().toArray(new String[0]);
        return p;
    }

    public String decision() {
        return accepted ? "accept" : "review";
    }

    /** The JSON value written to {@code predictions} or {@code review}. */
    public byte[] toJson() {
        return Json.bytes(toJsonNode());
    }

    /** {@link #toJson()} as a tree (the shadow record adds to it). */
    public ObjectNode toJsonNode() {
        ObjectNode node = Json.object();
        node.put("id", id);
        node.put("timestamp", timestamp);
        ObjectNode model = node.putObject("model");
        model.put("name", modelName);
        model.put("version", modelVersion);
        model.put("sha256", modelSha256);
        model.put("training_commit", modelTrainingCommit);
        node.put("class_index", classIndex);
        node.put("label", label);
        node.put("confidence", confidence);
        ArrayNode probs = node.putArray("probabilities");
        for (double p : probabilities) {
            probs.add(p);
        }
        node.put("entropy", entropy);
        node.put("expected_entropy", expectedEntropy);
        node.put("mutual_information", mutualInformation);
        node.put("member_disagreement", memberDisagreement);
        node.put("feature_log_density", featureLogDensity);
        ArrayNode set = node.putArray("prediction_set");
        for (int c : predictionSet) {
            set.add(c);
        }
        node.put("decision", decision());
        ArrayNode why = node.putArray("reasons");
        for (String r : reasons) {
            why.add(r);
        }
        node.put("latency_ms", latencyMs);
        if (controlRevision != null) {
            node.put("control_revision", controlRevision);
        }
        return node;
    }
}
