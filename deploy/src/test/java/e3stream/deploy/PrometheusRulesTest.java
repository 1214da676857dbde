package e3stream.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/**
 * The alert rules in {@code deploy/prometheus/rules} are valid and their promtool unit tests pass, and every alert has
 * a test case in which it fires and one in which it must stay quiet.
 */
class PrometheusRulesTest {

    private static final Path RULES = DeployFiles.deployDir().resolve("prometheus/rules/e3-alerts.yml");
    private static final Path TESTS = DeployFiles.deployDir().resolve("prometheus/tests/e3-alerts.test.yml");

    private static String promtool() {
        return DeployFiles.executable("promtool", "e3.promtool",
                "install the Debian package prometheus (apt-get install prometheus)");
    }

    @Test
    void alertRulesPassPromtoolCheck() throws Exception {
        var result = DeployFiles.run(DeployFiles.repoRoot(), 60, promtool(), "check", "rules", RULES.toString());
        assertEquals(0, result.exitCode(), result.output());
    }

    @Test
    void alertRuleUnitTestsPass() throws Exception {
        var result = DeployFiles.run(DeployFiles.repoRoot(), 120, promtool(), "test", "rules", TESTS.toString());
        assertEquals(0, result.exitCode(), result.output());
        assertTrue(result.output().contains("SUCCESS"), result.output());
    }

    @Test
    void everyAlertIsTestedFiringAndQuiet() throws Exception {
        Set<String> alerts = new TreeSet<>();
        for (JsonNode group : DeployFiles.readYaml(RULES).path("groups")) {
            for (JsonNode rule : group.path("rules")) {
                if (rule.hasNonNull("alert")) {
                    alerts.add(rule.get("alert").asText());
                }
            }
        }
        Set<String> firing = new TreeSet<>();
        Set<String> quiet = new TreeSet<>();
        for (JsonNode test : DeployFiles.readYaml(TESTS).path("tests")) {
            for (JsonNode check : test.path("alert_rule_test")) {
                String name = check.path("alertname").asText();
                (check.path("exp_alerts").isEmpty() ? quiet : firing).add(name);
            }
        }
        assertTrue(alerts.size() >= 7, "expected the 7 E3 alerts, found " + alerts);
        Set<String> notFiring = new TreeSet<>(alerts);
        notFiring.removeAll(firing);
        Set<String> notQuiet = new TreeSet<>(alerts);
        notQuiet.removeAll(quiet);
        assertEquals(Set.of(), notFiring, "alerts without a test case in which they fire");
        assertEquals(Set.of(), notQuiet, "alerts without a test case in which they stay quiet");
    }
}
