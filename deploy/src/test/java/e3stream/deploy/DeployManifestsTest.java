package e3stream.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Offline lint of the compose and Kubernetes manifests (no Docker engine or cluster here): every file parses, every
 * Kubernetes object has the fields its kind requires (Flink operator, Strimzi, Prometheus operator, core), objects
 * refer to things that exist, and the embedded rule and dashboard copies equal their single sources.
 */
class DeployManifestsTest {

    private static final Path K8S = DeployFiles.deployDir().resolve("k8s");
    private static final Path COMPOSE = DeployFiles.deployDir().resolve("compose/docker-compose.yml");
    /** The job's topics: those it always uses, the shadow topic, and model control's two (model.control). */
    private static final Set<String> TOPICS = Set.of("images", "labels", "predictions", "review", "images-dlq",
            "calibration", "shadow", "control", "control-results");

    private static List<JsonNode> k8sObjects() throws Exception {
        List<JsonNode> objects = new ArrayList<>();
        try (Stream<Path> files = Files.list(K8S)) {
            for (Path f : files.filter(p -> p.toString().endsWith(".yaml")).sorted().toList()) {
                for (JsonNode doc : DeployFiles.readYamlDocuments(f)) {
                    ((ObjectNode) doc).put("__file", f.getFileName().toString());
                    objects.add(doc);
                }
            }
        }
        return objects;
    }

    private static List<JsonNode> ofKind(List<JsonNode> objects, String kind) {
        return objects.stream().filter(o -> kind.equals(o.path("kind").asText())).toList();
    }

    private static String where(JsonNode o) {
        return o.path("__file").asText() + " " + o.path("kind").asText() + "/" + o.path("metadata").path("name").asText();
    }

    private static void require(JsonNode o, String path, List<String> problems) {
        JsonNode n = o;
        for (String part : path.split("\\.")) {
            n = n.path(part);
        }
        if (n.isMissingNode() || n.isNull() || (n.isTextual() && n.asText().isBlank())) {
            problems.add(where(o) + ": missing " + path);
        }
    }

    @Test
    void everyKubernetesObjectHasTheFieldsItsKindRequires() throws Exception {
        List<JsonNode> objects = k8sObjects();
        List<String> problems = new ArrayList<>();
        Map<String, List<String>> requiredByKind = Map.of(
                "FlinkDeployment", List.of("spec.image", "spec.flinkVersion", "spec.serviceAccount",
                        "spec.jobManager.resource.memory", "spec.jobManager.resource.cpu",
                        "spec.taskManager.resource.memory", "spec.taskManager.resource.cpu", "spec.job.jarURI",
                        "spec.job.upgradeMode", "spec.job.parallelism"),
                "KafkaTopic", List.of("metadata.labels.strimzi\\.io/cluster", "spec.partitions", "spec.replicas"),
                "PodMonitor", List.of("spec.selector.matchLabels", "spec.podMetricsEndpoints"),
                "PrometheusRule", List.of("spec.groups"),
                "ConfigMap", List.of("data"),
                "PersistentVolumeClaim", List.of("spec.accessModes", "spec.resources.requests.storage"));
        Map<String, String> apiVersions = Map.of("FlinkDeployment", "flink.apache.org/v1beta1",
                "KafkaTopic", "kafka.strimzi.io/v1beta2", "PodMonitor", "monitoring.coreos.com/v1",
                "PrometheusRule", "monitoring.coreos.com/v1", "ConfigMap", "v1", "PersistentVolumeClaim", "v1");
        for (JsonNode o : objects) {
            String kind = o.path("kind").asText();
            require(o, "metadata.name", problems);
            if (!apiVersions.containsKey(kind)) {
                problems.add(where(o) + ": unexpected kind " + kind + " (expected one of " + apiVersions.keySet() + ")");
                continue;
            }
            if (!apiVersions.get(kind).equals(o.path("apiVersion").asText())) {
                problems.add(where(o) + ": apiVersion " + o.path("apiVersion").asText() + ", expected "
                        + apiVersions.get(kind));
            }
            for (String path : requiredByKind.get(kind)) {
                if (path.contains("strimzi\\.io")) {
                    if (o.path("metadata").path("labels").path("strimzi.io/cluster").asText().isBlank()) {
                        problems.add(where(o) + ": missing label strimzi.io/cluster");
                    }
                } else {
                    require(o, path, problems);
                }
            }
        }
        assertEquals(List.of(), problems);
        for (String kind : requiredByKind.keySet()) {
            assertFalse(ofKind(objects, kind).isEmpty(), "no " + kind + " in deploy/k8s");
        }
    }

