package e3stream.runtime.triage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.Map;
import org.junit.jupiter.api.Test;

class TriageConfigTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    private static JsonNode json(String s) throws Exception {
        return JSON.readTree(s);
    }

    @Test
    void readsTheModelJsonTriageSection() throws Exception {
        TriageConfig c = TriageConfig.fromJson(json("""
                {"min_confidence": 0.9, "max_entropy": null, "max_mutual_information": 0.05,
                 "conformal": {"method": "aps", "alpha": 0.05, "threshold": 0.93}}"""));
        assertEquals(new TriageConfig(0.9, null, 0.05, new ConformalConfig(ConformalMethod.APS, 0.05, 0.93)), c);
        assertEquals(c, TriageConfig.fromJson(c.toJson()), "toJson reads back equal");
        assertEquals("accept if confidence >= 0.9 and mutual_information <= 0.05 and aps set at 0.95 has one class",
                c.describe());
    }

    @Test
    void missingOptionalBoundsMeanNotUsed() throws Exception {
        TriageConfig c = TriageConfig.fromJson(json("{\"min_confidence\": 0.5}"));
        assertNull(c.maxEntropy());
        assertNull(c.maxMutualInformation());
        assertNull(c.conformal());
    }

    @Test
    void refusesTyposMissingThresholdsAndOutOfRangeValues() {
        IllegalArgumentException typo = assertThrows(IllegalArgumentException.class,
                () -> TriageConfig.fromJson(json("{\"min_confidence\": 0.9, \"max_mutual_info\": 0.1}")));
        assertEquals("unknown key \"max_mutual_info\" in triage, expected some of [conformal, max_entropy, "
                + "max_mutual_information, min_confidence, min_feature_log_density]", typo.getMessage()); // + the density rule
        IllegalArgumentException noThreshold = assertThrows(IllegalArgumentException.class,
                () -> TriageConfig.fromJson(json("""
                        {"min_confidence": 0.9, "conformal": {"method": "lac", "alpha": 0.1}}""")));
        assertEquals("triage.conformal.threshold must be a number, got null; run the calibrate command to fit it, "
                + "or set triage.conformal to null", noThreshold.getMessage());
        IllegalArgumentException range = assertThrows(IllegalArgumentException.class,
                () -> TriageConfig.fromJson(json("{\"min_confidence\": 1.5}")));
        assertEquals("triage.min_confidence must be in [0, 1], got 1.5", range.getMessage());
        IllegalArgumentException method = assertThrows(IllegalArgumentException.class,
                () -> TriageConfig.fromJson(json("""
                        {"min_confidence": 0.9, "conformal": {"method": "raps", "alpha": 0.1, "threshold": 0.5}}""")));
        assertEquals("unknown conformal method \"raps\", expected one of [lac, aps]", method.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> TriageConfig.fromJson(json("{\"min_confidence\": 0.9, \"max_entropy\": -1}")));
    }

    @Test
    void overridesReplaceOrSwitchOffRules() {
        TriageConfig base = new TriageConfig(0.9, null, 0.05, new ConformalConfig(ConformalMethod.APS, 0.05, 0.93));
        TriageConfig o = base.withOverrides(Map.of("min_confidence", "0.8", "max_entropy", "1.2",
                "max_mutual_information", "none", "conformal.threshold", "0.9"));
        assertEquals(new TriageConfig(0.8, 1.2, null, new ConformalConfig(ConformalMethod.APS, 0.05, 0.9)), o);
        assertNull(base.withOverrides(Map.of("conformal", "none")).conformal());
        assertEquals(new ConformalConfig(ConformalMethod.LAC, 0.1, 0.8), base.withOverrides(Map.of(
                "conformal.method", "LAC", "conformal.alpha", "0.1", "conformal.threshold", "0.8")).conformal());

        IllegalArgumentException stale = assertThrows(IllegalArgumentException.class,
                () -> base.withOverrides(Map.of("conformal.alpha", "0.1")));
        assertEquals("overriding conformal.method or conformal.alpha needs a matching conformal.threshold (a "
                + "threshold is calibrated for one method and alpha); run the calibrate command with the new "
                + "method/alpha", stale.getMessage());
        IllegalArgumentException unknown = assertThrows(IllegalArgumentException.class,
                () -> base.withOverrides(Map.of("min_conf", "0.8")));
        assertEquals("unknown triage override \"min_conf\", expected one of " + TriageConfig.OVERRIDE_KEYS,
                unknown.getMessage());
        assertThrows(IllegalArgumentException.class, () -> base.withOverrides(Map.of("min_confidence", "high")));
    }
}
