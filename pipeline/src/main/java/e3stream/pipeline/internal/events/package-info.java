/**
 * The events of docs/design.md, "Events and snapshots", as the job sees them: raw Kafka records with their
 * coordinates, validated image and label events, prediction events, dead letters and the single output record type
 * of the Kafka sink.
 * JSON Schemas of every event type are in {@code src/main/resources/schemas/}.
 */
package e3stream.pipeline.internal.events;
