/**
 * In-process infrastructure for the embedded demo, the integration tests and the benchmark: a single-node KRaft
 * Kafka broker ({@link e3stream.pipeline.embedded.EmbeddedKafka}) and builders of valid image and label events
 * ({@link e3stream.pipeline.embedded.ImageEvents}). A module of its own, so the broker never ships in the cluster jar.
 */
package e3stream.pipeline.embedded;
