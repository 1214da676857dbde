package e3stream.runtime.triage;

import e3stream.runtime.stats.ReferenceDistributions;
import e3stream.runtime.uncertainty.EnsembleUncertainty;
import e3stream.runtime.uncertainty.Uncertainty;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * The pure logic of the {@code calibrate} command: from validation member logits {@code [N][M][C]} and labels, fit the
 * temperature and the triage thresholds for a {@link CalibrationGoal}, and report how they do on held-out data.
 *
 * <p>Procedure (deterministic for a given seed):
 * <ol>
 *   <li>Shuffle the items with {@code seed} and split them into a calibration half ({@code ceil(N/2)} items) and a
 *       holdout half. Everything is fitted on the calibration half only.</li>
 *   <li>Temperature: minimise the mean negative log-likelihood of the ensemble probabilities
 *       {@code mean_m softmax(z_m/T)} by golden-section search over {@code ln T} in {@code [ln 0.05, ln 20]}.</li>
 *   <li>Conformal (optional, default LAC at alpha 0.05): calibrate {@link ConformalPredictor}.</li>
 *   <li>{@code max_mutual_information} (optional, ensembles only): the {@code q}-quantile (default 0.99) of the
 *       calibration items' mutual information, i.e. inputs more unfamiliar than all but {@code 1-q} of in-distribution
 *       validation items go to review. {@code max_entropy} is passed through as given (default: not used).</li>
 *   <li>{@code min_confidence}: with the other rules fixed, sweep the distinct calibration confidences; for
 *       {@link CalibrationGoal.Kind#MAX_ACCEPTED_ERROR} walk down from the highest confidence and take the lowest
 *       threshold before the accepted-item error first exceeds the target (once at least {@code ceil(1/target)} items
 *       are accepted; above that a single error is noise). Stopping at the first crossing, rather than taking the
 *       lowest threshold anywhere within the target, avoids picking a lucky dip of the noisy error curve: on
 *       synthetic data the latter met 5% on the calibration half and gave 7.2% on the holdout. For {@link CalibrationGoal.Kind#MAX_REVIEW_RATE} the highest whose review rate is within it. If no
 *       threshold meets the goal, {@link CalibrationResult#goalMet()} is false, the result says why, and
 *       {@code min_confidence} is 1 (error goal: review all but certain items) or 0 (review goal: confidence rule
 *       off).</li>
 *   <li>Report: the review rate, accepted-item error, accuracy, NLL, conformal coverage and set size on the holdout
 *       half, and build the drift {@link ReferenceDistributions} over all {@code N} items with the fitted
 *       temperature and policy.</li>
 * </ol>
 *
 * <pre>{@code
 * CalibrationResult r = ThresholdCalibrator.builder().goal(CalibrationGoal.maxAcceptedError(0.02)).build()
 *         .calibrate(validationLogits, validationLabels);
 * r.applyTo(modelJson);   // rewrites temperature, triage and reference
 * }</pre>
 *
 * <p>Immutable and thread-safe.
 */
public final class ThresholdCalibrator {

    static final double MIN_LOG_T = Math.log(0.05);
    static final double MAX_LOG_T = Math.log(20);

    private final CalibrationGoal goal;
    private final ConformalMethod conformalMethod;
    private final double conformalAlpha;
    private final Double mutualInformationQuantile;
    private final Double maxEntropy;
    private final Double densityFalseAlarmRate;
    private final Double densityReviewBudget;
    private final long seed;

    private ThresholdCalibrator(Builder b) {
        this.goal = b.goal;
        this.conformalMethod = b.conformalMethod;
        this.conformalAlpha = b.conformalAlpha;
        this.mutualInformationQuantile = b.mutualInformationQuantile;
        this.maxEntropy = b.maxEntropy;
        this.densityFalseAlarmRate = b.densityFalseAlarmRate;
        this.densityReviewBudget = b.densityReviewBudget;
        this.seed = b.seed;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Options of a {@link ThresholdCalibrator}; only the goal is required. */
    public static final class Builder {
        private CalibrationGoal goal;
        private ConformalMethod conformalMethod = ConformalMethod.LAC;
        private double conformalAlpha = 0.05;
        private Double mutualInformationQuantile = 0.99;
        private Double maxEntropy;
        private Double densityFalseAlarmRate = 0.05;
        private Double densityReviewBudget;
        private long seed = 17;

        private Builder() {
        }

        public Builder goal(CalibrationGoal goal) {
            if (goal == null) {
                throw new IllegalArgumentException("goal must not be null");
            }
            this.goal = goal;
            return this;
        }

        /**
         * Conformal method and alpha (default LAC at 0.05); {@code method = null} switches the conformal rule off.
         * LAC is the default because non-randomised APS calibrates its threshold near 1 on an accurate model (the
         * score of a correct confident item is its top probability), so its sets are large: on synthetic data with
         * 94% accuracy, APS at alpha = 0.1 covered 98.7% with 2.4 classes per set and sent 75% to review.
         */
        public Builder conformal(ConformalMethod method, double alpha) {
            if (method != null && !(alpha > 0 && alpha < 1)) {
                throw new IllegalArgumentException("conformal alpha must be in (0, 1), got " + alpha);
            }
            this.conformalMethod = method;
            this.conformalAlpha = alpha;
            return this;
        }

        /** Quantile of calibration mutual information used as {@code max_mutual_information}; null: rule off. */
        public Builder mutualInformationQuantile(Double q) {
            if (q != null && !(q > 0 && q <= 1)) {
                throw new IllegalArgumentException("mutual information quantile must be in (0, 1], got " + q);
            }
            this.mutualInformationQuantile = q;
            return this;
        }

        /** {@code max_entropy} to write (nats), or null (default) for not used. */
        public Builder maxEntropy(Double maxEntropy) {
            if (maxEntropy != null && !(maxEntropy >= 0)) {
                throw new IllegalArgumentException("max entropy must be >= 0, got " + maxEntropy);
            }
            this.maxEntropy = maxEntropy;
            return this;
        }

        /**
         * Share of clean calibration items the {@code min_feature_log_density} rule may send to review (default
         * 0.05): the threshold is that quantile of their feature log densities. Null: rule off. Only used when
         * densities are given to {@link ThresholdCalibrator#calibrate(float[][][], int[], double[])}.
         */
        public Builder densityFalseAlarmRate(Double rate) {
            if (rate != null && !(rate > 0 && rate < 1)) {
                throw new IllegalArgumentException("density false-alarm rate must be in (0, 1), got " + rate);
            }
            this.densityFalseAlarmRate = rate;
            return this;
        }

        /**
         * Review budget (share of clean items) that the density rule may fill (default null: off). Once the other
         * rules and {@code min_confidence} are fitted, {@code min_feature_log_density} is raised from the
         * false-alarm quantile to the highest calibration-half density that keeps the calibration half's review
         * rate within the budget and, for an accepted-error goal, its accepted-item error within the goal: review
         * capacity left over by the clean-data rules goes to catching unfamiliar inputs. Never lowers the threshold.
         */
        public Builder densityReviewBudget(Double budget) {
            if (budget != null && !(budget > 0 && budget < 1)) {
                throw new IllegalArgumentException("density review budget must be in (0, 1), got " + budget);
            }
            this.densityReviewBudget = budget;
            return this;
        }

        /** Seed of the calibration/holdout split (default 17). */
        public Builder seed(long seed) {
            this.seed = seed;
            return this;
        }

        public ThresholdCalibrator build() {
            if (goal == null) {
                throw new IllegalArgumentException("a goal is required: CalibrationGoal.maxAcceptedError(x) or "
                        + "maxReviewRate(y)");
            }
            return new ThresholdCalibrator(this);
        }
    }

    /**
     * Runs the procedure of the class comment.
     *
     * @param memberLogits validation logits {@code [N][M][C]} (raw, before temperature)
     * @param labels       true classes, {@code N} of them
     * @throws IllegalArgumentException on mismatched shapes, bad labels, or too few items for the conformal alpha
     */
    public CalibrationResult calibrate(float[][][] memberLogits, int[] labels) {
        return calibrate(memberLogits, labels, null);
    }

    /**
     * As {@link #calibrate(float[][][], int[])}, with each validation item's feature log density ({@code null}: the
     * bundle has none). {@code min_feature_log_density} is the {@code densityFalseAlarmRate}-quantile of the
     * calibration half's densities, so about that share of clean items goes to review as {@code out_of_distribution};
     * the holdout half reports the share it really flags ({@link Evaluation#densityFlagRate()}).
     */
    public CalibrationResult calibrate(float[][][] memberLogits, int[] labels, double[] featureLogDensity) {
        int n = validate(memberLogits, labels);
        if (featureLogDensity != null && featureLogDensity.length != n) {
            throw new IllegalArgumentException("calibration needs one feature log density per item, got "
                    + featureLogDensity.length + " for " + n);
        }
        double[] density = featureLogDensity != null ? featureLogDensity : nans(n);
        int numClasses = memberLogits[0][0].length;
        int members = memberLogits[0].length;

        int[] order = new int[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        Random rnd = new Random(seed);
        for (int i = n - 1; i > 0; i--) { // Fisher-Yates
            int j = rnd.nextInt(i + 1);
            int t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        int nCal = (n + 1) / 2;
        int[] cal = Arrays.copyOfRange(order, 0, nCal);
        int[] hold = Arrays.copyOfRange(order, nCal, n);
        if (hold.length == 0) {
            throw new IllegalArgumentException("calibration needs at least 2 validation items (half of them held "
                    + "out), got " + n);
        }

        double temperature = fitTemperature(memberLogits, labels, cal);
        EnsembleUncertainty math = new EnsembleUncertainty(temperature);
        Uncertainty[] u = new Uncertainty[n];
        for (int i = 0; i < n; i++) {
            u[i] = math.compute(memberLogits[i]);
        }

        ConformalConfig conformal = null;
        if (conformalMethod != null) {
            double[][] p = new double[nCal][];
            int[] y = new int[nCal];
            for (int k = 0; k < nCal; k++) {
                p[k] = u[cal[k]].probabilities();
                y[k] = labels[cal[k]];
            }
            conformal = ConformalPredictor.calibrate(conformalMethod, conformalAlpha, p, y).config();
        }

        Double maxMi = null;
        if (mutualInformationQuantile != null && members > 1) {
            double[] mi = new double[nCal];
            for (int k = 0; k < nCal; k++) {
                mi[k] = u[cal[k]].mutualInformation();
            }
            Arrays.sort(mi);
            maxMi = mi[(int) Math.max(0, Math.ceil(mutualInformationQuantile * nCal - 1e-9) - 1)];
        }

        Double minDensity = null;
        if (densityFalseAlarmRate != null && featureLogDensity != null) {
            double[] d = new double[nCal];
            for (int k = 0; k < nCal; k++) {
                d[k] = density[cal[k]];
            }
            Arrays.sort(d);
            minDensity = d[(int) Math.min(nCal - 1, Math.floor(densityFalseAlarmRate * nCal))];
        }

        // Everything but min_confidence is fixed: which calibration items do the other rules accept?
        TriagePolicy others = new TriagePolicy(new TriageConfig(0.0, maxEntropy, maxMi, conformal, minDensity));
        double[] conf = new double[nCal];
        boolean[] othersAccept = new boolean[nCal];
        boolean[] correct = new boolean[nCal];
        for (int k = 0; k < nCal; k++) {
            Uncertainty x = u[cal[k]];
            conf[k] = x.confidence();
            othersAccept[k] = others.decide(x, density[cal[k]]).accepted();
            correct[k] = x.classIndex() == labels[cal[k]];
        }
        Choice choice = chooseMinConfidence(conf, othersAccept, correct, goal);
        if (minDensity != null && densityReviewBudget != null && choice.met) {
            // Which calibration items do all rules but the density one accept, at the chosen min_confidence?
            TriagePolicy withoutDensity = new TriagePolicy(new TriageConfig(choice.minConfidence, maxEntropy, maxMi,
                    conformal, null));
            boolean[] acceptedOthers = new boolean[nCal];
            double[] d = new double[nCal];
            for (int k = 0; k < nCal; k++) {
                acceptedOthers[k] = withoutDensity.decide(u[cal[k]]).accepted();
                d[k] = density[cal[k]];
            }
            minDensity = raiseDensityThreshold(minDensity, d, acceptedOthers, correct, densityReviewBudget,
                    goal.kind() == CalibrationGoal.Kind.MAX_ACCEPTED_ERROR ? goal.target() : 1.0);
        }
        TriageConfig triage = new TriageConfig(choice.minConfidence, maxEntropy, maxMi, conformal, minDensity);
        TriagePolicy policy = new TriagePolicy(triage);

        EnsembleUncertainty unit = new EnsembleUncertainty(1.0);
        Evaluation calEval = evaluate(cal, u, density, labels, memberLogits, math, unit, policy, conformal != null);
        Evaluation holdEval = evaluate(hold, u, density, labels, memberLogits, math, unit, policy, conformal != null);
        int[] all = new int[n];
        for (int i = 0; i < n; i++) {
            all[i] = i;
        }
        Evaluation allEval = evaluate(all, u, density, labels, memberLogits, math, unit, policy, conformal != null);

        double[] confAll = new double[n];
        double[] entAll = new double[n];
        double[] miAll = new double[n];
        int[] predAll = new int[n];
        for (int i = 0; i < n; i++) {
            confAll[i] = u[i].confidence();
            entAll[i] = u[i].entropy();
            miAll[i] = u[i].mutualInformation();
            predAll[i] = u[i].classIndex();
        }
        ReferenceDistributions reference = ReferenceDistributions.fromSamples("validation", confAll, entAll, miAll,
                predAll, featureLogDensity, numClasses, allEval.accuracy(), allEval.reviewRate());
        return new CalibrationResult(temperature, triage, goal, choice.met, choice.note, seed, calEval, holdEval,
                reference);
    }

    private static double[] nans(int n) {
        double[] d = new double[n];
        Arrays.fill(d, Double.NaN);
        return d;
    }

    private static int validate(float[][][] logits, int[] labels) {
        if (logits == null || labels == null || logits.length != labels.length) {
            throw new IllegalArgumentException("calibration needs one label per item, got "
                    + (logits == null ? 0 : logits.length) + " logit rows and "
                    + (labels == null ? 0 : labels.length) + " labels");
        }
        if (logits.length == 0 || logits[0] == null || logits[0].length == 0 || logits[0][0] == null) {
            throw new IllegalArgumentException("calibration needs validation logits [N][M][C], got none");
        }
        int m = logits[0].length;
        int c = logits[0][0].length;
        for (int i = 0; i < logits.length; i++) {
            if (logits[i] == null || logits[i].length != m) {
                throw new IllegalArgumentException("item " + i + " has " + (logits[i] == null ? 0 : logits[i].length)
                        + " members, item 0 has " + m);
            }
            if (labels[i] < 0 || labels[i] >= c) {
                throw new IllegalArgumentException("label " + labels[i] + " of item " + i + " is outside [0, " + c
                        + ")");
            }
        }
        return logits.length;
    }

    /** Golden-section search of the mean NLL over ln T. */
    static double fitTemperature(float[][][] logits, int[] labels, int[] items) {
        final double g = (Math.sqrt(5) - 1) / 2;
        double a = MIN_LOG_T;
        double b = MAX_LOG_T;
        double x1 = b - g * (b - a);
        double x2 = a + g * (b - a);
        double f1 = meanNll(logits, labels, items, Math.exp(x1));
        double f2 = meanNll(logits, labels, items, Math.exp(x2));
        for (int it = 0; it < 80 && b - a > 1e-7; it++) {
            if (f1 <= f2) {
                b = x2;
                x2 = x1;
                f2 = f1;
                x1 = b - g * (b - a);
                f1 = meanNll(logits, labels, items, Math.exp(x1));
            } else {
                a = x1;
                x1 = x2;
                f1 = f2;
                x2 = a + g * (b - a);
                f2 = meanNll(logits, labels, items, Math.exp(x2));
            }
        }
        return Math.exp((a + b) / 2);
    }

    static double meanNll(float[][][] logits, int[] labels, int[] items, double temperature) {
        EnsembleUncertainty math = new EnsembleUncertainty(temperature);
        double sum = 0;
        for (int i : items) {
            sum -= math.logProbabilities(logits[i])[labels[i]];
        }
        return sum / items.length;
    }

    record Choice(double minConfidence, boolean met, String note) {
    }

    /**
     * The highest density threshold, from {@code start} up, at which the items accepted by the other rules and by the
     * density rule keep the review rate within {@code budget} and their error within {@code maxError}; {@code start}
     * when none higher does. Thresholds are the items' own densities.
     */
    static double raiseDensityThreshold(double start, double[] density, boolean[] acceptedOthers, boolean[] correct,
                                        double budget, double maxError) {
        int n = density.length;
        Integer[] idx = new Integer[n];
        for (int i = 0; i < n; i++) {
            idx[i] = i;
        }
        Arrays.sort(idx, (p, q) -> Double.compare(density[q], density[p]));
        long accepted = 0;
        long wrong = 0;
        // From the densest item down: accepted grows as the threshold falls; the first threshold (the highest) that
        // fits the budget and the error is the answer.
        int k = 0;
        while (k < n) {
            double t = density[idx[k]];
            while (k < n && density[idx[k]] == t) {
                if (acceptedOthers[idx[k]]) {
                    accepted++;
                    wrong += correct[idx[k]] ? 0 : 1;
                }
                k++;
            }
            if (t <= start) {
                break;
            }
            if (1 - (double) accepted / n <= budget && (double) wrong / accepted <= maxError) {
                return t;
            }
        }
        return start;
    }

    static Choice chooseMinConfidence(double[] conf, boolean[] othersAccept, boolean[] correct, CalibrationGoal goal) {
        int n = conf.length;
        Integer[] idx = new Integer[n];
        for (int i = 0; i < n; i++) {
            idx[i] = i;
        }
        Arrays.sort(idx, (p, q) -> Double.compare(conf[q], conf[p]));
        long accepted = 0;
        long wrong = 0;
        Double best = null;
        long minAccepted = goal.target() > 0 ? (long) Math.ceil(1 / goal.target() - 1e-9) : 1;
        int k = 0;
        while (k < n) { // thresholds from high to low; ties enter together
            double t = conf[idx[k]];
            while (k < n && conf[idx[k]] == t) {
                if (othersAccept[idx[k]]) {
                    accepted++;
                    wrong += correct[idx[k]] ? 0 : 1;
                }
                k++;
            }
            if (goal.kind() == CalibrationGoal.Kind.MAX_ACCEPTED_ERROR) {
                if (accepted > 0 && (double) wrong / accepted <= goal.target()) {
                    best = t; // keep lowering while the goal holds at this threshold
                } else if (accepted >= minAccepted) {
                    break; // first crossing with enough items to trust it
                }
            } else if (1 - (double) accepted / n <= goal.target()) {
                best = t; // the first (highest) threshold that reviews few enough
                break;
            }
        }
        if (best != null) {
            return new Choice(best, true, null);
        }
        if (goal.kind() == CalibrationGoal.Kind.MAX_ACCEPTED_ERROR) {
            return new Choice(1.0, false, "no confidence threshold keeps the accepted-item error within "
                    + goal.target() + " on the calibration half; min_confidence = 1 sends all but certain items to "
                    + "review");
        }
        return new Choice(0.0, false, String.format(java.util.Locale.ROOT, "the mutual-information, entropy and "
                + "conformal rules alone send %.4f of the calibration half to review, above the goal %s; "
                + "min_confidence = 0 (confidence rule off); loosen them (e.g. a larger conformal alpha)",
                1 - (double) accepted / n, goal.target()));
    }

    private static Evaluation evaluate(int[] items, Uncertainty[] u, double[] density, int[] labels,
                                       float[][][] logits, EnsembleUncertainty math, EnsembleUncertainty unit,
                                       TriagePolicy policy, boolean conformal) {
        long flagged = 0;
        long correct = 0;
        long accepted = 0;
        long acceptedWrong = 0;
        long covered = 0;
        long setSizes = 0;
        long empty = 0;
        double nll = 0;
        double nllUnit = 0;
        for (int i : items) {
            Uncertainty x = u[i];
            boolean ok = x.classIndex() == labels[i];
            correct += ok ? 1 : 0;
            nll -= math.logProbabilities(logits[i])[labels[i]];
            nllUnit -= unit.logProbabilities(logits[i])[labels[i]];
            TriageDecision d = policy.decide(x, density[i]);
            flagged += d.reasons().contains(TriageDecision.OUT_OF_DISTRIBUTION) ? 1 : 0;
            if (d.accepted()) {
                accepted++;
                acceptedWrong += ok ? 0 : 1;
            }
            int[] set = d.predictionSet();
            setSizes += set.length;
            empty += set.length == 0 ? 1 : 0;
            for (int c : set) {
                covered += c == labels[i] ? 1 : 0;
            }
        }
        double n = items.length;
        return new Evaluation(items.length, correct / n, nll / n, nllUnit / n, 1 - accepted / n, accepted,
                accepted == 0 ? Double.NaN : acceptedWrong / (double) accepted,
                conformal ? covered / n : Double.NaN, conformal ? setSizes / n : Double.NaN,
                conformal ? empty / n : Double.NaN,
                policy.config().minFeatureLogDensity() == null ? Double.NaN : flagged / n);
    }

    /**
     * Figures of the fitted policy on one part of the validation data.
     *
     * @param nll                   mean NLL with the fitted temperature
     * @param nllAtUnitTemperature  mean NLL with {@code T = 1}, for comparison
     * @param acceptedError         error among accepted items (NaN if none accepted)
     * @param conformalCoverage     share whose conformal set holds the true class (NaN without conformal)
     * @param meanSetSize           mean conformal set size (NaN without conformal)
     * @param emptySetRate          share of empty conformal sets (NaN without conformal)
     * @param densityFlagRate       share sent to review as out_of_distribution (NaN without the density rule):
     *                              on clean validation data, the rule's false-alarm rate
     */
    public record Evaluation(int count, double accuracy, double nll, double nllAtUnitTemperature, double reviewRate,
                             long acceptedCount, double acceptedError, double conformalCoverage, double meanSetSize,
                             double emptySetRate, double densityFlagRate) {
    }

    @Override
    public String toString() {
        List<String> parts = new ArrayList<>();
        parts.add("goal " + goal);
        parts.add(conformalMethod == null ? "no conformal" : conformalMethod.jsonName() + "@" + conformalAlpha);
        parts.add("mi quantile " + mutualInformationQuantile);
        return "ThresholdCalibrator[" + String.join(", ", parts) + "]";
    }
}
