package e3stream.runtime.uncertainty;

/**
 * Turns the raw member logits of one image into an {@link Uncertainty}.
 *
 * <p>With {@code M} members, {@code C} classes and temperature {@code T}:
 * <ul>
 *   <li>member log-probabilities {@code ln p_m,c = z_m,c/T - logsumexp_c'(z_m,c'/T)} (max-shifted, so logits of
 *       ±1e4 neither overflow nor produce NaN);</li>
 *   <li>ensemble log-probabilities by log-mean-exp over members,
 *       {@code ln p_c = max_m ln p_m,c + ln(mean_m exp(ln p_m,c - max_m ln p_m,c))}; for {@code M = 1} this is exactly
 *       the member's log-softmax;</li>
 *   <li>predictive entropy {@code H = -sum_c p_c ln p_c}; expected entropy {@code E = mean_m H[p_m]} (aleatoric);
 *       mutual information {@code MI = H - E} (epistemic; {@code >= 0} by Jensen, so negatives that only rounding can
 *       produce are clamped to 0; for {@code M = 1} the two entropies are computed identically and MI is exactly 0);</li>
 *   <li>member disagreement: the share of members whose own arg-max class differs from the ensemble's arg-max
 *       (0 when all members vote for the ensemble's class; ties go to the lowest class index everywhere).</li>
 * </ul>
 * Terms with {@code p = 0} (underflow) contribute 0 to entropies, their limit.
 *
 * <pre>{@code
 * EnsembleUncertainty math = new EnsembleUncertainty(manifest.temperature());
 * Uncertainty u = math.compute(memberLogits[b]);   // [M][C] of one image
 * }</pre>
 *
 * <p>Immutable and thread-safe.
 */
public final class EnsembleUncertainty {

    private final double temperature;

    /**
     * @param temperature the bundle's fitted temperature {@code T > 0}; logits are divided by it
     * @throws IllegalArgumentException if the temperature is not a finite positive number
     */
    public EnsembleUncertainty(double temperature) {
        if (!(temperature > 0) || Double.isInfinite(temperature)) {
            throw new IllegalArgumentException("temperature must be a finite number > 0, got " + temperature
                    + " (check \"temperature\" in model.json)");
        }
        this.temperature = temperature;
    }

    public double temperature() {
        return temperature;
    }

    /**
     * Computes the uncertainty of one image.
     *
     * @param memberLogits raw logits {@code [M][C]} of one image, {@code M >= 1}, {@code C >= 2}, all finite
     * @throws IllegalArgumentException on an empty, ragged or non-finite input, naming the offending position
     */
    public Uncertainty compute(float[][] memberLogits) {
        double[][] memberLogProbs = memberLogProbabilities(memberLogits);
        int m = memberLogProbs.length;
        int c = memberLogProbs[0].length;

        double[] logP = logMeanExp(memberLogProbs);
        double[] p = new double[c];
        for (int k = 0; k < c; k++) {
            p[k] = Math.exp(logP[k]);
        }
        double entropy = entropy(p, logP);

        double expectedEntropy = 0;
        int ensembleClass = argMax(p);
        int disagreeing = 0;
        double[] pm = new double[c];
        for (double[] lp : memberLogProbs) {
            for (int k = 0; k < c; k++) {
                pm[k] = Math.exp(lp[k]);
            }
            expectedEntropy += entropy(pm, lp);
            if (argMax(lp) != ensembleClass) {
                disagreeing++;
            }
        }
        expectedEntropy /= m;
        double mi = Math.max(0.0, entropy - expectedEntropy);

        double top1 = p[ensembleClass];
        double top2 = Double.NEGATIVE_INFINITY;
        for (int k = 0; k < c; k++) {
            if (k != ensembleClass && p[k] > top2) {
                top2 = p[k];
            }
        }
        return new Uncertainty(p, ensembleClass, top1, top1 - top2, entropy, expectedEntropy, mi,
                (double) disagreeing / m);
    }

    /**
     * Computes the uncertainty of every image of a batch.
     *
     * @param batchLogits {@code [B][M][C]} as returned by the model
     */
    public Uncertainty[] computeBatch(float[][][] batchLogits) {
        if (batchLogits == null) {
            throw new IllegalArgumentException("batch logits must not be null");
        }
        Uncertainty[] out = new Uncertainty[batchLogits.length];
        for (int b = 0; b < batchLogits.length; b++) {
            try {
                out[b] = compute(batchLogits[b]);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("batch item " + b + ": " + e.getMessage(), e);
            }
        }
        return out;
    }

    /**
     * Ensemble log-probabilities {@code ln p_c} of one image (exact in log space, so a negative log-likelihood stays
     * finite even where {@code p_c} underflows to 0).
     */
    public double[] logProbabilities(float[][] memberLogits) {
        return logMeanExp(memberLogProbabilities(memberLogits));
    }

    private double[][] memberLogProbabilities(float[][] memberLogits) {
        if (memberLogits == null || memberLogits.length == 0) {
            throw new IllegalArgumentException("member logits must hold at least one member, got none");
        }
        if (memberLogits[0] == null || memberLogits[0].length < 2) {
            throw new IllegalArgumentException("member logits must hold at least 2 classes, got "
                    + (memberLogits[0] == null ? 0 : memberLogits[0].length));
        }
        int c = memberLogits[0].length;
        double[][] out = new double[memberLogits.length][];
        for (int m = 0; m < memberLogits.length; m++) {
            float[] z = memberLogits[m];
            if (z == null || z.length != c) {
                throw new IllegalArgumentException("member " + m + " has " + (z == null ? 0 : z.length)
                        + " logits but member 0 has " + c + "; every member needs one logit per class");
            }
            double[] s = new double[c];
            double max = Double.NEGATIVE_INFINITY;
            for (int k = 0; k < c; k++) {
                if (!Float.isFinite(z[k])) {
                    throw new IllegalArgumentException("logit [member " + m + "][class " + k + "] is " + z[k]
                            + "; logits must be finite (the model produced a non-finite output)");
                }
                s[k] = z[k] / temperature;
                max = Math.max(max, s[k]);
            }
            double sum = 0;
            for (int k = 0; k < c; k++) {
                sum += Math.exp(s[k] - max);
            }
            double lse = max + Math.log(sum);
            for (int k = 0; k < c; k++) {
                s[k] -= lse;
            }
            out[m] = s;
        }
        return out;
    }

    /** {@code ln mean_m exp(a[m][c])} per class, max-shifted; exact (no rounding) for a single member. */
    private static double[] logMeanExp(double[][] a) {
        int m = a.length;
        int c = a[0].length;
        double[] out = new double[c];
        if (m == 1) {
            System.arraycopy(a[0], 0, out, 0, c);
            return out;
        }
        for (int k = 0; k < c; k++) {
            double max = Double.NEGATIVE_INFINITY;
            for (double[] row : a) {
                max = Math.max(max, row[k]);
            }
            double sum = 0;
            for (double[] row : a) {
                sum += Math.exp(row[k] - max);
            }
            out[k] = max + Math.log(sum / m);
        }
        return out;
    }

    private static double entropy(double[] p, double[] logP) {
        double h = 0;
        for (int k = 0; k < p.length; k++) {
            if (p[k] > 0) {
                h -= p[k] * logP[k];
            }
        }
        // A log-probability that rounds to a hair above 0 could make h a hair negative.
        return Math.max(0.0, h);
    }

    private static int argMax(double[] v) {
        int best = 0;
        for (int k = 1; k < v.length; k++) {
            if (v[k] > v[best]) {
                best = k;
            }
        }
        return best;
    }
}
