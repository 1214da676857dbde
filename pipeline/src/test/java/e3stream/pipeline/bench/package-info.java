/** Benchmark harnesses of the pipeline (run by hand; results in BENCHMARKS.md). */
package e3stream.pipeline.bench;
