package e3stream.pipeline.internal;

import e3stream.pipeline.internal.events.OutputRecord;
import e3stream.pipeline.internal.events.Prediction;
import e3stream.pipeline.internal.metrics.MetricsServer;
import e3stream.pipeline.internal.metrics.PortRange;
import e3stream.pipeline.internal.metrics.TransactionTimeoutWatch;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.functions.RichMapFunction;
import org.apache.flink.runtime.state.FunctionInitializationContext;
import org.apache.flink.runtime.state.FunctionSnapshotContext;
import org.apache.flink.streaming.api.checkpoint.CheckpointedFunction;
import org.apache.flink.api.common.state.CheckpointListener;
import org.apache.flink.annotation.Internal;

/**
 * Addresses a prediction to {@code predictions} or {@code review}; starts the JVM's metrics endpoint; notices a
 * recovery that outlasted the sink's transaction timeout ({@link TransactionTimeoutWatch}).
 */
@Internal
public final class ToOutput extends RichMapFunction<Prediction, OutputRecord>
        implements CheckpointedFunction, CheckpointListener {
    private static final long serialVersionUID = 1L;
    private final String acceptTopic;
    private final String reviewTopic;
    private final PortRange metricsPorts;
    private final String metricsBindAddress;
    private final TransactionTimeoutWatch transactions;

    public ToOutput(String acceptTopic, String reviewTopic, PortRange metricsPorts, String metricsBindAddress,
             TransactionTimeoutWatch transactions) {
        this.acceptTopic = acceptTopic;
        this.reviewTopic = reviewTopic;
        this.metricsPorts = metricsPorts;
        this.metricsBindAddress = metricsBindAddress;
        this.transactions = transactions;
    }

    @Override
    public void initializeState(FunctionInitializationContext context) throws Exception {
        transactions.initializeState(context, getRuntimeContext().getTaskInfo().getIndexOfThisSubtask());
    }

    @Override
    public void snapshotState(FunctionSnapshotContext context) throws Exception {
        transactions.snapshotState(context.getCheckpointId());
    }

    @Override
    public void notifyCheckpointComplete(long checkpointId) {
        transactions.checkpointCompleted(checkpointId);
    }

    @Override
    public void open(OpenContext context) {
        // The endpoint is JVM-wide; it goes when the job's class loader is released (cancel in a session cluster).
        JvmStatics.releaseWithJob(getRuntimeContext());
        MetricsServer.ensureStarted(metricsBindAddress, metricsPorts);
    }

    @Override
    public OutputRecord map(Prediction p) {
        return new OutputRecord(p.accepted ? acceptTopic : reviewTopic, p.id, p.toJson(), p.timestamp);
    }
}
