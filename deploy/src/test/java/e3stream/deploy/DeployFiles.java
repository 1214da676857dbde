package e3stream.deploy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLParser;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** Shared helpers of the deploy tests: where the repository is, YAML/JSON reading, running a command. */
final class DeployFiles {

    static final ObjectMapper JSON = new ObjectMapper();
    static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    private DeployFiles() {}

    /** The repository root, from the {@code e3.repo.root} system property the parent pom's surefire config sets. */
    static Path repoRoot() {
        String root = System.getProperty("e3.repo.root");
        if (root == null || root.isBlank()) {
            throw new IllegalStateException("system property e3.repo.root is not set; run the tests through Maven "
                    + "(./mvnw -pl deploy test) or pass -De3.repo.root=<repository root>");
        }
        return Path.of(root).toAbsolutePath().normalize();
    }

    static Path deployDir() {
        return repoRoot().resolve("deploy");
    }

    static JsonNode readYaml(Path file) throws IOException {
        return YAML.readTree(file.toFile());
    }

    /** Every document of a multi-document YAML file (documents separated by {@code ---}), empty ones skipped. */
    static List<JsonNode> readYamlDocuments(Path file) throws IOException {
        List<JsonNode> docs = new ArrayList<>();
        try (YAMLParser parser = (YAMLParser) YAML.getFactory().createParser(file.toFile())) {
            var it = YAML.readValues(parser, JsonNode.class);
            while (it.hasNext()) {
                JsonNode doc = it.next();
                if (doc != null && !doc.isNull() && !doc.isMissingNode()) {
                    docs.add(doc);
                }
            }
        }
        return docs;
    }

    static JsonNode readJson(Path file) throws IOException {
        return JSON.readTree(file.toFile());
    }

    /** Result of a finished command. */
    record CommandResult(int exitCode, String output) {}

    /** Runs a command (stdout and stderr merged) in {@code dir}, failing if it runs longer than {@code timeoutSeconds}. */
    static CommandResult run(Path dir, long timeoutSeconds, String... command) throws IOException, InterruptedException {
        return run(dir, Map.of(), timeoutSeconds, command);
    }

    /** Like {@link #run(Path, long, String...)} with extra environment variables. */
    static CommandResult run(Path dir, Map<String, String> env, long timeoutSeconds, String... command)
            throws IOException, InterruptedException {
        Path log = Files.createTempFile("e3-deploy-cmd", ".log");
        try {
            ProcessBuilder builder = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true)
                    .redirectOutput(log.toFile());
            builder.environment().putAll(env);
            Process p = builder.start();
            if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IllegalStateException(String.join(" ", command) + " did not finish in " + timeoutSeconds
                        + " s; output so far:\n" + Files.readString(log, StandardCharsets.UTF_8));
            }
            return new CommandResult(p.exitValue(), Files.readString(log, StandardCharsets.UTF_8));
        } finally {
            Files.deleteIfExists(log);
        }
    }

    /** Finds an executable on PATH (or at an absolute path given by a system property), with an install hint. */
    static String executable(String name, String property, String installHint) {
        String configured = System.getProperty(property);
        if (configured != null && !configured.isBlank()) {
            return configured;
        }
        for (String dir : System.getenv().getOrDefault("PATH", "").split(java.io.File.pathSeparator)) {
            Path candidate = Path.of(dir, name);
            if (Files.isExecutable(candidate)) {
                return candidate.toString();
            }
        }
        throw new IllegalStateException(name + " is not on PATH: " + installHint + " (or pass -D" + property
                + "=/path/to/" + name + ")");
    }
}
