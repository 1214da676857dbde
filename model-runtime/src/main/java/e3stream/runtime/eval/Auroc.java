package e3stream.runtime.eval;

import e3stream.runtime.Internal;

import java.util.Arrays;

/**
 * Area under the ROC curve of a score that should be higher for positives (here: out-of-distribution images) than
 * for negatives (in-distribution images). Computed exactly as the Mann-Whitney U statistic with average ranks for
 * ties, i.e. {@code P(score_pos > score_neg) + 0.5 P(equal)}. Stateless and thread-safe.
 */
@Internal
public final class Auroc {
    private Auroc() {
    }

    /**
     * @param positives scores of the positive class (e.g. uncertainty on OOD images)
     * @param negatives scores of the negative class (e.g. uncertainty on in-distribution images)
     * @return AUROC in [0, 1]; 0.5 is chance
     */
    public static double of(double[] positives, double[] negatives) {
        if (positives.length == 0 || negatives.length == 0) {
            throw new IllegalArgumentException("AUROC needs at least one positive and one negative score, got "
                    + positives.length + " and " + negatives.length);
        }
        int n = positives.length + negatives.length;
        double[] all = new double[n];
        boolean[] positive = new boolean[n];
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) {
            all[i] = i < positives.length ? positives[i] : negatives[i - positives.length];
            if (Double.isNaN(all[i])) {
                throw new IllegalArgumentException("AUROC scores must not be NaN (index " + i + ")");
            }
            positive[i] = i < positives.length;
            order[i] = i;
        }
        Arrays.sort(order, (a, b) -> Double.compare(all[a], all[b]));
        double positiveRankSum = 0;
        for (int i = 0; i < n; ) {
            int j = i;
            while (j + 1 < n && all[order[j + 1]] == all[order[i]]) {
                j++;
            }
            double rank = (i + j) / 2.0 + 1; // average 1-based rank of the tie group
            for (int k = i; k <= j; k++) {
                if (positive[order[k]]) {
                    positiveRankSum += rank;
                }
            }
            i = j + 1;
        }
        double np = positives.length;
        double u = positiveRankSum - np * (np + 1) / 2;
        return u / (np * negatives.length);
    }

    /** The scores negated (for "higher means in-distribution" scores such as max-probability). */
    public static double[] negate(double[] scores) {
        double[] out = new double[scores.length];
        for (int i = 0; i < scores.length; i++) {
            out[i] = -scores[i];
        }
        return out;
    }
}