    @Test
    void flinkDeploymentRunsGpuTaskManagersWithTheModelMountedAndDurableCheckpoints() throws Exception {
        List<JsonNode> objects = k8sObjects();
        JsonNode fd = ofKind(objects, "FlinkDeployment").get(0);
        JsonNode conf = fd.path("spec").path("flinkConfiguration");
        // the operator takes flinkConfiguration as map<string,string>, and the Prometheus reporter ignores a
        // non-string port
        for (Iterator<Map.Entry<String, JsonNode>> it = conf.fields(); it.hasNext(); ) {
            var e = it.next();
            assertTrue(e.getValue().isTextual(), "flinkConfiguration." + e.getKey() + " must be a string");
        }
        String checkpoints = conf.path("execution.checkpointing.dir").asText();
        assertTrue(checkpoints.matches("(s3|s3a|s3p|gs|hdfs|abfss?|oss)://.+"),
                "checkpoints must go to durable storage, found '" + checkpoints + "'");
        assertTrue(Set.of("stateless", "savepoint", "last-state").contains(
                fd.path("spec").path("job").path("upgradeMode").asText()));
        assertTrue(fd.path("spec").path("flinkVersion").asText().matches("v2_\\d+"), "Flink 2.x");

        JsonNode tmPod = effectivePod(fd, "taskManager", false).path("spec");
        JsonNode main = tmPod.path("containers").get(0);
        assertEquals("flink-main-container", main.path("name").asText());
        assertTrue(main.path("resources").path("limits").path("nvidia.com/gpu").asInt() >= 1,
                "TaskManagers request nvidia.com/gpu");
        assertTrue(tmPod.path("tolerations").findValuesAsText("key").contains("nvidia.com/gpu"),
                "TaskManagers tolerate the GPU nodes' taint: " + tmPod.path("tolerations"));
        assertTrue(effectivePod(fd, "jobManager", false).path("spec").path("containers").get(0).path("resources")
                .path("limits").path("nvidia.com/gpu").isMissingNode(), "the JobManager takes no GPU");
        // the job's config file is a ConfigMap that exists and names the bundle on the mounted volume
        Set<String> configMaps = new HashSet<>();
        ofKind(objects, "ConfigMap").forEach(c -> configMaps.add(c.path("metadata").path("name").asText()));
        for (JsonNode v : fd.path("spec").path("podTemplate").path("spec").path("volumes")) {
            if (v.has("configMap")) {
                assertTrue(configMaps.contains(v.path("configMap").path("name").asText()), v.toString());
            }
        }
        JsonNode e3conf = k8sJobConfig(objects);
        assertTrue(e3conf.path("model.bundle").asText().startsWith("/opt/e3/models/"), e3conf.toString());
        assertEquals("CUDA", e3conf.path("model.device").asText());

        // PodMonitor scrapes ports that the pod template names
        Set<String> ports = new HashSet<>();
        fd.path("spec").path("podTemplate").path("spec").path("containers").get(0).path("ports")
                .forEach(p -> ports.add(p.path("name").asText()));
        JsonNode pm = ofKind(objects, "PodMonitor").get(0);
        for (JsonNode ep : pm.path("spec").path("podMetricsEndpoints")) {
            assertTrue(ports.contains(ep.path("port").asText()), "PodMonitor port " + ep + " not in " + ports);
        }
        JsonNode podLabels = fd.path("spec").path("podTemplate").path("metadata").path("labels");
        pm.path("spec").path("selector").path("matchLabels").fields().forEachRemaining(e ->
                assertEquals(e.getValue().asText(), podLabels.path(e.getKey()).asText(), "PodMonitor selects pods"));
    }

