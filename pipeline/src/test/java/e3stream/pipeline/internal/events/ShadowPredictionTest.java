package e3stream.pipeline.internal.events;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import e3stream.pipeline.testutils.SchemaCheck;
import org.junit.jupiter.api.Test;

/** The shadow topic's record: the shadow model's prediction record plus the active model's decision beside it. */
class ShadowPredictionTest {

    private static Prediction prediction(String model, int cls, double confidence, boolean accepted) {
        Prediction p = new Prediction();
        p.id = "img-1";
        p.timestamp = 1_700_000_000_000L;
        p.modelName = model;
        p.modelVersion = "1.0.0";
        p.modelSha256 = "ab".repeat(32);
        p.modelTrainingCommit = null;
        p.classIndex = cls;
        p.label = "class-" + cls;
        p.confidence = confidence;
        p.probabilities = new double[] {1 - confidence, confidence};
        p.predictionSet = new int[] {cls};
        p.accepted = accepted;
        p.reasons = accepted ? new String[0] : new String[] {"low_confidence"};
        p.latencyMs = 3.5;
        return p;
    }

    @Test
    void isTheShadowsPredictionRecordWithTheActiveDecisionBesideIt() throws Exception {
        Prediction shadow = prediction("de-vmoe", 1, 0.7, false);
        Prediction active = prediction("e3", 0, 0.9, true);
        JsonNode record = new ObjectMapper().readTree(new ShadowPrediction(shadow, active).toJson());
        assertEquals(List.of(), SchemaCheck.violations("shadow-record", record));
        assertEquals("de-vmoe", record.get("model").get("name").asText());
        assertEquals("review", record.get("decision").asText());
        JsonNode a = record.get("active");
        assertEquals("e3", a.get("model").get("name").asText());
        assertEquals("ab".repeat(32), a.get("model").get("sha256").asText());
        assertEquals(0, a.get("class_index").asInt());
        assertEquals("accept", a.get("decision").asText());
        assertEquals(0.9, a.get("confidence").asDouble(), 0.0);

        ObjectNode withoutActive = ((ObjectNode) record).deepCopy();
        withoutActive.remove("active");
        assertEquals(new ObjectMapper().readTree(shadow.toJson()), withoutActive, "the rest is the prediction record");
        assertEquals(List.of(), SchemaCheck.violations("prediction-event", withoutActive));
    }

    @Test
    void theShadowSchemaHasEveryFieldOfThePredictionSchema() {
        JsonNode prediction = SchemaCheck.schema("prediction-event");
        JsonNode shadow = SchemaCheck.schema("shadow-record");
        List<String> missing = new ArrayList<>();
        prediction.get("properties").fieldNames().forEachRemaining(f -> {
            if (!shadow.get("properties").has(f)) {
                missing.add(f);
            }
        });
        List<String> required = new ArrayList<>();
        shadow.get("required").forEach(f -> required.add(f.asText()));
        prediction.get("required").forEach(f -> {
            if (!required.contains(f.asText())) {
                missing.add("required " + f.asText());
            }
        });
        assertEquals(List.of(), missing);
    }

    @Test
    void aShadowRecordWithoutTheActiveDecisionBreaksTheSchema() throws Exception {
        ObjectNode record = (ObjectNode) new ObjectMapper().readTree(new ShadowPrediction(
                prediction("de-vmoe", 1, 0.7, false), prediction("e3", 0, 0.9, true)).toJson());
        record.remove("active");
        assertEquals(List.of("$ lacks required field active"), SchemaCheck.violations("shadow-record", record));
    }
}
