/**
 * Windowed statistics: calibration of labelled predictions and label-free drift per tumbling event-time window,
 * published as Prometheus gauges and JSON snapshots on the calibration topic. The math is
 * {@code e3stream.runtime.stats}.
 */
package e3stream.pipeline.internal.stats;
