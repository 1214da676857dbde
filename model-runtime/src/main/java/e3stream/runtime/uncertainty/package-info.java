/**
 * Per-event uncertainty of an E³ (or any ensemble) prediction, computed from the raw member logits {@code [M][C]} of
 * one image: ensemble probabilities by log-mean-exp of the tempered member softmaxes, predicted class, confidence,
 * margin, predictive entropy, expected entropy (aleatoric), mutual information (epistemic) and member disagreement.
 *
 * <p>Pure Java, no Flink; see {@link e3stream.runtime.uncertainty.EnsembleUncertainty} for the formulas.
 */
package e3stream.runtime.uncertainty;
