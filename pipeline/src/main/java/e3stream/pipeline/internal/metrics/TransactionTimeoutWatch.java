package e3stream.pipeline.internal.metrics;

import java.io.Serializable;
import java.time.Duration;
import java.util.List;

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
 * <p>Used by an operator in front of the sink, at the sink's parallelism: it keeps, in union operator state, when the
 * transactions of each checkpoint were opened (the time of the checkpoint before it, or of the start), a
 * conservative bound as its barrier reaches the sink a moment later.
 */
@Internal
public final class TransactionTimeoutWatch implements Serializable {

    private static final long serialVersionUID = 1L;
    private static final Logger LOG = LoggerFactory.getLogger(TransactionTimeoutWatch.class);

    private final long timeoutMs;
    private transient ListState<Long> openedAtState;
    private transient long openedAtMs;

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

    /** From the operator's {@code snapshotState}: the transactions of the next checkpoint open now. */
    public void snapshotState() throws Exception {
        openedAtState.update(List.of(openedAtMs));
        openedAtMs = System.currentTimeMillis();
    }
}
