package e3stream.runtime.eval;

import e3stream.runtime.Internal;

import java.util.Arrays;
import java.util.Comparator;

/**
 * The risk-coverage curve of confidence-based triage: review the least confident share {@code r} of items and accept
 * the rest; the curve gives the accuracy of the accepted items for each review share. Stateless.
 */
@Internal
public final class RiskCoverage {
    private RiskCoverage() {
    }

    /**
     * @param points number of evenly spaced review shares from 0 to {@code maxReview} (inclusive)
     * @return {@code [points][2]}: review share, accuracy of accepted items
     */
    public static double[][] curve(Predictions p, int points, double maxReview) {
        int n = p.count();
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        // Most confident first; accepted items are a prefix of this order.
        Arrays.sort(order, Comparator.comparingDouble((Integer i) -> -p.confidence()[i]));
        int[] correctPrefix = new int[n + 1];
        for (int k = 0; k < n; k++) {
            correctPrefix[k + 1] = correctPrefix[k] + (p.correct(order[k]) ? 1 : 0);
        }
        double[][] out = new double[points][2];
        for (int j = 0; j < points; j++) {
            double review = maxReview * j / (points - 1);
            int accepted = Math.max(1, (int) Math.round(n * (1 - review)));
            out[j][0] = review;
            out[j][1] = (double) correctPrefix[accepted] / accepted;
        }
        return out;
    }

    /** Accuracy of the accepted items when the least confident {@code reviewShare} of items go to review. */
    public static double acceptedAccuracy(Predictions p, double reviewShare) {
        return curve(p, 2, reviewShare)[1][1];
    }
}
