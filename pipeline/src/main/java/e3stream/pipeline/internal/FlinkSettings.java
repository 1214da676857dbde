package e3stream.pipeline.internal;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.time.Duration;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.ExternalizedCheckpointRetention;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ConfigOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.ReadableConfig;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.configuration.StateChangelogOptions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import e3stream.pipeline.E3StreamOptions;
import org.apache.flink.annotation.Internal;

/** The Flink settings the job brings wherever it runs: restart strategy, checkpoint storage and retention, changelog. */
@Internal
public final class FlinkSettings {
    private static final Logger LOG = LoggerFactory.getLogger(FlinkSettings.class);

    private FlinkSettings() {
    }

    /**
     * Flink settings the job needs wherever it runs: the restart strategy, and checkpoint storage when
     * {@code checkpoint.dir} is set (otherwise the cluster's own storage settings apply). As
     * {@link #flinkConfiguration(E3StreamOptions, ReadableConfig)} on a cluster that sets no restart strategy.
     */
    public static Configuration flinkConfiguration(E3StreamOptions options) {
        return flinkConfiguration(options, new Configuration());
    }

    /**
     * Flink settings the job needs on a cluster whose own configuration is {@code cluster}: Flink's exponential-delay
     * restart strategy with reset from the {@code job.restart*} options, unless {@code cluster} sets
     * {@code restart-strategy.type} (then the cluster's strategy is kept and the job sets none); checkpoint storage
     * when {@code checkpoint.dir} is set.
     */
    public static Configuration flinkConfiguration(E3StreamOptions options, ReadableConfig cluster) {
        Configuration conf = new Configuration();
        if (cluster.getOptional(RestartStrategyOptions.RESTART_STRATEGY).isPresent()) {
            LOG.info("keeping the cluster's restart strategy {} (restart-strategy.type is set there); the job's "
                    + "job.restart* options do not apply", cluster.get(RestartStrategyOptions.RESTART_STRATEGY));
            checkClusterRestartDelay(options, cluster);
        } else {
            conf.set(RestartStrategyOptions.RESTART_STRATEGY, "exponential-delay");
            conf.set(RestartStrategyOptions.RESTART_STRATEGY_EXPONENTIAL_DELAY_INITIAL_BACKOFF,
                    options.get(E3StreamOptions.RESTART_INITIAL_BACKOFF));
            conf.set(RestartStrategyOptions.RESTART_STRATEGY_EXPONENTIAL_DELAY_MAX_BACKOFF,
                    options.get(E3StreamOptions.RESTART_MAX_BACKOFF));
            conf.set(RestartStrategyOptions.RESTART_STRATEGY_EXPONENTIAL_DELAY_BACKOFF_MULTIPLIER,
                    options.get(E3StreamOptions.RESTART_BACKOFF_MULTIPLIER));
            conf.set(RestartStrategyOptions.RESTART_STRATEGY_EXPONENTIAL_DELAY_RESET_BACKOFF_THRESHOLD,
                    options.get(E3StreamOptions.RESTART_RESET_BACKOFF_THRESHOLD));
            conf.set(RestartStrategyOptions.RESTART_STRATEGY_EXPONENTIAL_DELAY_JITTER_FACTOR,
                    options.get(E3StreamOptions.RESTART_JITTER));
            conf.set(RestartStrategyOptions.RESTART_STRATEGY_EXPONENTIAL_DELAY_ATTEMPTS,
                    options.get(E3StreamOptions.RESTART_ATTEMPTS));
        }
        if (options.isSet(E3StreamOptions.CHECKPOINT_DIR)) {
            checkpointsTo(conf, options.get(E3StreamOptions.CHECKPOINT_DIR));
        }
        if (options.get(E3StreamOptions.CHECKPOINT_CHANGELOG)) {
            changelogOn(conf, cluster);
        }
        // The last checkpoint outlives a job that failed for good or was cancelled, so it can be resumed from
        // (docs/operations.md, "Resuming after a failure"); a cluster's own setting is kept.
        if (cluster.getOptional(CheckpointingOptions.EXTERNALIZED_CHECKPOINT_RETENTION).isEmpty()) {
            conf.set(CheckpointingOptions.EXTERNALIZED_CHECKPOINT_RETENTION,
                    ExternalizedCheckpointRetention.RETAIN_ON_CANCELLATION);
        }
        return conf;
    }

