package e3stream.pipeline.internal.metrics;

import java.io.Serializable;
import java.time.Duration;
import java.util.List;
import java.util.TreeMap;

import org.apache.flink.annotation.Internal;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.runtime.state.FunctionInitializationContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Notices a recovery that took longer than the exactly-once sink's {@code kafka.transaction-timeout}. On a restore,
 * the Kafka sink commits the transactions of the restored checkpoint, which were opened when the checkpoint before it
 * was taken; the broker aborts a transaction older than its timeout, so if any of them had not been committed before
 * the failure, their outputs are lost, and the sink says so only in its log. This counts such restores in
 * {@code e3_recoveries_past_transaction_timeout_total} (once per restore, on subtask 0) and logs an error pointing to
 * the runbook.
 *
 * <p>Used by an operator in front of the sink, at the sink's parallelism: it keeps, in union operator state, since
 * when the transactions a checkpoint restores may have been open: the time of the last checkpoint that had completed
 * when it was taken (the sink commits everything before that checkpoint once it completes), or of the start. A
 * checkpoint that fails leaves its transactions to the next one, so this does not take the previous checkpoint's
 * time. It is a conservative bound, as a barrier reaches the sink a moment after this operator.
 */
@Internal
public final class TransactionTimeoutWatch implements Serializable {

    private static final long serialVersionUID = 1L;
    private static final Logger LOG = LoggerFactory.getLogger(TransactionTimeoutWatch.class);

    private final long timeoutMs;
    private transient ListState<Long> openedAtState;
    /** Since when transactions may be uncommitted: the snapshot time of the last completed checkpoint, or the start. */
    private transient long openedAtMs;
    /** Snapshot times of the checkpoints taken and not yet known complete, by checkpoint id. */
    private transient TreeMap<Long, Long> snapshots;

    /** @param transactionTimeout the sink's transaction timeout; 0 without transactions (at-least-once): no check */
    public TransactionTimeoutWatch(Duration transactionTimeout) {
        this.timeoutMs = transactionTimeout.toMillis();
    }

    /** From the operator's {@code initializeState}: checks the restored checkpoint's transactions' age. */
    public void initializeState(FunctionInitializationContext context, int subtask) throws Exception {
        openedAtState = context.getOperatorStateStore().getUnionListState(
                new ListStateDescriptor<>("transactions-opened-at", Types.LONG));
        long now = System.currentTimeMillis();
        openedAtMs = now;
        snapshots = new TreeMap<>();
        if (!context.isRestored() || subtask != 0 || timeoutMs <= 0) {
            return;
        }
        long oldest = Long.MAX_VALUE;
        for (Long openedAt : openedAtState.get()) {
            oldest = Math.min(oldest, openedAt);
        }
        if (oldest != Long.MAX_VALUE) {
            restored(now - oldest);
        }
    }

    /**
     * A restore whose transactions were opened {@code ageMs} ago: counted when that exceeds the timeout.
     *
     * @return whether it was counted
     */
    boolean restored(long ageMs) {
        if (ageMs <= timeoutMs) {
            return false;
        }
        PipelineMetrics.get().recoveriesPastTransactionTimeout.inc();
        LOG.error("restored from a checkpoint whose Kafka transactions were opened {} ago, longer than "
                + "kafka.transaction-timeout ({}): the broker has aborted those of them that were not committed "
                + "before the failure, and their outputs are lost (the Kafka sink logs the commits that failed). "
                + "See docs/operations.md, \"Resuming after a failure\"", Duration.ofMillis(ageMs),
                Duration.ofMillis(timeoutMs));
        return true;
    }

    /** From the operator's {@code snapshotState}. */
    public void snapshotState(long checkpointId) throws Exception {
        openedAtState.update(List.of(openedAtMs));
        snapshots.put(checkpointId, System.currentTimeMillis());
    }

    /**
     * From the operator's {@code notifyCheckpointComplete}: the transactions before this checkpoint are committed, so
     * the uncommitted ones opened when it was taken.
     */
    public void checkpointCompleted(long checkpointId) {
        Long taken = snapshots.get(checkpointId);
        if (taken != null) {
            openedAtMs = taken;
        }
        snapshots.headMap(checkpointId, true).clear();
    }
}
