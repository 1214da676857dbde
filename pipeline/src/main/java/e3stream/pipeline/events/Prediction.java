package e3stream.pipeline.events;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * A scored image: the prediction event of shared/DESIGN.md section 3 (schemas/prediction-event.schema.json) plus
 * the event time. A Flink POJO; treat as immutable.
 */
public class Prediction {
    public String id;
    /** Event time (ms). */
    public long timestamp;
    public String modelName;
    public String modelVersion;
    public int classIndex;
    public String label;
    public double confidence;
    public double[] probabilities;
    public double entropy;
    public double expectedEntropy;
    public double mutualInformation;
    public double memberDisagreement;
    public int[] predictionSet;
    /** True for "accept", false for "review". */
    public boolean accepted;
    public String[] reasons;
    /** Time from reading the image record to the decision (ms). */
    public double latencyMs;

    public Prediction() {
    }

    public String decision() {
        return accepted ? "accept" : "review";
    }

    /** The JSON value written to {@code predictions} or {@code review}. */
    public byte[] toJson() {
        ObjectNode node = Json.object();
        node.put("id", id);
        node.put("timestamp", timestamp);
        ObjectNode model = node.putObject("model");
        model.put("name", modelName);
        model.put("version", modelVersion);
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
        return Json.bytes(node);
    }
}
