/** Prometheus metrics of the job (docs/design.md, "Metrics") and the per-JVM HTTP endpoint that serves them. */
package e3stream.pipeline.internal.metrics;
