package e3stream.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import e3stream.pipeline.testutils.TestData;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class E3StreamOptionsTest {

    static final String[] REQUIRED = {"--kafka.bootstrap-servers", "broker:9092", "--model.bundle", "models/e3"};

    static String[] args(String... more) {
        String[] all = new String[REQUIRED.length + more.length];
        System.arraycopy(REQUIRED, 0, all, 0, REQUIRED.length);
        System.arraycopy(more, 0, all, REQUIRED.length, more.length);
        return all;
    }

    @Test
    void readsYamlThenCommandLineOverridesWin(@TempDir Path dir) throws Exception {
        Path yaml = dir.resolve("job.yaml");
        Files.writeString(yaml, """
                kafka:
                  bootstrap-servers: a:9092
                  properties:
                    security.protocol: SASL_SSL
                model:
                  bundle: models/e3
                inference:
                  max-batch-size: 16
                  max-delay: 3 ms
                """);
        E3StreamOptions o = E3StreamOptions.fromArgs(new String[] {"--config", yaml.toString(), "--inference.max-batch-size", "64"});
        assertEquals(64, o.get(E3StreamOptions.MAX_BATCH_SIZE));
        assertEquals(Duration.ofMillis(3), o.get(E3StreamOptions.MAX_DELAY));
        assertEquals("a:9092", o.get(E3StreamOptions.BOOTSTRAP_SERVERS));
        assertEquals("SASL_SSL", o.kafkaProperties().getProperty("security.protocol"));
        assertEquals("a:9092", o.kafkaProperties().getProperty("bootstrap.servers"));
        assertEquals(E3StreamOptions.Delivery.EXACTLY_ONCE, o.get(E3StreamOptions.DELIVERY));
    }

    @Test
    void readsPropertiesFiles(@TempDir Path dir) throws Exception {
        Path props = dir.resolve("job.properties");
        Files.writeString(props, "kafka.bootstrap-servers=b:9092\nmodel.bundle=models/e3\ndelivery.guarantee=AT_LEAST_ONCE\n");
        E3StreamOptions o = E3StreamOptions.fromArgs(new String[] {"--config", props.toString()});
        assertEquals(E3StreamOptions.Delivery.AT_LEAST_ONCE, o.get(E3StreamOptions.DELIVERY));
    }

    @Test
    void rejectsAnUnknownKeyNamingIt() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> E3StreamOptions.fromArgs(args("--inference.max-batchsize", "8")));
        assertTrue(e.getMessage().startsWith("unknown option 'inference.max-batchsize'"), e.getMessage());
    }

    @Test
    void rejectsAValueOfTheWrongTypeNamingTheKey() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> E3StreamOptions.fromArgs(args("--inference.max-batch-size", "many")));
        assertTrue(e.getMessage().startsWith("bad value 'many' for inference.max-batch-size"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> E3StreamOptions.fromArgs(args("--delivery.guarantee", "twice")));
        assertTrue(e.getMessage().contains("delivery.guarantee"), e.getMessage());
    }

    @Test
    void rejectsMissingRequiredOptions() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> E3StreamOptions.fromArgs(new String[] {"--model.bundle", "models/e3"}));
        assertTrue(e.getMessage().startsWith("missing required option kafka.bootstrap-servers"), e.getMessage());
    }

    @Test
    void rejectsOutOfRangeValuesAndConflicts() {
        assertEquals("inference.max-batch-size must be positive, found 0", assertThrows(IllegalArgumentException.class,
                () -> E3StreamOptions.fromArgs(args("--inference.max-batch-size", "0"))).getMessage());
        assertEquals("triage.min-confidence must be in [0, 1], found 1.5", assertThrows(IllegalArgumentException.class,
                () -> E3StreamOptions.fromArgs(args("--triage.min-confidence", "1.5"))).getMessage());
        assertEquals("inference.queue-capacity (100) must be at least job.parallelism x inference.async-capacity (256)",
                assertThrows(IllegalArgumentException.class, () -> E3StreamOptions.fromArgs(args(
                        "--inference.queue-capacity", "100"))).getMessage());
        assertEquals("kafka.transaction-timeout (PT1S) must exceed checkpoint.interval (PT2S) with EXACTLY_ONCE",
                assertThrows(IllegalArgumentException.class, () -> E3StreamOptions.fromArgs(args(
                        "--kafka.transaction-timeout", "1 s"))).getMessage());
        assertEquals("option --job.parallelism needs a value", assertThrows(IllegalArgumentException.class,
                () -> E3StreamOptions.fromArgs(args("--job.parallelism"))).getMessage());
    }

    @Test
    void metricsPortTakesAPortARangeOrZeroAndNamesTheKeyWhenBad() {
        assertEquals("9464", E3StreamOptions.fromArgs(args()).get(E3StreamOptions.METRICS_PORT));
        assertEquals("9464-9473", E3StreamOptions.fromArgs(args("--metrics.port", "9464-9473"))
                .get(E3StreamOptions.METRICS_PORT));
        assertEquals("0", E3StreamOptions.fromArgs(args("--metrics.port", "0")).get(E3StreamOptions.METRICS_PORT));
        assertEquals("metrics.port: range FROM-TO must have FROM <= TO, found '9473-9464'",
                assertThrows(IllegalArgumentException.class, () -> E3StreamOptions.fromArgs(args(
                        "--metrics.port", "9473-9464"))).getMessage());
        assertEquals("metrics.port: ports must be in 1..65535, found '65536'", assertThrows(
                IllegalArgumentException.class, () -> E3StreamOptions.fromArgs(args("--metrics.port", "65536"))).getMessage());
        assertEquals("metrics.port: expected a port (1..65535), a range FROM-TO of them (e.g. 9464-9473) or 0 for "
                + "none, found 'prometheus'", assertThrows(IllegalArgumentException.class,
                () -> E3StreamOptions.fromArgs(args("--metrics.port", "prometheus"))).getMessage());
    }

    @Test
    void metricsPortFromYamlMayBeANumber(@TempDir Path dir) throws Exception {
        Path yaml = dir.resolve("job.yaml");
        Files.writeString(yaml, "kafka.bootstrap-servers: a:9092\nmodel.bundle: models/e3\nmetrics.port: 9250\n");
        assertEquals("9250", E3StreamOptions.fromArgs(new String[] {"--config", yaml.toString()})
                .get(E3StreamOptions.METRICS_PORT));
    }

    @Test
    void hidesSecretsWhenPrinted() {
        E3StreamOptions o = E3StreamOptions.fromArgs(args("--kafka.properties.sasl.jaas.config", "secret-value"));
        assertFalse(o.toString().contains("secret-value"));
    }

    @Test
    void readmeConfigurationTableMatchesTheOptions() throws Exception {
        Path table = TestData.repoRoot().resolve("pipeline/README-config.md");
        assertEquals(OptionsDoc.markdown(), Files.readString(table, StandardCharsets.UTF_8),
                "pipeline/README-config.md is stale; regenerate it with e3stream.pipeline.OptionsDoc");
        for (var option : E3StreamOptions.all()) {
            assertTrue(OptionsDoc.description(option).length() > 10, "option " + option.key() + " has a description");
        }
    }
}
