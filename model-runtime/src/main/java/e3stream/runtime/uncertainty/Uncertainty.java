package e3stream.runtime.uncertainty;

import java.util.Arrays;

/**
 * The uncertainty of one ensemble prediction, as computed by {@link EnsembleUncertainty}. Entropies are in nats.
 *
 * <p>Immutable: the probability array is copied on the way in and on the way out.
 *
 * @param probabilities      ensemble probabilities {@code p_c = mean_m softmax(z_m / T)_c}, one per class
 * @param classIndex         predicted class: the arg-max of {@code probabilities} (lowest index on ties)
 * @param confidence         {@code max_c p_c}
 * @param margin             top-1 minus top-2 probability, in [0, 1]
 * @param entropy            predictive entropy {@code H[p] = -sum_c p_c ln p_c}, in [0, ln C]
 * @param expectedEntropy    mean member entropy {@code mean_m H[p_m]} (aleatoric part), in [0, entropy]
 * @param mutualInformation  {@code entropy - expectedEntropy} (epistemic part), in [0, min(ln M, ln C)]
 * @param memberDisagreement share of members whose own arg-max differs from {@code classIndex}, in [0, 1]
 */
public record Uncertainty(double[] probabilities, int classIndex, double confidence, double margin, double entropy,
                          double expectedEntropy, double mutualInformation, double memberDisagreement) {

    public Uncertainty {
        if (probabilities == null || probabilities.length == 0) {
            throw new IllegalArgumentException("probabilities must hold at least one class");
        }
        if (classIndex < 0 || classIndex >= probabilities.length) {
            throw new IllegalArgumentException("classIndex " + classIndex + " is outside [0, "
                    + probabilities.length + ")");
        }
        probabilities = probabilities.clone();
    }

    /** A copy of the ensemble probabilities. */
    @Override
    public double[] probabilities() {
        return probabilities.clone();
    }

    /** Probability of class {@code c} without copying the array. */
    public double probability(int c) {
        return probabilities[c];
    }

    /** Number of classes. */
    public int numClasses() {
        return probabilities.length;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Uncertainty u && Arrays.equals(probabilities, u.probabilities)
                && classIndex == u.classIndex && Double.compare(confidence, u.confidence) == 0
                && Double.compare(margin, u.margin) == 0 && Double.compare(entropy, u.entropy) == 0
                && Double.compare(expectedEntropy, u.expectedEntropy) == 0
                && Double.compare(mutualInformation, u.mutualInformation) == 0
                && Double.compare(memberDisagreement, u.memberDisagreement) == 0;
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(probabilities) + Double.hashCode(confidence) + classIndex;
    }

    @Override
    public String toString() {
        return "Uncertainty[classIndex=" + classIndex + ", confidence=" + confidence + ", margin=" + margin
                + ", entropy=" + entropy + ", expectedEntropy=" + expectedEntropy + ", mutualInformation="
                + mutualInformation + ", memberDisagreement=" + memberDisagreement + ", probabilities="
                + Arrays.toString(probabilities) + "]";
    }
}
