package e3stream.pipeline.internal;

import e3stream.pipeline.E3StreamOptions;
import e3stream.pipeline.KafkaOptions;
import java.time.Duration;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.DescribeFeaturesOptions;
import org.apache.kafka.clients.admin.FeatureMetadata;
import org.apache.kafka.clients.admin.FinalizedVersionRange;
import org.apache.kafka.common.errors.UnsupportedVersionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.apache.flink.annotation.Internal;

/**
 * The start-up check of the brokers' transaction protocol, for the exactly-once sink: reads the finalized feature
 * {@code transaction.version} (Kafka {@link Admin#describeFeatures}, with the job's {@code kafka.properties.*}) and
 * stops start-up when it is 2 or more, with a message naming the brokers and what to set on them, unless
 * {@code kafka.allow-transaction-version-2} is true.
 *
 * <p>Why: with transaction protocol v2 (KIP-890; brokers formatted by Kafka 4.x have it unless told otherwise) the
 * broker bumps a producer's epoch when it ends each transaction, and the Flink Kafka sink (flink-connector-kafka
 * 5.0) does not know the protocol: its committer resumes a transaction restored from a checkpoint with the v1
 * protocol and the epoch of the checkpoint. A transaction committed before the failure is then refused as fenced
 * on its re-commit (logged by the sink as "most likely signals data loss", a warning that v1 brokers give only for a
 * reused id), and a transaction whose commit rolled the producer id over (epoch 32767) cannot be recovered
 * (FLINK-40689, open). v1 has neither.
 *
 * <pre>{@code
 * TransactionVersionCheck.check(options); // throws TransactionVersionException saying what to set on the brokers
 * }</pre>
 */
@Internal
public final class TransactionVersionCheck {

    private static final Logger LOG = LoggerFactory.getLogger(TransactionVersionCheck.class);

    /** The broker feature that selects the transaction protocol. */
    public static final String FEATURE = "transaction.version";

    private TransactionVersionCheck() {
    }

    /** Start-up cannot go on: the brokers use a transaction protocol the sink cannot recover with, or did not say. */
    public static final class TransactionVersionException extends Exception {
        private static final long serialVersionUID = 1L;

        TransactionVersionException(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /**
     * Checks the brokers' {@code transaction.version} when {@code delivery.guarantee} is EXACTLY_ONCE; does nothing
     * with AT_LEAST_ONCE or when {@code kafka.topic-check-timeout} is 0.
     *
     * @return the brokers' finalized {@code transaction.version} (0 when they finalize none), or -1 when not checked
     * @throws TransactionVersionException when it is 2 or more and {@code kafka.allow-transaction-version-2} is false
     *     (the message names the brokers and what to set), or when the brokers did not answer
     */
    public static int check(E3StreamOptions options) throws TransactionVersionException {
        Duration timeout = options.get(KafkaOptions.TOPIC_CHECK_TIMEOUT);
        if (options.get(E3StreamOptions.DELIVERY) != E3StreamOptions.Delivery.EXACTLY_ONCE || timeout.isZero()) {
            return -1;
        }
        String brokers = options.get(KafkaOptions.BOOTSTRAP_SERVERS);
        boolean allowed = options.get(KafkaOptions.ALLOW_TRANSACTION_VERSION_2);
        int version = finalizedVersion(options, brokers, timeout);
        if (version < 2) {
            LOG.info("the Kafka brokers {} use transaction protocol v{} ({}={}): fine for the exactly-once sink",
                    brokers, Math.max(version, 1), FEATURE, version);
            return version;
        }
        String risk = "the Kafka brokers " + brokers + " (" + KafkaOptions.BOOTSTRAP_SERVERS.key() + ") use "
                + "transaction protocol v2 (finalized feature " + FEATURE + "=" + version + ", the default of brokers "
                + "formatted by Kafka 4.x), with which the job's exactly-once Kafka sink (flink-connector-kafka 5.0) "
                + "recovers transactions after a restart with the v1 protocol: it reports transactions committed "
                + "before the failure as fenced ('most likely signals data loss') and cannot recover one whose "
                + "commit rolled its producer id over (FLINK-40689)";
        if (allowed) {
            LOG.warn("{}; starting anyway ({}=true)", risk, KafkaOptions.ALLOW_TRANSACTION_VERSION_2.key());
            return version;
        }
        throw new TransactionVersionException(risk + ". Set " + FEATURE + "=1 on the brokers (kafka-features.sh "
                + "--bootstrap-server " + brokers + " downgrade --feature " + FEATURE + "=1, or format new brokers "
                + "with kafka-storage.sh format --feature " + FEATURE + "=1), or run with "
                + E3StreamOptions.DELIVERY.key() + " AT_LEAST_ONCE, or start with --"
                + KafkaOptions.ALLOW_TRANSACTION_VERSION_2.key() + " true to run on v2 anyway", null);
    }

    /** The brokers' finalized {@code transaction.version}, 0 when they finalize none (brokers before Kafka 4.0). */
    private static int finalizedVersion(E3StreamOptions options, String brokers, Duration timeout)
            throws TransactionVersionException {
        try (Admin admin = Admin.create(TopicCheck.adminProperties(options, timeout, "transaction-version-check"))) {
            FeatureMetadata features = admin.describeFeatures(new DescribeFeaturesOptions()
                    .timeoutMs((int) Math.min(Integer.MAX_VALUE, timeout.toMillis())))
                    .featureMetadata().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            FinalizedVersionRange range = features.finalizedFeatures().get(FEATURE);
            return range == null ? 0 : range.maxVersionLevel();
        } catch (ExecutionException e) {
            if (e.getCause() instanceof UnsupportedVersionException) {
                return 0; // brokers without feature flags have no transaction protocol v2
            }
            throw unanswered(brokers, timeout, e.getCause());
        } catch (TimeoutException e) {
            throw unanswered(brokers, timeout, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new TransactionVersionException("interrupted while reading " + FEATURE + " of " + brokers, e);
        }
    }

    private static TransactionVersionException unanswered(String brokers, Duration timeout, Throwable cause) {
        return new TransactionVersionException("cannot read the feature " + FEATURE + " of the Kafka brokers "
                + brokers + " within " + timeout + " (" + KafkaOptions.TOPIC_CHECK_TIMEOUT.key() + "): " + cause
                + "; check " + KafkaOptions.BOOTSTRAP_SERVERS.key() + " and the security settings in "
                + E3StreamOptions.KAFKA_PROPERTIES_PREFIX + "*, or set " + KafkaOptions.TOPIC_CHECK_TIMEOUT.key()
                + " 0 to skip the start-up checks", cause);
    }
}
