package e3stream.pipeline.testutils;

import java.util.function.UnaryOperator;
import e3stream.pipeline.internal.JobGraph;
import e3stream.pipeline.internal.FlinkSettings;

import e3stream.pipeline.E3StreamOptions;
import e3stream.pipeline.internal.inference.DecodedImage;
import org.apache.flink.api.common.JobStatus;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.StateRecoveryOptions;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.core.execution.SavepointFormatType;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

/** The job running on a Flink MiniCluster in this JVM; {@link #close()} cancels it. */
public final class RunningJob implements AutoCloseable {

    private final JobClient client;

    private RunningJob(JobClient client) {
        this.client = client;
    }

    public static RunningJob start(E3StreamOptions options) throws Exception {
        return start(options, UnaryOperator.identity());
    }

    /**
     * The job on a MiniCluster whose Flink configuration also has {@code flinkSettings}, as a cluster's own
     * configuration would (benchmark experiments: {@code state.backend.type}, for one).
     */
    public static RunningJob start(E3StreamOptions options, Configuration flinkSettings) throws Exception {
        return start(options, UnaryOperator.identity(), null, flinkSettings);
    }

    public static RunningJob start(E3StreamOptions options, UnaryOperator<DataStream<DecodedImage>> hook) throws Exception {
        return start(options, hook, null, new Configuration());
    }

    /** The job restored from a savepoint (or retained checkpoint) at {@code savepointPath}. */
    public static RunningJob fromSavepoint(E3StreamOptions options, String savepointPath) throws Exception {
        return start(options, UnaryOperator.identity(), savepointPath, new Configuration());
    }

    private static RunningJob start(E3StreamOptions options, UnaryOperator<DataStream<DecodedImage>> hook,
                                    String savepointPath, Configuration flinkSettings) throws Exception {
        Configuration conf = FlinkSettings.localConfiguration(options);
        conf.addAll(flinkSettings);
        if (savepointPath != null) {
            conf.set(StateRecoveryOptions.SAVEPOINT_PATH, savepointPath);
        }
        StreamExecutionEnvironment env = StreamExecutionEnvironment.createLocalEnvironment(
                options.get(E3StreamOptions.PARALLELISM), conf);
        JobGraph.build(env, options, hook);
        return new RunningJob(env.executeAsync(options.get(E3StreamOptions.JOB_NAME)));
    }

    /** Stops the job with a savepoint under {@code directory} (canonical format) and returns its path. */
    public String stopWithSavepoint(String directory) throws Exception {
        return client.stopWithSavepoint(false, directory, SavepointFormatType.CANONICAL).get();
    }

    public JobStatus status() throws Exception {
        return client.getJobStatus().get();
    }

    @Override
    public void close() throws Exception {
        JobStatus status;
        try {
            status = client.getJobStatus().get();
        } catch (Exception e) {
            return; // stopped (e.g. with a savepoint) and its MiniCluster already gone
        }
        if (!status.isGloballyTerminalState()) {
            client.cancel().get();
        }
    }
}
