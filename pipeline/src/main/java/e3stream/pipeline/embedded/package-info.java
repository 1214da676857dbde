/** In-process infrastructure for the embedded demo and the integration tests: a single-node KRaft Kafka broker. */
package e3stream.pipeline.embedded;