    /**
     * Compose and Kubernetes run the job with {@code checkpoint.changelog} (a checkpoint uploads what changed, not the
     * label join's whole pending state), and the job refuses to start on a cluster that keeps no durable changelog:
     * so the Flink configuration of every process that reads it (the JobManager, where the job's main checks it, and
     * the TaskManagers, which write the log) names the filesystem storage and a folder under the durable checkpoint
     * storage.
     */
    @Test
    void deploymentsThatTurnOnTheChangelogConfigureItsDurableStorageWhereTheJobAndTheTaskManagersReadIt()
            throws Exception {
        List<JsonNode> objects = k8sObjects();
        JsonNode fd = ofKind(objects, "FlinkDeployment").get(0);
        JsonNode k8sJob = k8sJobConfig(objects);
        assertTrue(k8sJob.path("checkpoint.changelog").asBoolean(), "Kubernetes job config: " + k8sJob);
        JsonNode conf = fd.path("spec").path("flinkConfiguration"); // JobManager and TaskManagers alike
        assertEquals("filesystem", conf.path("state.changelog.storage").asText());
        String k8sLog = conf.path("state.changelog.dstl.dfs.base-path").asText();
        assertTrue(k8sLog.matches("(s3|s3a|s3p|gs|hdfs|abfss?|oss)://.+"), "durable changelog folder: " + k8sLog);

        JsonNode compose = DeployFiles.readYaml(COMPOSE);
        JsonNode composeJob = DeployFiles.readYaml(COMPOSE.getParent().resolve("e3stream.yaml"));
        assertTrue(composeJob.path("checkpoint.changelog").asBoolean(), "compose job config: " + composeJob);
        for (String service : List.of("jobmanager", "taskmanager")) {
            String flinkProps = merged(compose, compose.path("services").path(service)).path("environment")
                    .path("FLINK_PROPERTIES").asText();
            assertTrue(flinkProps.contains("state.changelog.storage: filesystem"), service + ": " + flinkProps);
            String checkpoints = flinkProps.replaceAll("(?s).*execution\\.checkpointing\\.dir: (\\S+).*", "$1");
            assertTrue(flinkProps.contains("state.changelog.dstl.dfs.base-path: " + checkpoints.replaceAll("/+$", "")
                    + "/"), service + ": the changelog under the checkpoints' volume " + checkpoints + ": " + flinkProps);
        }
    }

    /**
     * The fields of a FlinkDeployment's spec in the operator's CRD (flink.apache.org/v1beta1). The API server prunes
     * any other (kubectl only warns): a TaskManager template under a misspelt key is silently never applied.
     */
    private static final Set<String> FLINK_DEPLOYMENT_SPEC_FIELDS = Set.of("image", "imagePullPolicy",
            "serviceAccount", "flinkVersion", "ingress", "podTemplate", "jobManager", "taskManager", "job",
            "flinkConfiguration", "logConfiguration", "mode", "restartNonce");

