/** Delayed labels: parsing, and the keyed, TTL-bounded join of labels to predictions by id. */
package e3stream.pipeline.internal.labels;
