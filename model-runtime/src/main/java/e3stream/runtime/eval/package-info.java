/**
 * Offline evaluation: {@link e3stream.runtime.eval.Corruptions} (distribution shift generated from Fashion-MNIST),
 * {@link e3stream.runtime.eval.Auroc}, the {@code evaluate} command ({@link e3stream.runtime.eval.Evaluate}) and the
 * {@code calibrate} command ({@link e3stream.runtime.eval.Calibrate}).
 */
package e3stream.runtime.eval;
