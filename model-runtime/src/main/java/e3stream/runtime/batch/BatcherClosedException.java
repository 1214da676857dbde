package e3stream.runtime.batch;

/**
 * A request was not (or not completely) run because its batcher was closed: either it was submitted after
 * {@link DynamicBatcher#close()}, or it was still waiting in the queue, or its batch outlived the shutdown timeout.
 */
public final class BatcherClosedException extends IllegalStateException {

    private static final long serialVersionUID = 1L;

    BatcherClosedException(String message) {
        super(message);
    }
}
