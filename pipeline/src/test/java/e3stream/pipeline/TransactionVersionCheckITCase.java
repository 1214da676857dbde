package e3stream.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;

import e3stream.pipeline.embedded.EmbeddedKafka;
import e3stream.pipeline.internal.TransactionVersionCheck;
import e3stream.pipeline.testutils.TestData;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.FeatureUpdate;
import org.apache.kafka.clients.admin.FinalizedVersionRange;
import org.apache.kafka.clients.admin.UpdateFeaturesOptions;
import org.junit.jupiter.api.Test;

/**
 * The start-up check of the brokers' transaction protocol against real in-process brokers: one formatted with
 * {@code transaction.version=2} (the Kafka 4.x default) and one with 1.
 */
class TransactionVersionCheckITCase {

    private static E3StreamOptions options(String servers, Map<String, String> extra) {
        Map<String, String> m = new LinkedHashMap<>(Map.of("kafka.bootstrap-servers", servers,
                "model.bundle", TestData.bundle().toString()));
        m.putAll(extra);
        return E3StreamOptions.of(m);
    }

    @Test
    void stopsExactlyOnceStartUpOnAV2BrokerSayingWhatToSetAndPassesOnceTheBrokerIsDowngradedAsItSays()
            throws Exception {
        try (EmbeddedKafka v2 = EmbeddedKafka.start(List.of(), Map.of(), (short) 2)) {
            String servers = v2.bootstrapServers();
            TransactionVersionCheck.TransactionVersionException e = assertThrows(
                    TransactionVersionCheck.TransactionVersionException.class,
                    () -> TransactionVersionCheck.check(options(servers, Map.of())));
            assertEquals("the Kafka brokers " + servers + " (kafka.bootstrap-servers) use transaction protocol v2 "
                    + "(finalized feature transaction.version=2, the default of brokers formatted by Kafka 4.x), with "
                    + "which the job's exactly-once Kafka sink (flink-connector-kafka 5.0) recovers transactions after "
                    + "a restart with the v1 protocol: it reports transactions committed before the failure as fenced "
                    + "('most likely signals data loss') and cannot recover one whose commit rolled its producer id "
                    + "over (FLINK-40689). Set transaction.version=1 on the brokers (kafka-features.sh "
                    + "--bootstrap-server " + servers + " downgrade --feature transaction.version=1, or format new "
                    + "brokers with kafka-storage.sh format --feature transaction.version=1), or run with "
                    + "delivery.guarantee AT_LEAST_ONCE, or start with --kafka.allow-transaction-version-2 true to run "
                    + "on v2 anyway", e.getMessage());
            // The job built into an environment of one's own runs the same check as E3StreamJob.main.
            IllegalStateException built = assertThrows(IllegalStateException.class, () -> E3StreamJob.build(
                    StreamExecutionEnvironment.createLocalEnvironment(1), options(servers, Map.of())));
            assertEquals(e.getMessage(), built.getMessage());

            // the two ways out that leave the broker as it is
            assertEquals(-1, TransactionVersionCheck.check(options(servers, Map.of(
                    "delivery.guarantee", "AT_LEAST_ONCE"))), "at-least-once needs no transactions");
            assertEquals(2, TransactionVersionCheck.check(options(servers, Map.of(
                    "kafka.allow-transaction-version-2", "true"))), "allowed: starts, with a warning");

            // what the message says to do, as kafka-features.sh downgrade does it (a safe downgrade)
            Properties props = new Properties();
            props.put("bootstrap.servers", servers);
            try (Admin admin = Admin.create(props)) {
                admin.updateFeatures(Map.of(TransactionVersionCheck.FEATURE,
                        new FeatureUpdate((short) 1, FeatureUpdate.UpgradeType.SAFE_DOWNGRADE)),
                        new UpdateFeaturesOptions()).all().get();
                long deadline = System.nanoTime() + 30_000_000_000L;
                FinalizedVersionRange range;
                do {
                    range = admin.describeFeatures().featureMetadata().get().finalizedFeatures()
                            .get(TransactionVersionCheck.FEATURE);
                } while (range.maxVersionLevel() != 1 && System.nanoTime() < deadline);
            }
            assertEquals(1, TransactionVersionCheck.check(options(servers, Map.of())));
        }
    }

    @Test
    void passesOnABrokerFormattedWithTransactionVersion1() throws Exception {
        try (EmbeddedKafka v1 = EmbeddedKafka.start(List.of(), Map.of(), (short) 1)) {
            assertEquals(1, TransactionVersionCheck.check(options(v1.bootstrapServers(), Map.of())));
        }
    }

    @Test
    void isSkippedWithTheStartUpChecks() throws Exception {
        // no broker on this port: skipped, nothing asked
        assertEquals(-1, TransactionVersionCheck.check(options("127.0.0.1:" + CalibrationITCase.freePort(),
                Map.of("kafka.topic-check-timeout", "0 s"))));
    }
}