    @Test
    void theJobManagerWhereMainVerifiesTheBundleMountsItAsTheTaskManagersDoHoweverTheOperatorMergesTemplates()
            throws Exception {
        List<JsonNode> objects = k8sObjects();
        JsonNode fd = ofKind(objects, "FlinkDeployment").get(0);
        Set<String> unknown = new TreeSet<>(fieldNames(fd.path("spec")));
        unknown.removeAll(FLINK_DEPLOYMENT_SPEC_FIELDS);
        assertEquals(Set.of(), unknown, "FlinkDeployment spec fields the operator's CRD does not have");
        for (String side : List.of("jobManager", "taskManager")) {
            for (String key : fieldNames(fd.path("spec").path(side))) {
                assertTrue(Set.of("replicas", "resource", "podTemplate").contains(key), "spec." + side + "." + key);
            }
        }
        Set<String> pvcs = new HashSet<>();
        ofKind(objects, "PersistentVolumeClaim").forEach(p -> pvcs.add(p.path("metadata").path("name").asText()));
        Set<String> configMaps = new HashSet<>();
        ofKind(objects, "ConfigMap").forEach(c -> configMaps.add(c.path("metadata").path("name").asText()));
        String bundle = k8sJobConfig(objects).path("model.bundle").asText();
        List<String> args = iterable(fd.path("spec").path("job").path("args"));
        String configFile = args.get(args.indexOf("--config") + 1);

        for (String side : List.of("jobManager", "taskManager")) {
            for (boolean byName : List.of(false, true)) {
                String pod = side + " pod (arrays merged " + (byName ? "by name" : "by position") + ")";
                JsonNode spec = effectivePod(fd, side, byName).path("spec");
                Map<String, JsonNode> volumes = new HashMap<>();
                for (JsonNode v : spec.path("volumes")) {
                    List<String> sources = fieldNames(v);
                    sources.remove("name");
                    assertEquals(1, sources.size(), pod + ": volume " + v + " must have exactly one source");
                    assertTrue(volumes.put(v.path("name").asText(), v) == null, pod + ": two volumes named " + v);
                }
                JsonNode main = spec.path("containers").get(0);
                assertEquals("flink-main-container", main.path("name").asText(), pod);
                JsonNode bundleVolume = null;
                JsonNode configVolume = null;
                for (JsonNode m : main.path("volumeMounts")) {
                    JsonNode v = volumes.get(m.path("name").asText());
                    assertTrue(v != null, pod + ": volumeMount of undeclared volume " + m);
                    String at = m.path("mountPath").asText() + "/";
                    if (bundle.startsWith(at)) {
                        bundleVolume = v;
                    }
                    if (configFile.startsWith(at)) {
                        configVolume = v;
                    }
                }
                assertTrue(bundleVolume != null, pod + " mounts no volume at model.bundle " + bundle);
                assertTrue(pvcs.contains(bundleVolume.path("persistentVolumeClaim").path("claimName").asText()),
                        pod + ": the bundle's volume is a PersistentVolumeClaim of deploy/k8s: " + bundleVolume);
                assertTrue(configVolume != null, pod + " mounts no volume at the job's --config " + configFile);
                assertTrue(configMaps.contains(configVolume.path("configMap").path("name").asText()), pod + ": " + configVolume);
            }
        }
    }

    /**
     * The pod the Flink Kubernetes Operator makes for {@code side} (jobManager, taskManager): {@code spec.podTemplate}
     * with {@code spec.<side>.podTemplate} merged into it, objects field by field and arrays element by element, by
     * position (the operator's default) or, as with {@code kubernetes.operator.pod-template.merge-arrays-by-name},
     * by their {@code name}.
     */
    static JsonNode effectivePod(JsonNode flinkDeployment, String side, boolean byName) {
        JsonNode common = flinkDeployment.path("spec").path("podTemplate");
        ObjectNode pod = common.isObject() ? common.deepCopy() : DeployFiles.JSON.createObjectNode();
        JsonNode specific = flinkDeployment.path("spec").path(side).path("podTemplate");
        if (specific.isObject()) {
            mergeInto(pod, specific, byName);
        }
        return pod;
    }

    private static void mergeInto(ObjectNode to, JsonNode from, boolean byName) {
        from.fields().forEachRemaining(e -> {
            JsonNode toChild = to.get(e.getKey());
            if (toChild instanceof ArrayNode toArray && e.getValue().isArray()) {
                for (int i = 0; i < e.getValue().size(); i++) {
                    JsonNode fromItem = e.getValue().get(i);
                    JsonNode toItem = null;
                    if (byName && fromItem.has("name")) {
                        for (JsonNode t : toArray) {
                            if (t.path("name").equals(fromItem.get("name"))) {
                                toItem = t;
                            }
                        }
                    } else if (!byName && i < toArray.size()) {
                        toItem = toArray.get(i);
                    }
                    if (toItem instanceof ObjectNode toObject && fromItem.isObject()) {
                        mergeInto(toObject, fromItem, byName);
                    } else if (!byName && i < toArray.size()) {
                        toArray.set(i, fromItem.deepCopy());
                    } else {
                        toArray.add(fromItem.deepCopy());
                    }
                }
            } else if (toChild instanceof ObjectNode toObject && e.getValue().isObject()) {
                mergeInto(toObject, e.getValue(), byName);
            } else {
                to.set(e.getKey(), e.getValue().deepCopy());
            }
        });
    }

    @Test
    void strimziTopicsAreExactlyTheE3Topics() throws Exception {
        Set<String> names = new TreeSet<>();
        for (JsonNode t : ofKind(k8sObjects(), "KafkaTopic")) {
            names.add(t.path("spec").path("topicName").asText(t.path("metadata").path("name").asText()));
            assertTrue(t.path("spec").path("partitions").asInt() > 0 && t.path("spec").path("replicas").asInt() > 0);
        }
        assertEquals(new TreeSet<>(TOPICS), names);
    }

