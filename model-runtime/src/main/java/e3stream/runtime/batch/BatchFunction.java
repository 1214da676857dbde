package e3stream.runtime.batch;

import java.util.List;

/**
 * Computes the results of one batch, e.g. one ONNX Runtime call on the stacked inputs.
 *
 * <p>A {@link DynamicBatcher} calls its function from its single worker thread only, one batch at a time, so the
 * function need not be thread-safe.
 *
 * @param <I> one request's input
 * @param <O> one request's result
 */
@FunctionalInterface
public interface BatchFunction<I, O> {

    /**
     * @param inputs 1..maxBatchSize inputs, in submission order; the list must not be kept after returning
     * @return exactly one result per input, in the same order
     * @throws Exception any failure; the batcher fails every request of this batch with it and keeps serving
     */
    List<O> apply(List<I> inputs) throws Exception;
}
