package e3stream.runtime.batch;

import java.util.concurrent.RejectedExecutionException;

/**
 * A request was refused because the batcher's queue held {@code queueCapacity} waiting requests. The request was not
 * run; the caller may retry later (back-pressure). Counted in {@code e3_inference_rejected_total}.
 */
public final class BatcherFullException extends RejectedExecutionException {

    private static final long serialVersionUID = 1L;

    BatcherFullException(String message) {
        super(message);
    }
}
