/** Prometheus metrics of the job (shared/DESIGN.md section 4) and the per-JVM HTTP endpoint that serves them. */
package e3stream.pipeline.internal.metrics;
