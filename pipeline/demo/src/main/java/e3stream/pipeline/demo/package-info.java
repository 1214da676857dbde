/**
 * The embedded demo: an in-process Kafka broker, a Flink MiniCluster and the job, fed with Fashion-MNIST images in
 * three phases (clean, corrupted, out-of-distribution digits) and delayed labels; plus the event writers it uses.
 */
package e3stream.pipeline.demo;
