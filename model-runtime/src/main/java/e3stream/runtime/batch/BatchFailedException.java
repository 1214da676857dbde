package e3stream.runtime.batch;

/**
 * The batch function failed (threw, or returned the wrong number of results) for the batch that held this request.
 * Every request of that batch fails with its own instance of this exception; {@link #getCause()} is what the batch
 * function threw (null when it returned the wrong number of results). The batcher keeps serving later batches.
 */
public final class BatchFailedException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    private final int batchSize;

    BatchFailedException(String message, int batchSize, Throwable cause) {
        super(message, cause);
        this.batchSize = batchSize;
    }

    /** Number of requests in the failed batch. */
    public int batchSize() {
        return batchSize;
    }
}
