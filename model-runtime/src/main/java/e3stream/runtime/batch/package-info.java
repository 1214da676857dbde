/**
 * Dynamic batching of single requests in front of one batch function (typically one ONNX Runtime session).
 *
 * <p>{@link e3stream.runtime.batch.DynamicBatcher} collects requests from many threads into batches of at most
 * {@code maxBatchSize}, waiting at most {@code maxDelay} for a batch to fill, and completes each request's future with
 * its own result. {@link e3stream.runtime.batch.BatcherMetrics} exports batch size, inference time, queue wait, queue
 * depth and rejections to Prometheus (simpleclient). Pure Java, no Flink.
 */
package e3stream.runtime.batch;
