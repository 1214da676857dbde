/**
 * Calibration and drift statistics over a stream of predictions: {@link e3stream.runtime.stats.CalibrationStats}
 * (with labels) and {@link e3stream.runtime.stats.DriftStats} (label-free, against the bundle's
 * {@link e3stream.runtime.stats.ReferenceDistributions}). Both are mergeable accumulators with bounded memory,
 * {@link java.io.Serializable} (so Flink can keep them as state and combine subtasks), and {@code merge(a, b)} gives
 * exactly the state of accumulating the union. {@code snapshot()} returns immutable records for JSON and metrics.
 * Built with a number of sources, both also keep their figures for the busiest sources of the stream and
 * {@code other} ({@link e3stream.runtime.stats.TopSources}: Space-Saving over a fixed number of slots, so memory and
 * the set of source names stay bounded).
 *
 * <p>Pure Java, no Flink.
 */
package e3stream.runtime.stats;