    @Test
    void prometheusRuleAndDashboardConfigMapEqualTheirSources() throws Exception {
        List<JsonNode> objects = k8sObjects();
        JsonNode rule = ofKind(objects, "PrometheusRule").get(0);
        JsonNode rules = DeployFiles.readYaml(DeployFiles.deployDir().resolve("prometheus/rules/e3-alerts.yml"));
        assertEquals(rules, rule.path("spec"),
                "deploy/k8s/prometheus-rule.yaml is out of date: run deploy/k8s/generate.sh");
        JsonNode dashboard = DeployFiles.readJson(DashboardMetricsTest.DASHBOARD);
        JsonNode cm = ofKind(objects, "ConfigMap").stream()
                .filter(c -> c.path("data").has("e3-stream.json")).findFirst()
                .orElseThrow(() -> new AssertionError("no ConfigMap embeds e3-stream.json"));
        assertEquals("1", cm.path("metadata").path("labels").path("grafana_dashboard").asText());
        assertEquals(dashboard, DeployFiles.JSON.readTree(cm.path("data").path("e3-stream.json").asText()),
                "deploy/k8s/grafana-dashboard-configmap.yaml is out of date: run deploy/k8s/generate.sh");
    }

    @Test
    void composeServicesAreCompleteAndTheTaskManagerReservesAGpu() throws Exception {
        JsonNode compose = DeployFiles.readYaml(COMPOSE);
        JsonNode services = compose.path("services");
        Set<String> names = new TreeSet<>();
        services.fieldNames().forEachRemaining(names::add);
        assertTrue(names.containsAll(Set.of("kafka", "jobmanager", "taskmanager", "prometheus", "grafana", "producer")),
                names.toString());
        Set<String> namedVolumes = new HashSet<>();
        compose.path("volumes").fieldNames().forEachRemaining(namedVolumes::add);
        Path composeDir = COMPOSE.getParent();
        List<String> problems = new ArrayList<>();
        for (String name : names) {
            JsonNode s = merged(compose, services.path(name));
            if (!s.hasNonNull("image") && !s.has("build")) {
                problems.add(name + ": neither image nor build");
            }
            JsonNode deps = s.path("depends_on");
            (deps.isArray() ? iterable(deps) : fieldNames(deps)).forEach(d -> {
                if (!names.contains(d)) {
                    problems.add(name + ": depends_on unknown service " + d);
                }
            });
            for (JsonNode v : s.path("volumes")) {
                String source = v.asText().split(":")[0];
                if (source.startsWith(".")) {
                    if (!Files.exists(composeDir.resolve(source).normalize())
                            && !source.contains("/target")) { // build outputs exist after ./mvnw package
                        problems.add(name + ": volume source " + source + " does not exist");
                    }
                } else if (!namedVolumes.contains(source)) {
                    problems.add(name + ": undeclared named volume " + source);
                }
            }
        }
        if (merged(compose, services.path("taskmanager")).path("build").has("dockerfile")) {
            Path dockerfile = composeDir.resolve(merged(compose, services.path("taskmanager")).path("build")
                    .path("dockerfile").asText());
            String df = Files.readString(dockerfile, StandardCharsets.UTF_8);
            assertTrue(df.contains("cuda:12") && df.contains("cudnn"), "TaskManager image: CUDA 12 + cuDNN");
        }
        assertEquals(List.of(), problems);
        JsonNode devices = services.path("taskmanager").path("deploy").path("resources").path("reservations")
                .path("devices");
        assertEquals("nvidia", devices.get(0).path("driver").asText());
        assertTrue(iterable(devices.get(0).path("capabilities")).contains("gpu"));
        String flinkProps = merged(compose, services.path("taskmanager")).path("environment").path("FLINK_PROPERTIES")
                .asText();
        assertTrue(flinkProps.contains("metrics.reporter.prom.port: \"9249\""), flinkProps);
        JsonNode jobConfig = DeployFiles.readYaml(composeDir.resolve("e3stream.yaml"));
        assertEquals("CUDA", jobConfig.path("model.device").asText());
        assertEquals("kafka:9092", jobConfig.path("kafka.bootstrap-servers").asText());
    }

