package e3stream.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Runs {@code deploy/local/bin/e3-local.sh} for real: a KRaft Kafka broker process, a Flink session cluster of one
 * JobManager and two TaskManager JVMs with Flink's Prometheus reporter, and Debian's Prometheus scraping them, all on
 * free loopback ports, with state and logs in deploy/target/local-cluster-it. Then stops everything and checks nothing is left listening.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class LocalClusterITCase {

    private static final Path SCRIPT = DeployFiles.deployDir().resolve("local/bin/e3-local.sh");
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    /** Run directory (state, logs) under target/, kept after the test so its logs can be read. */
    private Path runDir;

    private final Map<String, String> env = new HashMap<>();
    private final Map<String, Integer> ports = new TreeMap<>();

    @BeforeAll
    void startCluster() throws Exception {
        runDir = DeployFiles.deployDir().resolve("target/local-cluster-it");
        if (Files.exists(runDir)) {
            DeployFiles.run(DeployFiles.repoRoot(), Map.of("E3_LOCAL_RUN_DIR", runDir.toString()), 180,
                    SCRIPT.toString(), "clean");
        }
        ports.put("E3_KAFKA_PORT", freePort(1));
        ports.put("E3_KAFKA_CONTROLLER_PORT", freePort(1));
        ports.put("E3_FLINK_REST_PORT", freePort(1));
        ports.put("E3_FLINK_RPC_PORT", freePort(1));
        ports.put("E3_FLINK_JM_METRICS_PORT", freePort(1));
        ports.put("E3_FLINK_TM_METRICS_PORT", freePort(3)); // TaskManagers 1 and 2 (+1 spare for a restart)
        ports.put("E3_PROMETHEUS_PORT", freePort(1));
        ports.forEach((k, v) -> env.put(k, String.valueOf(v)));
        env.put("E3_LOCAL_RUN_DIR", runDir.toString());
        env.put("E3_TASKMANAGERS", "2");
        env.put("E3_PROMETHEUS_SCRAPE_INTERVAL", "2s");
        var result = DeployFiles.run(DeployFiles.repoRoot(), env, 600, SCRIPT.toString(), "start");
        assertEquals(0, result.exitCode(), "e3-local.sh start failed:\n" + result.output() + logTails());
    }

    @AfterAll
    void stopCluster() throws Exception {
        // Always stop, even when a test failed; the last test asserts that stop really stops.
        DeployFiles.run(DeployFiles.repoRoot(), env, 120, SCRIPT.toString(), "stop");
    }

    @Test
    @Order(1)
    void flinkClusterHasTwoTaskManagersWithTheirSlots() throws Exception {
        JsonNode overview = getJson("http://127.0.0.1:" + ports.get("E3_FLINK_REST_PORT") + "/overview");
        assertEquals(2, overview.path("taskmanagers").asInt(), overview.toString());
        assertEquals(4, overview.path("slots-total").asInt(), overview.toString());
        assertEquals("2.2.0", overview.path("flink-version").asText(), overview.toString());
        // the REST API accepts job jars (flink-runtime-web is on the classpath)
        JsonNode jars = getJson("http://127.0.0.1:" + ports.get("E3_FLINK_REST_PORT") + "/jars");
        assertTrue(jars.has("files"), jars.toString());
    }

    @Test
    @Order(2)
    void prometheusScrapesTheJobManagerAndBothTaskManagers() throws Exception {
        String prometheus = "http://127.0.0.1:" + ports.get("E3_PROMETHEUS_PORT");
        Map<String, String> health = new TreeMap<>();
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (true) {
            health.clear();
            for (JsonNode t : getJson(prometheus + "/api/v1/targets?state=active").path("data").path("activeTargets")) {
                health.put(t.path("scrapeUrl").asText(), t.path("health").asText());
            }
            if (health.values().stream().allMatch("up"::equals) && health.size() >= 4 || System.nanoTime() > deadline) {
                break;
            }
            Thread.sleep(1000);
        }
        int tm = ports.get("E3_FLINK_TM_METRICS_PORT");
        assertEquals(Map.of(
                "http://127.0.0.1:" + ports.get("E3_FLINK_JM_METRICS_PORT") + "/metrics", "up",
                "http://127.0.0.1:" + tm + "/metrics", "up",
                "http://127.0.0.1:" + (tm + 1) + "/metrics", "up",
                "http://127.0.0.1:" + ports.get("E3_PROMETHEUS_PORT") + "/metrics", "up"), health);

        // Flink's own metrics arrive through the reporter plugin: two TaskManagers registered at the JobManager.
        JsonNode result = query(prometheus, "flink_jobmanager_numRegisteredTaskManagers");
        assertEquals(1, result.size(), result.toString());
        assertEquals("2", result.get(0).path("value").get(1).asText(), result.toString());
        // and the E3 alert rules are loaded
        JsonNode rules = getJson(prometheus + "/api/v1/rules").path("data").path("groups");
        List<String> groups = new ArrayList<>();
        rules.forEach(g -> groups.add(g.path("name").asText()));
        assertEquals(List.of("e3-model-quality", "e3-pipeline-health"), groups);
    }

    @Test
    @Order(100)
    void stopEndsEveryProcessAndFreesEveryPort() throws Exception {
        var result = DeployFiles.run(DeployFiles.repoRoot(), env, 180, SCRIPT.toString(), "stop");
        assertEquals(0, result.exitCode(), result.output());
        for (String name : List.of("prometheus", "jobmanager", "taskmanager-1", "taskmanager-2", "kafka")) {
            assertTrue(result.output().contains("stopped " + name), "no 'stopped " + name + "' in\n" + result.output());
        }
        for (var port : ports.entrySet()) {
            assertFalse(listening(port.getValue()), port.getKey() + " " + port.getValue() + " still accepts connections");
        }
        var status = DeployFiles.run(DeployFiles.repoRoot(), env, 60, SCRIPT.toString(), "status");
        assertTrue(status.output().contains("kafka: not running"), status.output());
        assertTrue(status.output().contains("jobmanager: not running"), status.output());
    }

    // ------------------------------------------------------------------------------------------------ helpers

    JsonNode query(String prometheus, String promql) throws Exception {
        JsonNode body = getJson(prometheus + "/api/v1/query?query=" + URLEncoder.encode(promql, StandardCharsets.UTF_8));
        assertEquals("success", body.path("status").asText(), body.toString());
        return body.path("data").path("result");
    }

    static JsonNode getJson(String url) throws IOException, InterruptedException {
        HttpResponse<String> response = HTTP.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(20))
                .build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, response.statusCode(), url + " -> " + response.body());
        return DeployFiles.JSON.readTree(response.body());
    }

    /** A free port p such that p..p+count-1 are all free now. */
    static int freePort(int count) throws IOException {
        for (int attempt = 0; attempt < 50; attempt++) {
            int port;
            try (ServerSocket s = new ServerSocket(0)) {
                port = s.getLocalPort();
            }
            if (port + count > 65535) {
                continue;
            }
            boolean free = true;
            for (int p = port + 1; p < port + count; p++) {
                try (ServerSocket s = new ServerSocket(p)) {
                    // free
                } catch (IOException e) {
                    free = false;
                }
            }
            if (free) {
                return port;
            }
        }
        throw new IllegalStateException("no " + count + " consecutive free ports found");
    }

    static boolean listening(int port) {
        try (Socket s = new Socket("127.0.0.1", port)) {
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /** The last lines of every log of the run, for failure messages. */
    String logTails() {
        StringBuilder out = new StringBuilder();
        Path logs = runDir.resolve("logs");
        if (!Files.isDirectory(logs)) {
            return "\n(no logs in " + logs + ")";
        }
        try (Stream<Path> files = Files.list(logs)) {
            for (Path f : files.sorted().toList()) {
                List<String> lines = Files.readAllLines(f, StandardCharsets.UTF_8);
                out.append("\n---- ").append(f.getFileName()).append(" (last 30 lines)\n");
                lines.subList(Math.max(0, lines.size() - 30), lines.size()).forEach(l -> out.append(l).append('\n'));
            }
        } catch (IOException e) {
            out.append("\n(could not read logs: ").append(e).append(')');
        }
        return out.toString();
    }
}
