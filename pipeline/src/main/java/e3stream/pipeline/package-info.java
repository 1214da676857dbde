/**
 * The E3 Stream Flink job: its options ({@link e3stream.pipeline.E3StreamOptions}) and the job graph
 * ({@link e3stream.pipeline.E3StreamJob}). Operators live under {@code e3stream.pipeline.internal} and delegate to {@code e3stream.runtime}.
 *
 * <p>What is API: these two classes (annotated {@code @PublicEvolving}), the option keys (docs/configuration.md),
 * the JSON Schemas of the events and snapshots (resources/schemas) and the metric names (deploy/metrics.txt).
 * Everything under {@code e3stream.pipeline.internal} is the job's own wiring (also annotated with Flink's
 * {@code @Internal}): it may change in any commit.
 */
package e3stream.pipeline;
