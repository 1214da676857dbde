package e3stream.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * The Grafana dashboard is a provisionable dashboard with the panels a drift on-call needs, and every metric that it
 * and the alert rules query is listed in {@code deploy/metrics.txt} (and nothing else is), which
 * {@code deploy/bin/check-scrape.sh} checks against a real scrape.
 */
class DashboardMetricsTest {

    static final Path DASHBOARD = DeployFiles.deployDir().resolve("grafana/dashboards/e3-stream.json");
    static final Path METRICS = DeployFiles.deployDir().resolve("metrics.txt");
    static final Path RULES = DeployFiles.deployDir().resolve("prometheus/rules/e3-alerts.yml");
    static final Path CHECK_SCRAPE = DeployFiles.deployDir().resolve("bin/check-scrape.sh");

    static Set<String> listedMetrics() throws Exception {
        return Files.readAllLines(METRICS, StandardCharsets.UTF_8).stream()
                .map(l -> l.replaceAll("#.*", "").trim()).filter(l -> !l.isEmpty())
                .map(l -> l.split("\\s+")[0])
                .collect(Collectors.toCollection(TreeSet::new));
    }

    static List<String> dashboardExpressions(JsonNode dashboard) {
        List<String> exprs = new ArrayList<>();
        for (JsonNode panel : dashboard.path("panels")) {
            panel.path("targets").forEach(t -> exprs.add(t.path("expr").asText()));
        }
        return exprs;
    }

    static List<String> ruleExpressions() throws Exception {
        List<String> exprs = new ArrayList<>();
        for (JsonNode group : DeployFiles.readYaml(RULES).path("groups")) {
            group.path("rules").forEach(r -> exprs.add(r.path("expr").asText()));
        }
        return exprs;
    }

    @Test
    void dashboardIsProvisionableWithPrometheusTargetsOnEveryPanel() throws Exception {
        JsonNode d = DeployFiles.readJson(DASHBOARD);
        assertEquals("e3-stream-drift", d.path("uid").asText());
        assertFalse(d.path("title").asText().isBlank(), "title");
        assertTrue(d.path("schemaVersion").asInt() >= 36, "schemaVersion " + d.path("schemaVersion"));
        assertTrue(d.path("id").isMissingNode() || d.path("id").isNull(), "a provisioned dashboard has no fixed id");
        JsonNode ds = d.path("templating").path("list").get(0);
        assertEquals("datasource", ds.path("type").asText(), "first template variable selects the datasource");
        assertEquals("prometheus", ds.path("query").asText());

        Set<Integer> ids = new HashSet<>();
        int dataPanels = 0;
        for (JsonNode panel : d.path("panels")) {
            String title = panel.path("title").asText();
            assertTrue(ids.add(panel.path("id").asInt()), "duplicate panel id in " + title);
            JsonNode pos = panel.path("gridPos");
            assertTrue(pos.path("w").asInt() > 0 && pos.path("x").asInt() + pos.path("w").asInt() <= 24,
                    "gridPos of " + title + ": " + pos);
            if ("row".equals(panel.path("type").asText())) {
                continue;
            }
            dataPanels++;
            assertEquals("prometheus", panel.path("datasource").path("type").asText(), "datasource of " + title);
            assertEquals("${datasource}", panel.path("datasource").path("uid").asText(), "datasource of " + title);
            assertFalse(panel.path("description").asText().isBlank(), "description of " + title);
            JsonNode targets = panel.path("targets");
            assertTrue(targets.size() > 0, "panel " + title + " has no targets");
            Set<String> refIds = new HashSet<>();
            for (JsonNode t : targets) {
                assertTrue(refIds.add(t.path("refId").asText()), "duplicate refId in " + title);
                assertFalse(t.path("expr").asText().isBlank(), "empty expr in " + title);
                assertFalse(PromQl.metricNames(t.path("expr").asText()).isEmpty(),
                        "expr of " + title + " selects no metric: " + t.path("expr").asText());
            }
        }
        assertTrue(dataPanels >= 10, "only " + dataPanels + " data panels");
    }

    @Test
    void dashboardHasThePanelsADriftOnCallNeeds() throws Exception {
        String titles = "";
        for (JsonNode panel : DeployFiles.readJson(DASHBOARD).path("panels")) {
            titles += panel.path("title").asText().toLowerCase(Locale.ROOT) + "\n";
        }
        for (String needed : List.of("throughput", "end-to-end latency", "batch size", "queue wait", "review ratio",
                "ece", "reliability", "psi per signal", "estimated vs realised accuracy", "dead-letter")) {
            assertTrue(titles.contains(needed), "no panel about '" + needed + "' in:\n" + titles);
        }
    }

