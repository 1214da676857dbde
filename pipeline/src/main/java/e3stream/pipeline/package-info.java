/**
 * The E3 Stream Flink job: its options ({@link e3stream.pipeline.E3StreamOptions}) and the job graph
 * ({@link e3stream.pipeline.E3StreamJob}). Operators live in sub-packages and delegate to {@code e3stream.runtime}.
 */
package e3stream.pipeline;
