/**
 * Decoding and batched E3 inference: the parse/decode operator (dead letters for bad data), the JVM-wide shared model
 * session and the async-I/O inference operator that scores and triages each image.
 */
package e3stream.pipeline.internal.inference;