    @Test
    void composeSubmitPassesTheJobConfigFileAsIsToAJobManagerThatMountsItAndTheBundle() throws Exception {
        Path composeDir = COMPOSE.getParent();
        JsonNode compose = DeployFiles.readYaml(COMPOSE);
        JsonNode jobConfig = DeployFiles.readYaml(composeDir.resolve("e3stream.yaml"));
        List<String> jmVolumes = iterable(merged(compose, compose.path("services").path("jobmanager")).path("volumes"));
        assertTrue(jmVolumes.contains("./e3stream.yaml:/opt/e3/e3stream.yaml:ro"), jmVolumes.toString());
        String bundle = jobConfig.path("model.bundle").asText();
        assertTrue(jmVolumes.stream().anyMatch(v -> v.split(":").length >= 2 && bundle.startsWith(v.split(":")[1] + "/")),
                "the JobManager, where main verifies the bundle, mounts " + bundle + ": " + jmVolumes);

        // Run the script against a stand-in curl that answers like Flink's REST API and records the run request.
        Path work = Files.createTempDirectory("submit-job");
        try {
            Path bin = Files.createDirectories(work.resolve("bin"));
            Path jars = Files.createDirectories(work.resolve("jars"));
            Files.writeString(jars.resolve("e3stream-pipeline-0.1.0-cluster.jar"), "jar");
            Path requests = work.resolve("requests.log");
            Path curl = bin.resolve("curl");
            Files.writeString(curl, String.join("\n", "#!/bin/sh",
                    "for a in \"$@\"; do printf '%s\\n' \"$a\" >> " + requests + "; done; echo '--' >> " + requests,
                    "case \"$*\" in",
                    "  *overview*) echo '{\"taskmanagers\":1}' ;;",
                    "  *jars/upload*) echo '{\"filename\":\"/tmp/flink-web/abc_e3.jar\",\"status\":\"success\"}' ;;",
                    "  *) echo '{\"jobid\":\"0123\"}' ;;",
                    "esac", ""));
            curl.toFile().setExecutable(true);
            var result = DeployFiles.run(DeployFiles.repoRoot(), Map.of("PATH", bin + ":" + System.getenv("PATH"),
                    "E3_JARS", jars.toString(), "E3_FLINK_REST", "http://jm:8081"), 30, "sh",
                    composeDir.resolve("submit-job.sh").toString());
            assertEquals(0, result.exitCode(), result.output());
            List<String> logged = Files.readAllLines(requests, StandardCharsets.UTF_8);
            assertTrue(logged.contains("http://jm:8081/jars/abc_e3.jar/run"), logged.toString());
            assertTrue(logged.contains("{\"programArgsList\":[\"--config\",\"/opt/e3/e3stream.yaml\"]}"),
                    "the run request passes the mounted file as is: " + logged);
        } finally {
            try (var files = Files.walk(work)) {
                files.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
            }
        }
    }

    @Test
    void prometheusConfigsPassPromtool() throws Exception {
        String promtool = DeployFiles.executable("promtool", "e3.promtool",
                "install the Debian package prometheus (apt-get install prometheus)");
        var compose = DeployFiles.run(DeployFiles.repoRoot(), 60, promtool, "check", "config", "--syntax-only",
                DeployFiles.deployDir().resolve("compose/prometheus.yml").toString());
        assertEquals(0, compose.exitCode(), compose.output());
        // the local template, rendered the way e3-local.sh renders it, with the real rule file
        String template = Files.readString(DeployFiles.deployDir().resolve("prometheus/prometheus.yml"));
        Map<String, String> values = new HashMap<>(Map.of("E3_PROMETHEUS_SCRAPE_INTERVAL", "5s",
                "E3_PROMETHEUS_RULES", DeployFiles.deployDir().resolve("prometheus/rules/e3-alerts.yml").toString(),
                "E3_FLINK_JM_METRICS_PORT", "19249", "E3_TM_TARGETS", "'127.0.0.1:19250', '127.0.0.1:19251'",
                "E3_JOB_TARGETS", "'127.0.0.1:19260', '127.0.0.1:19261'", "E3_PROMETHEUS_PORT", "19090"));
        for (var e : values.entrySet()) {
            template = template.replace("${" + e.getKey() + "}", e.getValue());
        }
        if (template.matches("(?s).*\\$\\{E3_\\w+}.*")) {
            fail("unfilled placeholder in deploy/prometheus/prometheus.yml:\n" + template);
        }
        Path rendered = Files.createTempFile("prometheus-local", ".yml");
        try {
            Files.writeString(rendered, template);
            var local = DeployFiles.run(DeployFiles.repoRoot(), 60, promtool, "check", "config", rendered.toString());
            assertEquals(0, local.exitCode(), local.output());
        } finally {
            Files.deleteIfExists(rendered);
        }
    }

