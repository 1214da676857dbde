package e3stream.runtime.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import e3stream.runtime.testutils.RepoFiles;
import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BundleManifestTest {
    private static final ObjectMapper MAPPER = new ObjectMapper();

    private static ObjectNode shippedJson() throws IOException {
        return (ObjectNode) MAPPER.readTree(RepoFiles.bundle("e3").resolve("model.json").toFile());
    }

    @Test
    void exposesEverySectionOfTheShippedManifest() throws IOException {
        ObjectNode json = shippedJson();
        BundleManifest m = BundleManifest.fromJson(json, "e3/model.json");
        assertEquals(json.get("version").asText(), m.version());
        assertEquals(json.get("temperature").asDouble(), m.temperature());
        assertEquals(json.get("flops_per_image").asLong(), m.flopsPerImage());
        assertEquals(json.get("triage"), m.triageJson());
        assertEquals(json.get("reference"), m.referenceJson());
        assertEquals(json.get("metrics"), m.metricsJson());
        assertEquals(json.get("architecture").get("moe_layers").get(0).asInt(), m.architecture().moeLayers().get(0));
        assertEquals(json.get("input").get("mean").get(0).asDouble(), m.input().mean(0));
        assertEquals("member_logits", m.outputName());
    }

    @Test
    void sectionsHandedOutCannotChangeTheManifest() throws IOException {
        BundleManifest m = BundleManifest.fromJson(shippedJson(), "e3/model.json");
        JsonNode before = m.triageJson();
        ((ObjectNode) m.triageJson()).put("min_confidence", -1);
        m.input().mean()[0] = 99;
        assertEquals(before, m.triageJson());
        assertTrue(m.input().mean(0) < 1);
    }

    @Test
    void rejectsClassNamesThatDisagreeWithTheArchitecture() throws IOException {
        ObjectNode json = shippedJson();
        ((ArrayNode) json.get("classes")).remove(0);
        BundleException e = assertThrows(BundleException.class, () -> BundleManifest.fromJson(json, "x/model.json"));
        assertTrue(e.getMessage().startsWith("x/model.json is invalid: classes has 9 names but "
                + "architecture.num_classes is 10"), e.getMessage());
    }

    @Test
    void rejectsAnUnknownKindAndANonPositiveTemperature() throws IOException {
        ObjectNode kind = shippedJson();
        ((ObjectNode) kind.get("architecture")).put("kind", "resnet");
        BundleException e = assertThrows(BundleException.class, () -> BundleManifest.fromJson(kind, "m"));
        assertTrue(e.getMessage().contains("architecture.kind 'resnet' is unknown, expected one of [e3, vmoe, vit, "
                + "deep_ensemble]"), e.getMessage());
        ObjectNode temperature = shippedJson();
        temperature.put("temperature", 0.0);
        BundleException t = assertThrows(BundleException.class, () -> BundleManifest.fromJson(temperature, "m"));
        assertTrue(t.getMessage().contains("temperature must be a finite number > 0, got 0.0"), t.getMessage());
    }

    @Test
    void calibrationReplacesTemperatureAndTriageOnly(@TempDir Path temp) throws IOException {
        ObjectNode json = shippedJson();
        BundleManifest m = BundleManifest.fromJson(json, "e3/model.json");
        ObjectNode triage = MAPPER.createObjectNode().put("min_confidence", 0.5);
        BundleManifest calibrated = m.withCalibration(1.5, triage);
        assertEquals(1.5, calibrated.temperature());
        assertEquals(triage, calibrated.triageJson());
        ObjectNode expected = json.deepCopy();
        expected.put("temperature", 1.5);
        expected.set("triage", triage);
        assertEquals(expected, calibrated.toJson());
        Path file = temp.resolve("model.json");
        calibrated.write(file);
        assertEquals(expected, MAPPER.readTree(file.toFile()));
        assertEquals(m.sha256(), BundleManifest.read(file).sha256());
    }
}
