/**
 * Benchmark harnesses, run from the command line (test sources: neither tests nor part of the shipped runtime):
 * {@link e3stream.runtime.bench.BatcherBenchmark} measures the dynamic batcher against direct ONNX Runtime calls on a
 * shipped model bundle. Results are recorded, with the command and the machine, in BENCHMARKS.md at the repository
 * root.
 */
package e3stream.runtime.bench;
