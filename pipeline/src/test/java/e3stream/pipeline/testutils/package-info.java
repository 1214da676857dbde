/** Shared helpers of the pipeline tests: Kafka clients, data and bundle locations, the running job. */
package e3stream.pipeline.testutils;
