package e3stream.runtime.stats;

import java.util.List;
import java.util.Locale;

/**
 * Chooses the density quantile of ATC's floor on validation data only: for each candidate level, the threshold is
 * fitted on the clean validation items with that floor ({@link ReferenceDistributions#fitAtcThreshold}), and the level
 * whose estimate is closest to the realised accuracy of shifted validation sets (mean absolute error; the smaller
 * level on a tie) wins. On clean data every level estimates the validation accuracy exactly, so only the shifted sets
 * tell the levels apart: too low a floor lets confidently wrong, unfamiliar items count as right; too high a floor
 * counts familiar, right items as wrong. How steep the density's lower tail is differs from bundle to bundle, hence a
 * level per bundle.
 */
public final class AtcDensityFloor {
    /** The candidate levels calibrate tries. */
    public static final double[] LEVELS = {0.001, 0.002, 0.005, 0.01, 0.015, 0.02, 0.03, 0.05};

    private AtcDensityFloor() {
    }

    /** Per-item confidence and feature log density of one validation set, and its realised accuracy. */
    public record Items(String name, double[] confidence, double[] featureLogDensity, double accuracy) {
        public Items {
            if (confidence.length != featureLogDensity.length || confidence.length == 0) {
                throw new IllegalArgumentException(name + ": needs one density per confidence (> 0 items), got "
                        + confidence.length + " and " + featureLogDensity.length);
            }
        }

        /** ATC's estimate of this set's accuracy at {@code threshold} and {@code floor}. */
        double estimate(double threshold, double floor) {
            int counted = 0;
            for (int i = 0; i < confidence.length; i++) {
                counted += ReferenceDistributions.atcCountsCorrect(confidence[i], featureLogDensity[i], threshold,
                        floor) ? 1 : 0;
            }
            return (double) counted / confidence.length;
        }
    }

    /**
     * @param levels            the candidates, in the order tried
     * @param meanAbsoluteError per candidate: mean |estimate - accuracy| over the shifted sets
     * @param level             the chosen candidate
     */
    public record Choice(double level, double[] levels, double[] meanAbsoluteError, int shiftedSets) {
        /** One line for calibrate's output. */
        public String describe() {
            StringBuilder s = new StringBuilder(String.format(Locale.ROOT,
                    "ATC density floor: level %s (mean |estimate - accuracy| over %d shifted validation sets:",
                    level, shiftedSets));
            for (int i = 0; i < levels.length; i++) {
                s.append(String.format(Locale.ROOT, " %s %.4f%s", levels[i], meanAbsoluteError[i],
                        i + 1 < levels.length ? "," : ")"));
            }
            return s.toString();
        }
    }

    /**
     * @param clean   the reference split's items, with the accuracy the reference holds
     * @param shifted at least one shifted set of validation images (corrupted copies, for example)
     */
    public static Choice choose(Items clean, List<Items> shifted, double[] levels) {
        if (shifted.isEmpty() || levels.length == 0) {
            throw new IllegalArgumentException("choosing an ATC density floor needs shifted sets and levels");
        }
        SignalReference density = SignalReference.fromSamples(clean.featureLogDensity());
        double[] error = new double[levels.length];
        int best = 0;
        for (int l = 0; l < levels.length; l++) {
            // The floor as the stream computes it: from the reference's density quantiles.
            double floor = density.quantile(levels[l]);
            double threshold = ReferenceDistributions.fitAtcThreshold(clean.confidence(), clean.featureLogDensity(),
                    floor, clean.accuracy());
            double sum = 0;
            for (Items set : shifted) {
                sum += Math.abs(set.estimate(threshold, floor) - set.accuracy());
            }
            error[l] = sum / shifted.size();
            if (error[l] < error[best]) {
                best = l;
            }
        }
        return new Choice(levels[best], levels.clone(), error, shifted.size());
    }
}
