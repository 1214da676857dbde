package e3stream.runtime.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import e3stream.runtime.model.ModelBundle;
import e3stream.runtime.testutils.RepoFiles;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CalibrateCommandTest {
    private static final ObjectMapper MAPPER = new ObjectMapper();

    @TempDir
    Path temp;

    @Test
    void fitsAnAcceptedErrorGoalOnValidationDataAndRewritesOnlyTemperatureTriageAndReference() throws IOException {
        Path bundle = RepoFiles.copyBundle("e3", temp.resolve("e3"));
        ObjectNode before = (ObjectNode) MAPPER.readTree(bundle.resolve("model.json").toFile());
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        Calibrate.Outcome outcome = Calibrate.run(new String[] {"--bundle", bundle.toString(),
            "--max-accepted-error", "0.03", "--atc-shift-images", "200",
            "--test-images", RepoFiles.data("fashion-mnist-test-2000-images-idx3-ubyte.gz").toString(),
            "--test-labels", RepoFiles.data("fashion-mnist-test-2000-labels-idx1-ubyte.gz").toString()},
                new PrintStream(console, true, StandardCharsets.UTF_8));

        ObjectNode after = (ObjectNode) MAPPER.readTree(bundle.resolve("model.json").toFile());
        assertEquals(outcome.calibration().temperature(), after.get("temperature").asDouble());
        assertEquals(outcome.calibration().triageJson(), after.get("triage"));
        ObjectNode expected = before.deepCopy();
        expected.set("temperature", after.get("temperature"));
        expected.set("triage", after.get("triage"));
        expected.set("reference", after.get("reference"));
        assertEquals(expected, after, "only temperature, triage and reference may change");
        assertEquals(before.get("sha256"), after.get("sha256"));
        ModelBundle.load(bundle); // still verifies: model.onnx untouched

        // The error goal holds on the validation half that was not used for fitting, up to 3 standard errors. The
        // thresholds meet the goal exactly on the calibration half, so they carry that half's sampling noise and the
        // holdout adds its own: two equally large halves, twice the variance of one binomial error rate.
        assertTrue(outcome.calibration().goalMet(), outcome.calibration().summary());
        var holdout = outcome.calibration().holdout();
        assertTrue(holdout.acceptedCount() > 0, outcome.calibration().summary());
        assertTrue(holdout.acceptedError() <= 0.03 + 3 * Math.sqrt(2 * 0.03 * 0.97 / holdout.acceptedCount()),
                outcome.calibration().summary());
        Calibrate.TestCheck test = outcome.test();
        assertEquals(2000, test.count());
        // Split-conformal coverage on the test subset meets 1 - alpha up to its sampling noise.
        assertEquals(0.95, test.targetCoverage(), 1e-12);
        assertTrue(test.conformalCoverage() >= test.targetCoverage() - test.coverageTolerance(),
                "coverage " + test.conformalCoverage());
        String printed = console.toString(StandardCharsets.UTF_8);
        assertTrue(printed.contains("test split (2000 images): review rate"), printed);
        assertTrue(printed.contains("wrote temperature, triage and reference into"), printed);
        // ATC's density floor was chosen on corrupted validation copies (7 corruptions x 5 severities) and kept.
        assertTrue(printed.contains("ATC density floor: level "), printed);
        assertTrue(printed.contains("over 35 shifted validation sets"), printed);
        double level = after.get("reference").get("atc_density_floor_level").asDouble();
        assertTrue(java.util.Arrays.stream(e3stream.runtime.stats.AtcDensityFloor.LEVELS).anyMatch(l -> l == level),
                "level " + level);
        assertEquals(level, outcome.calibration().reference().atcDensityFloorLevel());
    }

    @Test
    void refusesTwoGoalsOrNone() {
        CliArgs.UsageException both = assertThrows(CliArgs.UsageException.class, () -> Calibrate.run(new String[] {
            "--bundle", "models/e3", "--max-review-rate", "0.1", "--max-accepted-error", "0.02"}, System.out));
        assertEquals("give exactly one goal: --max-accepted-error X or --max-review-rate Y", both.getMessage());
        assertThrows(CliArgs.UsageException.class, () -> Calibrate.run(new String[] {"--bundle", "models/e3"},
                System.out));
    }
}