    /**
     * {@link OptionRules#checkRecoveryWithinTransactionTimeout} for the restart strategy the cluster sets
     * (restart-strategy.type and its delay keys); a strategy that never restarts has no recovery to check.
     */
    private static void checkClusterRestartDelay(E3StreamOptions options, ReadableConfig cluster) {
        String type = cluster.get(RestartStrategyOptions.RESTART_STRATEGY).toLowerCase(java.util.Locale.ROOT)
                .replace("-", "");
        Duration delay;
        String keys;
        switch (type) {
            case "fixeddelay" -> {
                delay = cluster.get(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_DELAY);
                keys = RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_DELAY.key();
            }
            case "failurerate" -> {
                delay = cluster.get(RestartStrategyOptions.RESTART_STRATEGY_FAILURE_RATE_DELAY);
                keys = RestartStrategyOptions.RESTART_STRATEGY_FAILURE_RATE_DELAY.key();
            }
            case "exponentialdelay" -> {
                delay = Duration.ofNanos((long) (cluster.get(
                        RestartStrategyOptions.RESTART_STRATEGY_EXPONENTIAL_DELAY_MAX_BACKOFF).toNanos()
                        * (1 + cluster.get(RestartStrategyOptions.RESTART_STRATEGY_EXPONENTIAL_DELAY_JITTER_FACTOR))));
                keys = RestartStrategyOptions.RESTART_STRATEGY_EXPONENTIAL_DELAY_MAX_BACKOFF.key() + " x (1 + "
                        + RestartStrategyOptions.RESTART_STRATEGY_EXPONENTIAL_DELAY_JITTER_FACTOR.key() + ")";
            }
            default -> {
                return; // none, off, disable
            }
        }
        OptionRules.checkRecoveryWithinTransactionTimeout(options, delay, keys + " of the cluster's restart strategy");
    }

    /** Flink's key of the changelog's folder (FsStateChangelogOptions.BASE_PATH, in the cluster's flink-dist jar). */
    private static final ConfigOption<String> CHANGELOG_BASE_PATH = ConfigOptions
            .key("state.changelog.dstl.dfs.base-path").stringType().noDefaultValue()
            .withDeprecatedKeys("dstl.dfs.base-path");

    /**
     * The changelog state backend for this job ({@code checkpoint.changelog}). Where the log goes is the
     * TaskManagers' own setting (Flink reads {@code state.changelog.storage} and {@code state.changelog.dstl.dfs.base-path} from the
     * TaskManager's configuration, not the job's), so a cluster must have both; a MiniCluster run gets them from
     * {@link #localConfiguration}.
     */
    private static void changelogOn(Configuration conf, ReadableConfig cluster) {
        String storage = cluster.get(StateChangelogOptions.STATE_CHANGE_LOG_STORAGE);
        if (!"filesystem".equalsIgnoreCase(storage) || cluster.getOptional(CHANGELOG_BASE_PATH).isEmpty()) {
            throw new IllegalArgumentException(E3StreamOptions.CHECKPOINT_CHANGELOG.key() + " is true, but the "
                    + "cluster keeps no durable state changelog: set " + StateChangelogOptions.STATE_CHANGE_LOG_STORAGE.key()
                    + ": filesystem and " + CHANGELOG_BASE_PATH.key() + ": <a durable folder, like the checkpoints'> "
                    + "in the cluster's Flink configuration (its TaskManagers read them; found storage '" + storage
                    + "', folder " + cluster.getOptional(CHANGELOG_BASE_PATH).orElse("unset") + ")");
        }
        conf.set(StateChangelogOptions.ENABLE_STATE_CHANGE_LOG, true);
    }

    /**
     * {@link #flinkConfiguration} for a MiniCluster in this JVM (embedded demo, local run, tests): without
     * {@code checkpoint.dir}, checkpoints go to a new folder under {@code java.io.tmpdir} instead of Flink's 5 MB
     * in-memory default, which the label-join state outgrows.
     */
    public static Configuration localConfiguration(E3StreamOptions options) {
        Configuration local = new Configuration(); // the MiniCluster's own settings, as a cluster's would be
        String checkpoints = options.isSet(E3StreamOptions.CHECKPOINT_DIR)
                ? options.get(E3StreamOptions.CHECKPOINT_DIR) : null;
        if (checkpoints == null) {
            try {
                checkpoints = Files.createTempDirectory("e3stream-checkpoints-").toUri().toString();
            } catch (IOException e) {
                throw new UncheckedIOException("cannot create a checkpoint folder under java.io.tmpdir; set "
                        + E3StreamOptions.CHECKPOINT_DIR.key(), e);
            }
            checkpointsTo(local, checkpoints);
        }
        if (options.get(E3StreamOptions.CHECKPOINT_CHANGELOG)) {
            local.set(StateChangelogOptions.STATE_CHANGE_LOG_STORAGE, "filesystem");
            local.set(CHANGELOG_BASE_PATH, checkpoints.replaceAll("/+$", "") + "/changelog");
        }
        Configuration conf = flinkConfiguration(options, local);
        conf.addAll(local);
        return conf;
    }

    private static void checkpointsTo(Configuration conf, String directory) {
        conf.set(CheckpointingOptions.CHECKPOINT_STORAGE, "filesystem");
        conf.set(CheckpointingOptions.CHECKPOINTS_DIRECTORY, directory);
    }
}
