/**
 * The job's own wiring, not API: operators, event codecs, metrics and statics that {@link e3stream.pipeline.E3StreamJob}
 * assembles. Public only because the job graph is built across these packages; any of it may change in any commit.
 */
package e3stream.pipeline.internal;