    /** The job's configuration: {@code e3stream.yaml} of the {@code e3stream-config} ConfigMap, parsed. */
    private static final Path LOCAL_FLINK_CONF = DeployFiles.deployDir().resolve("local/conf/flink-config.yaml.template");

    /**
     * The Flink configuration of every deployment, as key/value pairs: the local cluster's template, the compose
     * JobManager's and TaskManager's FLINK_PROPERTIES, the Kubernetes flinkConfiguration.
     */
    private static Map<String, Map<String, String>> flinkConfigurations() throws Exception {
        Map<String, Map<String, String>> all = new java.util.LinkedHashMap<>();
        all.put("deploy/local " + LOCAL_FLINK_CONF.getFileName(),
                flinkProperties(Files.readString(LOCAL_FLINK_CONF, StandardCharsets.UTF_8)));
        JsonNode compose = DeployFiles.readYaml(COMPOSE);
        for (String service : List.of("jobmanager", "taskmanager")) {
            all.put("compose " + service, flinkProperties(merged(compose, compose.path("services").path(service))
                    .path("environment").path("FLINK_PROPERTIES").asText()));
        }
        Map<String, String> k8s = new java.util.TreeMap<>();
        ofKind(k8sObjects(), "FlinkDeployment").get(0).path("spec").path("flinkConfiguration").fields()
                .forEachRemaining(e -> k8s.put(e.getKey(), e.getValue().asText()));
        all.put("k8s flinkConfiguration", k8s);
        return all;
    }

    /** {@code key: value} lines of a flat Flink configuration, comments left out. */
    private static Map<String, String> flinkProperties(String text) {
        Map<String, String> out = new java.util.TreeMap<>();
        for (String line : text.split("\n")) {
            String l = line.replaceAll("(^|\\s)#.*", "").strip();
            int colon = l.indexOf(": ");
            if (colon > 0) {
                out.put(l.substring(0, colon), l.substring(colon + 2).replaceAll("^\"|\"$", ""));
            }
        }
        return out;
    }

    /**
     * No deployment sets a restart strategy of its own, so the job's bounded exponential-delay strategy (job.restart.*
     * options: at most job.restart-attempts restarts without a quiet period) applies on each, the same as on the local
     * cluster; and none of their job configurations changes those options. A restart-strategy.type set on the cluster
     * would replace it (Flink's exponential-delay alone retries forever).
     */
    @Test
    void everyDeploymentRestartsWithTheJobsOwnBoundedStrategy() throws Exception {
        Map<String, Map<String, String>> confs = flinkConfigurations();
        assertEquals(4, confs.size());
        for (var conf : confs.entrySet()) {
            assertTrue(conf.getValue().containsKey("execution.checkpointing.dir"), conf.getKey() + " parsed: "
                    + conf.getValue());
            List<String> restartKeys = conf.getValue().keySet().stream().filter(k -> k.startsWith("restart-strategy"))
                    .toList();
            assertEquals(List.of(), restartKeys, conf.getKey() + " sets a restart strategy of its own");
        }
        Map<String, JsonNode> jobConfigs = Map.of("k8s", k8sJobConfig(k8sObjects()),
                "compose", DeployFiles.readYaml(COMPOSE.getParent().resolve("e3stream.yaml")));
        for (var job : jobConfigs.entrySet()) {
            assertEquals(List.of(), fieldNames(job.getValue()).stream().filter(k -> k.startsWith("job.restart"))
                    .toList(), job.getKey() + " job configuration changes the restart options");
        }
    }

