/**
 * The one scoring path from an image tensor to a decision: {@link e3stream.runtime.session.ModelSession} (a bundle
 * loaded once, its ONNX Runtime session and dynamic batcher), {@link e3stream.runtime.session.Scorer} (member logits
 * to uncertainty and triage decision), and {@link e3stream.runtime.session.SharedSessions} (one session per bundle and
 * device per JVM, reference counted, released when idle, replaced when broken). Pure Java: the Flink job, the
 * offline commands and the benchmarks all score through these classes.
 *
 * <p>API: {@link e3stream.runtime.session.ModelSession}, {@link e3stream.runtime.session.Scorer}, {@link e3stream.runtime.session.SharedSessions}, their spec and result types.
 */
package e3stream.runtime.session;
