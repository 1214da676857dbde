package e3stream.pipeline;

import e3stream.pipeline.internal.OptionsDoc;
import e3stream.pipeline.internal.JobSettings;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import e3stream.pipeline.testutils.TestData;
import e3stream.runtime.batch.DynamicBatcher;
import e3stream.runtime.decode.DecodeLimits;
import e3stream.runtime.decode.ImageDecoder;
import e3stream.runtime.model.BundleDescription;
import e3stream.runtime.model.ModelBundle;
import e3stream.runtime.session.ModelSession;
import e3stream.runtime.session.Scored;
import e3stream.runtime.session.SessionSpec;
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

    /**
     * The required options with the shipped e3 bundle found from any working directory (for tests that load the
     * bundle), then {@code more}.
     */
    static E3StreamOptions withTheShippedBundle(String... more) {
        String[] all = new String[more.length + 2];
        all[0] = "--model.bundle";
        all[1] = TestData.repoRoot().resolve("models/e3").toString();
        System.arraycopy(more, 0, all, 2, more.length);
        return E3StreamOptions.fromArgs(args(all));
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
        assertEquals("a:9092", o.get(KafkaOptions.BOOTSTRAP_SERVERS));
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
        assertTrue(assertThrows(IllegalArgumentException.class, () -> E3StreamOptions.fromArgs(args(
                "--kafka.transaction-timeout", "1 s"))).getMessage().startsWith("kafka.transaction-timeout (PT1S) must "
                + "exceed checkpoint.interval + checkpoint.timeout + the longest restart delay"));
        assertEquals("option --job.parallelism needs a value", assertThrows(IllegalArgumentException.class,
                () -> E3StreamOptions.fromArgs(args("--job.parallelism"))).getMessage());
        assertEquals("drift.top-sources must be in [0, 1000] (0: no per-source figures), found 1001",
                assertThrows(IllegalArgumentException.class, () -> E3StreamOptions.fromArgs(args(
                        "--drift.top-sources", "1001"))).getMessage());
        assertEquals(20, E3StreamOptions.fromArgs(args()).get(E3StreamOptions.TOP_SOURCES), "default");
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
    void transactionTimeoutMustCoverCheckpointTimeoutPlusIntervalAndStayWithinTheBrokersMaximum() {
        // Even with no restart delay: a transaction stays open until the checkpoint after it completes.
        assertTrue(assertThrows(IllegalArgumentException.class, () -> E3StreamOptions.fromArgs(args(
                "--kafka.transaction-timeout", "1 min", "--checkpoint.timeout", "1 min", "--checkpoint.interval",
                "10 s", "--job.restart.initial-backoff", "0 s", "--job.restart.max-backoff", "1 ms"))).getMessage()
                .startsWith("kafka.transaction-timeout (PT1M) must exceed checkpoint.interval + checkpoint.timeout + "
                        + "the longest restart delay, job.restart.max-backoff x (1 + job.restart.jitter) (PT10S + PT1M "
                        + "+ PT0.0011S = PT1M10.0011S)"));
        assertEquals("kafka.transaction-timeout (PT20M) must not exceed kafka.broker.transaction-max-timeout (PT15M, "
                + "the brokers' transaction.max.timeout.ms), or the broker refuses the sink's producers; lower it, or "
                + "set kafka.broker.transaction-max-timeout to the brokers' value if they allow more",
                assertThrows(IllegalArgumentException.class, () -> E3StreamOptions.fromArgs(args(
                        "--kafka.transaction-timeout", "20 min"))).getMessage());
        // the user says the brokers allow more
        assertEquals(Duration.ofMinutes(20), E3StreamOptions.fromArgs(args("--kafka.transaction-timeout", "20 min",
                "--kafka.broker.transaction-max-timeout", "1 h")).get(KafkaOptions.TRANSACTION_TIMEOUT));
        // defaults fit: 10 min > 2 min + 2 s, <= 15 min
        E3StreamOptions.fromArgs(args());
        // at-least-once has no transactions to check
        E3StreamOptions.fromArgs(args("--delivery.guarantee", "AT_LEAST_ONCE", "--kafka.transaction-timeout", "1 s"));
    }

    @Test
    void aRecoveryThatCouldOutlastTheTransactionTimeoutStopsStartUpNamingBothKeys() {
        // 2 s + 2 min + 2 min x 1.1 = 4 min 14 s: a restart after a failure just before a commit would commit
        // transactions the broker has aborted
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> E3StreamOptions.fromArgs(
                args("--kafka.transaction-timeout", "4 min", "--job.restart.max-backoff", "2 min")));
        assertEquals("kafka.transaction-timeout (PT4M) must exceed checkpoint.interval + checkpoint.timeout + the "
                + "longest restart delay, job.restart.max-backoff x (1 + job.restart.jitter) (PT2S + PT2M + PT2M12S = "
                + "PT4M14S) with EXACTLY_ONCE: a recovery commits transactions opened that long before, which the "
                + "broker has aborted once they are older than kafka.transaction-timeout (their outputs would be "
                + "lost). Raise kafka.transaction-timeout (at most kafka.broker.transaction-max-timeout) or shorten "
                + "job.restart.max-backoff x (1 + job.restart.jitter)", e.getMessage());
        // either side fixes it
        E3StreamOptions.fromArgs(args("--kafka.transaction-timeout", "5 min", "--job.restart.max-backoff", "2 min"));
        E3StreamOptions.fromArgs(args("--kafka.transaction-timeout", "4 min", "--job.restart.max-backoff", "1 min"));
        // the deployments' settings (deploy/compose, deploy/k8s: 10 s checkpoints, 5 min) with the default restarts
        E3StreamOptions.fromArgs(args("--kafka.transaction-timeout", "5 min", "--checkpoint.interval", "10 s"));
        // at-least-once has no transactions to lose
        E3StreamOptions.fromArgs(args("--delivery.guarantee", "AT_LEAST_ONCE", "--kafka.transaction-timeout", "4 min",
                "--job.restart.max-backoff", "2 min"));
    }

    @Test
    void masksEveryKafkaPropertyWhenPrintedExceptAShortListOfHarmlessOnes() {
        E3StreamOptions o = E3StreamOptions.fromArgs(args(
                "--kafka.properties.sasl.jaas.config", "org.apache.kafka.common.security.scram.ScramLoginModule "
                        + "required username=\"e3\" password=\"jaas-secret\";",
                "--kafka.properties.ssl.keystore.key", "-----BEGIN PRIVATE KEY-----key-secret",
                "--kafka.properties.ssl.key.passphrase", "passphrase-secret",
                "--kafka.properties.ssl.truststore.certificates", "cert-secret",
                "--kafka.properties.ssl.keystore.location", "/etc/secrets/keystore.p12",
                "--kafka.properties.sasl.oauthbearer.token.endpoint.url", "https://idp/token?client_secret=url-secret",
                "--kafka.properties.some.future.credential", "future-secret",
                "--kafka.properties.security.protocol", "SASL_SSL",
                "--kafka.properties.sasl.mechanism", "SCRAM-SHA-512",
                "--kafka.properties.client.id", "e3-prod",
                "--kafka.properties.acks", "all"));
        String printed = o.toString();
        for (String secret : new String[] {"jaas-secret", "key-secret", "passphrase-secret", "cert-secret",
                "/etc/secrets", "url-secret", "future-secret"}) {
            assertFalse(printed.contains(secret), secret + " is masked in " + printed);
        }
        assertTrue(printed.contains("kafka.properties.ssl.key.passphrase=******"), printed);
        assertTrue(printed.contains("kafka.properties.security.protocol=SASL_SSL"), printed);
        assertTrue(printed.contains("kafka.properties.sasl.mechanism=SCRAM-SHA-512"), printed);
        assertTrue(printed.contains("kafka.properties.client.id=e3-prod"), printed);
        assertTrue(printed.contains("kafka.properties.acks=all"), printed);
        assertTrue(printed.contains("kafka.bootstrap-servers=broker:9092"), printed);
        // the clients still get the real values
        assertEquals("passphrase-secret", o.kafkaProperties().getProperty("ssl.key.passphrase"));
    }

    @Test
    void configProviderReferencesReachTheKafkaClientsUnchangedAndTheMaxRequestSizeTheJobReadsIsResolved(@TempDir Path dir)
            throws Exception {
        Path secrets = dir.resolve("kafka-secrets.properties");
        Files.writeString(secrets, "password=jaas-secret\nmax.request.size=2097152\n");
        Path yaml = dir.resolve("job.yaml");
        Files.writeString(yaml, """
                kafka.bootstrap-servers: a:9092
                model.bundle: models/e3
                kafka.properties.config.providers: file,env
                kafka.properties.config.providers.file.class: org.apache.kafka.common.config.provider.FileConfigProvider
                kafka.properties.config.providers.env.class: org.apache.kafka.common.config.provider.EnvVarConfigProvider
                kafka.properties.sasl.jaas.config: org.apache.kafka.common.security.scram.ScramLoginModule required username="e3" password="${file:%1$s:password}";
                kafka.properties.max.request.size: ${file:%1$s:max.request.size}
                """.formatted(secrets));
        E3StreamOptions o = E3StreamOptions.fromArgs(new String[] {"--config", yaml.toString()});
        // the Kafka clients get the reference and resolve it where they run
        assertEquals("org.apache.kafka.common.security.scram.ScramLoginModule required username=\"e3\" password=\"${file:"
                + secrets + ":password}\";", o.kafkaProperties().getProperty("sasl.jaas.config"));
        // the one value the job reads itself (dead letters are sized by it) is resolved as the producer resolves it
        assertEquals(2097152, JobSettings.producerMaxRequestSize(o));
        String printed = o.toString();
        assertFalse(printed.contains("jaas-secret"), printed);
        assertTrue(printed.contains("kafka.properties.config.providers=file,env"), printed);
        assertTrue(printed.contains("kafka.properties.sasl.jaas.config=******"), printed);

        assertEquals("kafka.properties.max.request.size must be a number of bytes, found ${vault:kafka:size} (a "
                + "reference to a config provider that kafka.properties.config.providers does not name?)",
                assertThrows(IllegalArgumentException.class, () -> E3StreamOptions.fromArgs(args(
                        "--kafka.properties.max.request.size", "${vault:kafka:size}"))).getMessage());
    }

    @Test
    void restartAndMetricsBindAddressOptionsAreValidatedNamingTheKey() {
        assertEquals("job.restart.initial-backoff (PT2M) must not exceed job.restart.max-backoff (PT1M)",
                assertThrows(IllegalArgumentException.class, () -> E3StreamOptions.fromArgs(args(
                        "--job.restart.initial-backoff", "2 min"))).getMessage());
        assertEquals("job.restart.backoff-multiplier must be >= 1, found 0.5", assertThrows(IllegalArgumentException.class,
                () -> E3StreamOptions.fromArgs(args("--job.restart.backoff-multiplier", "0.5"))).getMessage());
        assertEquals("job.restart.jitter must be in [0, 1], found 2.0", assertThrows(IllegalArgumentException.class,
                () -> E3StreamOptions.fromArgs(args("--job.restart.jitter", "2"))).getMessage());
        assertEquals("metrics.bind-address must not be empty (0.0.0.0 for all interfaces)",
                assertThrows(IllegalArgumentException.class, () -> E3StreamOptions.fromArgs(args(
                        "--metrics.bind-address", " "))).getMessage());
        assertEquals("0.0.0.0", E3StreamOptions.fromArgs(args()).get(E3StreamOptions.METRICS_BIND_ADDRESS));
        assertEquals("kafka.create-missing-topics=true needs kafka.topic-check-timeout > 0 (the check is what "
                + "creates them)", assertThrows(IllegalArgumentException.class, () -> E3StreamOptions.fromArgs(args(
                        "--kafka.create-missing-topics", "true", "--kafka.topic-check-timeout", "0 s"))).getMessage());
        assertEquals("kafka.create-topics.partitions must be positive or -1 (the broker's default), found 0",
                assertThrows(IllegalArgumentException.class, () -> E3StreamOptions.fromArgs(args(
                        "--kafka.create-topics.partitions", "0"))).getMessage());
    }

    @Test
    void aBatchLargerThanTheQueueIsRefusedAtStartUpNamingBothKeysAndRaisingTheQueueOpensTheSession() throws Exception {
        // Before, start-up accepted this and every task then failed to open its session.
        assertEquals("inference.queue-capacity (4096) must be >= inference.max-batch-size (8192), or batches could "
                + "never fill", assertThrows(IllegalArgumentException.class,
                () -> withTheShippedBundle("--inference.max-batch-size", "8192")).getMessage());

        E3StreamOptions accepted = withTheShippedBundle("--inference.max-batch-size", "8192",
                "--inference.queue-capacity", "8192");
        BundleDescription bundle = BundleDescription.of(ModelBundle.load(Path.of(accepted.get(
                E3StreamOptions.MODEL_BUNDLE))));
        try (ModelSession session = ModelSession.open(JobSettings.sessionSpec(accepted, bundle))) {
            assertEquals(8192, session.spec().maxBatchSize());
            float[] image = new float[bundle.manifest().input().pixelsPerImage()];
            Scored scored = session.score(image, session.scorer(JobSettings.triageOverrides(accepted))).get(60, TimeUnit.SECONDS);
            assertTrue(bundle.manifest().classes().contains(scored.label()), scored.label());
        }
    }

    @Test
    void everyRuleOfTheSessionAndTheDecoderIsCheckedAtStartUpNamingTheKey() {
        // {key, value, the start-up message}: each would otherwise fail every task when it opens its session or
        // decoder.
        String[][] refused = {
            {"inference.max-batch-size", "0", "inference.max-batch-size must be positive, found 0"},
            {"inference.queue-capacity", "0", "inference.queue-capacity must be positive, found 0"},
            {"inference.max-delay", "PT-0.001S",
                "bad value 'PT-0.001S' for inference.max-delay: negative duration is not supported"},
            {"model.intra-op-threads", "-1", "model.intra-op-threads must be >= 0 (0 = default), got -1"},
            {"model.cuda-device-id", "-1", "model.cuda-device-id must be >= 0, got -1"},
            {"model.idle-release", "PT-1S", "bad value 'PT-1S' for model.idle-release: negative duration is not supported"},
            {"decode.max-payload-bytes", "0", "decode.max-payload-bytes must be positive, found 0"},
            {"decode.max-pixels", "-5", "decode.max-pixels must be positive, found -5"},
            {"decode.max-decode-bytes", "0", "decode.max-decode-bytes must be positive, found 0"},
        };
        for (String[] c : refused) {
            assertEquals(c[2], assertThrows(IllegalArgumentException.class,
                    () -> E3StreamOptions.fromArgs(args("--" + c[0], c[1])), c[0]).getMessage());
        }
    }

    @Test
    void configurationsStartUpAcceptsAtTheEdgesOpenTheSession() throws Exception {
        for (String[] more : new String[][] {
            {"--inference.max-batch-size", "1", "--inference.queue-capacity", "256", "--inference.max-delay", "0 ms"},
            {"--inference.max-batch-size", "300", "--inference.queue-capacity", "300", "--model.idle-release", "0 s",
                    "--model.intra-op-threads", "1", "--model.intra-op-spinning", "true"},
        }) {
            E3StreamOptions accepted = withTheShippedBundle(more);
            BundleDescription bundle = BundleDescription.of(ModelBundle.load(Path.of(accepted.get(
                    E3StreamOptions.MODEL_BUNDLE))));
            try (ModelSession session = ModelSession.open(JobSettings.sessionSpec(accepted, bundle))) {
                float[] image = new float[bundle.manifest().input().pixelsPerImage()];
                session.run(image).get(60, TimeUnit.SECONDS);
            }
            ImageDecoder.forInput(bundle.manifest().input(), JobSettings.decodeLimits(accepted));
        }
    }

    @Test
    void withoutSettingsTheJobRunsTheRuntimesDefaults() {
        // The runtime holds each default once; an option that wrote its own would differ here.
        E3StreamOptions unset = withTheShippedBundle();
        BundleDescription bundle = BundleDescription.of(ModelBundle.load(Path.of(unset.get(
                E3StreamOptions.MODEL_BUNDLE))));
        SessionSpec cpu = SessionSpec.cpu(bundle);
        // The job adds what the runtime leaves off by default: a worker stalled for inference.timeout is replaced.
        assertEquals(new SessionSpec(bundle, cpu.device(), cpu.cudaDeviceId(), cpu.intraOpThreads(),
                cpu.intraOpSpinning(), cpu.maxBatchSize(), cpu.maxDelay(), cpu.queueCapacity(), cpu.idleRelease(),
                unset.get(E3StreamOptions.INFERENCE_TIMEOUT)), JobSettings.sessionSpec(unset, bundle));
        assertEquals(DecodeLimits.defaults(), JobSettings.decodeLimits(unset));
        assertEquals(DynamicBatcher.DEFAULT_MAX_BATCH_SIZE, unset.get(E3StreamOptions.MAX_BATCH_SIZE));
        assertEquals(DynamicBatcher.DEFAULT_MAX_DELAY, unset.get(E3StreamOptions.MAX_DELAY));
        assertEquals(DynamicBatcher.DEFAULT_QUEUE_CAPACITY, unset.get(E3StreamOptions.QUEUE_CAPACITY));
        // The values the job ran with before the defaults moved into the runtime: behaviour unchanged.
        assertEquals(List.of(32, Duration.ofMillis(5), 4096, false, Duration.ofMinutes(2), 1 << 20, 4096 * 4096),
                List.of(unset.get(E3StreamOptions.MAX_BATCH_SIZE), unset.get(E3StreamOptions.MAX_DELAY),
                        unset.get(E3StreamOptions.QUEUE_CAPACITY), unset.get(E3StreamOptions.INTRA_OP_SPINNING),
                        unset.get(E3StreamOptions.MODEL_IDLE_RELEASE), unset.get(E3StreamOptions.MAX_PAYLOAD_BYTES),
                        unset.get(E3StreamOptions.MAX_PIXELS)));
    }

    @Test
    void readmeConfigurationTableMatchesTheOptions() throws Exception {
        Path table = TestData.repoRoot().resolve("docs/configuration.md");
        assertEquals(OptionsDoc.markdown(), Files.readString(table, StandardCharsets.UTF_8),
                "docs/configuration.md is stale; regenerate it with e3stream.pipeline.internal.OptionsDoc");
        for (var option : E3StreamOptions.all()) {
            assertTrue(OptionsDoc.description(option).length() > 10, "option " + option.key() + " has a description");
        }
    }

    @Test
    void theBundleRootIsTheFolderOfModelBundleUnlessSetAndMustExist(@TempDir Path dir) throws Exception {
        e3stream.runtime.model.BundleDescription e3 = e3stream.runtime.model.BundleDescription.load(
                TestData.repoRoot().resolve("models/e3"));
        assertEquals(TestData.repoRoot().resolve("models").toRealPath(), JobSettings.bundleRoot(withTheShippedBundle(), e3).path());
        assertEquals(dir.toRealPath(), JobSettings.bundleRoot(withTheShippedBundle("--model.bundle-root", dir.toString()), e3).path());
        String missing = dir.resolve("nope").toString();
        String message = assertThrows(IllegalArgumentException.class,
                () -> JobSettings.bundleRoot(withTheShippedBundle("--model.bundle-root", missing), e3)).getMessage();
        assertTrue(message.startsWith("model.bundle-root: " + missing + " does not exist"), message);
    }
}
