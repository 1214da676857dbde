/**
 * Offline evaluation: {@link e3stream.runtime.data.Corruptions} (distribution shift generated from Fashion-MNIST),
 * {@link e3stream.runtime.eval.Auroc}, the {@code evaluate} command ({@link e3stream.runtime.cli.Evaluate}) and the
 * {@code calibrate} command ({@link e3stream.runtime.cli.Calibrate}).
 */
package e3stream.runtime.eval;