    @Test
    void aSourceVariableSelectsThePerSourcePanels() throws Exception {
        JsonNode d = DeployFiles.readJson(DASHBOARD);
        JsonNode source = null;
        for (JsonNode v : d.path("templating").path("list")) {
            if ("source".equals(v.path("name").asText())) {
                source = v;
            }
        }
        assertTrue(source != null, "no template variable 'source'");
        assertEquals("query", source.path("type").asText());
        assertEquals("label_values(e3_window_events_by_source, source)", source.path("query").path("query").asText());
        assertTrue(source.path("multi").asBoolean() && source.path("includeAll").asBoolean(), "several sources or all");
        assertEquals(".*", source.path("allValue").asText(), "All matches every source, other included");
        Set<String> perSource = new TreeSet<>();
        for (JsonNode panel : d.path("panels")) {
            for (JsonNode t : panel.path("targets")) {
                String expr = t.path("expr").asText();
                if (PromQl.metricNames(expr).stream().anyMatch(m -> m.endsWith("_by_source"))) {
                    perSource.add(panel.path("title").asText());
                    assertTrue(expr.contains("source=~\"$source\""), "panel " + panel.path("title").asText()
                            + " does not follow the source variable: " + expr);
                }
            }
        }
        for (String needed : List.of("Review ratio per source", "PSI per source",
                "Estimated vs realised accuracy per source", "ECE per source")) {
            assertTrue(perSource.contains(needed), "no per-source panel '" + needed + "' in " + perSource);
        }
    }

    @Test
    void everyQueriedMetricIsListedInMetricsTxtAndNothingElse() throws Exception {
        Set<String> used = new TreeSet<>();
        List<String> exprs = new ArrayList<>(dashboardExpressions(DeployFiles.readJson(DASHBOARD)));
        exprs.addAll(ruleExpressions());
        exprs.forEach(e -> used.addAll(PromQl.metricNames(e)));
        Set<String> listed = listedMetrics();
        Set<String> unlisted = new TreeSet<>(used);
        unlisted.removeAll(listed);
        Set<String> unused = new TreeSet<>(listed);
        unused.removeAll(used);
        assertEquals(Set.of(), unlisted, "queried but not in deploy/metrics.txt");
        assertEquals(Set.of(), unused, "in deploy/metrics.txt but queried nowhere");
        // the stems of docs/design.md, "Metrics", all appear
        for (String stem : List.of("e3_events_total", "e3_inference_batch_size", "e3_inference_seconds",
                "e3_queue_wait_seconds", "e3_review_ratio", "e3_calibration_ece", "e3_calibration_nll",
                "e3_calibration_brier", "e3_accuracy", "e3_estimated_accuracy", "e3_drift_psi",
                "e3_labels_joined_total", "e3_labels_expired_total")) {
            assertTrue(listed.stream().anyMatch(m -> m.startsWith(stem)), "no metric with stem " + stem);
        }
    }

    @Test
    void grafanaProvisioningPointsAtTheDashboardFolderAndAPrometheusDatasource() throws Exception {
        Path prov = DeployFiles.deployDir().resolve("grafana/provisioning");
        JsonNode providers = DeployFiles.readYaml(prov.resolve("dashboards/e3-stream.yml"));
        assertEquals(1, providers.path("apiVersion").asInt());
        assertEquals("file", providers.path("providers").get(0).path("type").asText());
        assertFalse(providers.path("providers").get(0).path("options").path("path").asText().isBlank());
        JsonNode datasources = DeployFiles.readYaml(prov.resolve("datasources/prometheus.yml"));
        assertEquals("prometheus", datasources.path("datasources").get(0).path("type").asText());
    }

    @Test
    void checkScrapeNamesEveryMissingMetricAndPassesACompleteScrape() throws Exception {
        Set<String> listed = listedMetrics();
        Path complete = Files.createTempFile("scrape-complete", ".txt");
        Path partial = Files.createTempFile("scrape-partial", ".txt");
        try {
            List<String> lines = new ArrayList<>();
            for (String m : listed) {
                lines.add("# TYPE " + m + " gauge");
                lines.add(m + "{job=\"x\"} 1.0");
            }
            Files.write(complete, lines);
            // e3_review_ratio_reference is listed as optional: its absence is reported but not a failure
            Set<String> dropped = new LinkedHashSet<>(List.of("e3_drift_psi", "flink_jobmanager_numRegisteredTaskManagers",
                    "e3_review_ratio_reference"));
            // e3_drift_psi_extra must not count as e3_drift_psi: names match whole
            List<String> partialLines = new ArrayList<>(lines.stream()
                    .filter(l -> dropped.stream().noneMatch(d -> l.startsWith(d + "{"))).toList());
            partialLines.add("e3_drift_psi_extra 1.0");
            Files.write(partial, partialLines);

            var ok = DeployFiles.run(DeployFiles.repoRoot(), 60, CHECK_SCRAPE.toString(), complete.toString());
            assertEquals(0, ok.exitCode(), ok.output());
            assertFalse(ok.output().contains("absent"), ok.output());
            var missing = DeployFiles.run(DeployFiles.repoRoot(), 60, CHECK_SCRAPE.toString(), partial.toString());
            assertEquals(1, missing.exitCode(), missing.output());
            assertTrue(missing.output().contains("missing from the scrape: e3_drift_psi flink_jobmanager_numRegisteredTaskManagers ("),
                    missing.output());
            assertTrue(missing.output().contains("absent but optional: e3_review_ratio_reference"), missing.output());
            var unreadable = DeployFiles.run(DeployFiles.repoRoot(), 60, CHECK_SCRAPE.toString(),
                    partial.resolveSibling("no-such-scrape.txt").toString());
            assertEquals(2, unreadable.exitCode(), unreadable.output());
        } finally {
            Files.deleteIfExists(complete);
            Files.deleteIfExists(partial);
        }
    }
}
