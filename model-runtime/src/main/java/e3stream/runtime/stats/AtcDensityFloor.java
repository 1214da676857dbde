package e3stream.runtime.stats;

import java.util.List;
import java.util.Locale;

/**
 * Chooses the density quantile of ATC's floor on validation data only: for each candidate level, the threshold is
 * fitted on the clean validation items with that floor ({@link ReferenceDistributions#withAtcDensityFloorLevel}), and
 * the level whose estimate is closest to the realised accuracy of shifted validation sets (mean absolute error; the
 * smaller level on a tie) wins. On clean data every level estimates the validation accuracy exactly, so only the
 * shifted sets tell the levels apart: too low a floor lets confidently wrong, unfamiliar items count as right; too high
 * a floor counts familiar, right items as wrong. How steep the density's lower tail is differs from bundle to bundle,
 * hence a level per bundle.
 */
public final class AtcDensityFloor {
    /** The candidate levels calibrate tries. */
    public static final double[] LEVELS = {0.001, 0.002, 0.005, 0.01, 0.015, 0.02, 0.03, 0.05};

    private AtcDensityFloor() {
    }

    /** Per-item confidence and feature log density of one shifted validation set, and its realised accuracy. */
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
     * @param reference         the reference with the chosen level and the threshold fitted with it
     * @param levels            the candidates, in the order tried
     * @param meanAbsoluteError per candidate: mean |estimate - accuracy| over the shifted sets
     */
    public record Choice(ReferenceDistributions reference, double[] levels, double[] meanAbsoluteError,
                         int shiftedSets) {
        /** The chosen candidate. */
        public double level() {
            return reference.atcDensityFloorLevel();
        }

        /** One line for calibrate's output. */
        public String describe() {
            StringBuilder s = new StringBuilder(String.format(Locale.ROOT,
                    "ATC density floor: level %s (mean |estimate - accuracy| over %d shifted validation sets:",
                    level(), shiftedSets));
            for (int i = 0; i < levels.length; i++) {
                s.append(String.format(Locale.ROOT, " %s %.4f%s", levels[i], meanAbsoluteError[i],
                        i + 1 < levels.length ? "," : ")"));
            }
            return s.toString();
        }
    }

    /**
     * @param reference         the reference split's distributions, with its accuracy and density signal
     * @param confidence        per item of the reference split, as {@code reference} was built from them
     * @param featureLogDensity per item of the reference split
     * @param shifted           at least one shifted set of validation images (corrupted copies, for example)
     */
    public static Choice choose(ReferenceDistributions reference, double[] confidence, double[] featureLogDensity,
                                List<Items> shifted, double[] levels) {
        if (shifted.isEmpty() || levels.length == 0) {
            throw new IllegalArgumentException("choosing an ATC density floor needs shifted sets and levels");
        }
        double[] error = new double[levels.length];
        ReferenceDistributions best = null;
        int bestIndex = 0;
        for (int l = 0; l < levels.length; l++) {
            // Floor and threshold exactly as the stream will have them.
            ReferenceDistributions candidate = reference.withAtcDensityFloorLevel(levels[l], confidence,
                    featureLogDensity);
            double sum = 0;
            for (Items set : shifted) {
                sum += Math.abs(set.estimate(candidate.atcThreshold(), candidate.atcDensityFloor()) - set.accuracy());
            }
            error[l] = sum / shifted.size();
            if (best == null || error[l] < error[bestIndex]) {
                best = candidate;
                bestIndex = l;
            }
        }
        return new Choice(best, levels.clone(), error, shifted.size());
    }
}