    /** The last checkpoint outlives a job that failed for good or was cancelled, on every deployment. */
    @Test
    void everyDeploymentRetainsCheckpointsOnFailureAndCancellation() throws Exception {
        for (var conf : flinkConfigurations().entrySet()) {
            assertEquals("RETAIN_ON_CANCELLATION",
                    conf.getValue().get("execution.checkpointing.externalized-checkpoint-retention"), conf.getKey());
        }
    }

    /**
     * Compose publishes every port on 127.0.0.1 only (Flink's REST API runs uploaded jars, Prometheus has no login),
     * and Grafana has no default password: the admin's comes from an environment variable that compose requires, and
     * everyone else only views.
     */
    @Test
    void composePublishesOnLocalhostOnlyAndGrafanaHasNoDefaultPassword() throws Exception {
        JsonNode compose = DeployFiles.readYaml(COMPOSE);
        Map<String, List<String>> published = new java.util.TreeMap<>();
        compose.path("services").fields().forEachRemaining(s -> {
            List<String> ports = iterable(merged(compose, s.getValue()).path("ports"));
            if (!ports.isEmpty()) {
                published.put(s.getKey(), ports);
            }
        });
        assertEquals(Set.of("grafana", "jobmanager", "prometheus"), published.keySet(), published.toString());
        for (var service : published.entrySet()) {
            for (String port : service.getValue()) {
                assertTrue(port.startsWith("127.0.0.1:"), service.getKey() + " publishes " + port + " beyond this host");
            }
        }
        assertEquals(List.of("127.0.0.1:8081:8081"), published.get("jobmanager"));
        assertEquals(List.of("127.0.0.1:3000:3000"), published.get("grafana"));
        assertEquals(List.of("127.0.0.1:9090:9090"), published.get("prometheus"));

        JsonNode grafana = merged(compose, compose.path("services").path("grafana")).path("environment");
        String password = grafana.path("GF_SECURITY_ADMIN_PASSWORD").asText();
        assertTrue(password.matches("\\$\\{[A-Z][A-Z0-9_]*:\\?[^}]+}"), "the admin password must be ${VAR:?message}: "
                + "required, no default; found '" + password + "'");
        if (grafana.path("GF_AUTH_ANONYMOUS_ENABLED").asBoolean()) {
            assertEquals("Viewer", grafana.path("GF_AUTH_ANONYMOUS_ORG_ROLE").asText(), "anonymous users only view");
        }
        assertEquals("false", grafana.path("GF_USERS_ALLOW_SIGN_UP").asText());
        assertTrue(Files.readString(DeployFiles.repoRoot().resolve("docs/deployment.md"), StandardCharsets.UTF_8)
                .contains("E3_GRAFANA_ADMIN_PASSWORD"), "docs/deployment.md says how to set the password");
    }

    private static JsonNode k8sJobConfig(List<JsonNode> objects) throws Exception {
        JsonNode configMap = ofKind(objects, "ConfigMap").stream()
                .filter(c -> c.path("metadata").path("name").asText().equals("e3stream-config")).findFirst().orElseThrow();
        return DeployFiles.YAML.readTree(configMap.path("data").path("e3stream.yaml").asText());
    }

    /** A compose service with YAML merge keys ({@code <<: *anchor}) applied (Jackson does not apply them). */
    private static JsonNode merged(JsonNode compose, JsonNode service) {
        if (!service.has("<<")) {
            return service;
        }
        ObjectNode out = DeployFiles.JSON.createObjectNode();
        JsonNode base = service.get("<<");
        (base.isArray() ? base : DeployFiles.JSON.createArrayNode().add(base)).forEach(b -> out.setAll((ObjectNode) b));
        service.fields().forEachRemaining(e -> {
            if (!e.getKey().equals("<<")) {
                out.set(e.getKey(), e.getValue());
            }
        });
        return out;
    }

    private static List<String> iterable(JsonNode array) {
        List<String> out = new ArrayList<>();
        array.forEach(n -> out.add(n.asText()));
        return out;
    }

    private static List<String> fieldNames(JsonNode object) {
        List<String> out = new ArrayList<>();
        object.fieldNames().forEachRemaining(out::add);
        return out;
    }
}
