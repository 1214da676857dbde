/**
 * Decoding of image payloads (PNG, JPEG, raw 8-bit pixels) into the model's normalised input tensor.
 *
 * <p>{@link e3stream.runtime.decode.ImageDecoder} turns one event's bytes into a float CHW tensor (grey conversion,
 * resize, normalisation from the bundle's input spec). Oversized payloads, headers that declare too many pixels
 * (decompression bombs), images whose decoding would exceed the memory budget (computed from the header) and unknown
 * content types are refused before any pixel is decoded; a decoding failure, {@code OutOfMemoryError} included, is
 * contained to its payload. Every refusal is a {@link e3stream.runtime.decode.DecodeException} with a stable
 * {@link e3stream.runtime.decode.DecodeException.Code} so callers can route the event to a dead-letter topic. Pure
 * Java (javax.imageio), no Flink.
 */
package e3stream.runtime.decode;
