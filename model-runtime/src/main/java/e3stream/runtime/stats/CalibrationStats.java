package e3stream.runtime.stats;

import e3stream.runtime.uncertainty.Uncertainty;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Calibration statistics of labelled predictions (a mergeable accumulator). Per item it takes the ensemble
 * probabilities, the true class and whether triage sent it to review. With {@code N} items, confidence
 * {@code c = max p}, correct {@code = [argmax p == y]}:
 * <ul>
 *   <li>accuracy = share correct; NLL = mean {@code -ln max(p_y, 1e-300)} (the floor keeps an underflowed
 *       probability finite); Brier = mean {@code sum_c (p_c - [c == y])²} (multi-class, in [0, 2]);</li>
 *   <li>ECE = {@code sum_b (n_b/N) |acc_b - conf_b|} over 15 equal-width confidence bins {@code ((b-1)/15, b/15]}
 *       (the first bin includes 0); {@link CalibrationSnapshot#reliability()} lists those bins;</li>
 *   <li>adaptive ECE: the same sum over 15 equal-mass groups. To stay bounded and mergeable, confidence is also kept
 *       in a fine histogram of 2048 bins (uniform in {@code sqrt(1 - c)}, so about 1e-4 wide at c = 0.99 and 2.4e-7
 *       at c = 1) with per-bin count, confidence sum and correct count; groups are formed from whole fine bins in
 *       confidence order, a group closing once the running count reaches {@code g·N/15}. The result is exact unless
 *       a fine bin straddles a group boundary, in which case that group is slightly larger than {@code N/15};</li>
 *   <li>accuracy of accepted items; review rate; review precision = share of reviewed items that were wrong;
 *       oracle-collaborative accuracy = {@code (accepted and correct + reviewed) / N}, the accuracy if people
 *       corrected every reviewed item.</li>
 * </ul>
 * Undefined figures (no items, no accepted or no reviewed items, empty bins) are {@code NaN}.
 *
 * <p>Memory is bounded (about 80 KB) regardless of items seen. All sums are kept in exact fixed point
 * ({@link FixedPointSums}), so {@code a.merge(b)} leaves exactly the state of adding both streams to one accumulator,
 * in any order. Not thread-safe: one accumulator per Flink subtask, combined with {@link #merge}.
 *
 * <p><b>Per source</b>: built with {@code topSources = k > 0}, it also keeps the same figures (without the adaptive
 * ECE, which needs the fine histogram) for the k busiest sources and {@value TopSources#OTHER} ({@link TopSources};
 * about 1 KB per source, 2k sources at most); {@link #add(String, double[], int, boolean)} names the item's source and
 * {@link #snapshotBySource()} gives their figures.
 *
 * <pre>{@code
 * CalibrationStats stats = new CalibrationStats(10, 20);
 * stats.add(event.source, uncertainty.probabilities(), label, decision.decision() == Decision.REVIEW);
 * CalibrationSnapshot s = stats.snapshot();
 * }</pre>
 */
public final class CalibrationStats implements Serializable, MergeableStats<CalibrationStats> {

    private static final long serialVersionUID = 1L;

    /** Equal-width bins of the ECE and the reliability diagram. */
    public static final int ECE_BINS = 15;
    /** Smallest probability used in the NLL. */
    public static final double NLL_FLOOR = 1e-300;

    private static final FineGrid GRID = new FineGrid(0, 1, true);
    // scalar sums: 0 = NLL, 1 = Brier
    private static final int NLL = 0;
    private static final int BRIER = 1;

    private final int numClasses;
    private long count;
    private long correct;
    private long accepted;
    private long acceptedCorrect;
    private long reviewed;
    private long reviewedWrong;
    private final FixedPointSums sums = new FixedPointSums(2);
    private final long[] binCount = new long[ECE_BINS];
    private final long[] binCorrect = new long[ECE_BINS];
    private final FixedPointSums binConfidence = new FixedPointSums(ECE_BINS);
    /** The adaptive-ECE histogram; of length 0 in a {@link #compact} accumulator. */
    private final long[] fineCount;
    private final long[] fineCorrect;
    private final FixedPointSums fineConfidence;
    /** The per-source breakdown, or null without one (and in accumulators written before it existed). */
    private final TopSources<CalibrationStats> sources;

    /** @param numClasses classes of the model ({@code >= 2}); every added probability vector must have this length */
    public CalibrationStats(int numClasses) {
        this(numClasses, 0, true);
    }

    /**
     * Calibration statistics of the whole stream and of its {@code topSources} busiest sources plus
     * {@value TopSources#OTHER} (0: no per-source figures).
     *
     * @throws IllegalArgumentException if {@code numClasses < 2} or {@code topSources} is outside
     *                                  {@code [0, TopSources.MAX_TOP]}
     */
    public CalibrationStats(int numClasses, int topSources) {
        this(numClasses, topSources, true);
    }

    /**
     * An accumulator without the adaptive-ECE histogram (its adaptive ECE is NaN) and without sources: about 1 KB
     * instead of 80 KB; what {@link TopSources} keeps per source.
     */
    public static CalibrationStats compact(int numClasses) {
        return new CalibrationStats(numClasses, 0, false);
    }

    private CalibrationStats(int numClasses, int topSources, boolean adaptive) {
        if (numClasses < 2) {
            throw new IllegalArgumentException("numClasses must be >= 2, got " + numClasses);
        }
        if (topSources < 0) {
            throw new IllegalArgumentException("topSources must be >= 0 (0: no per-source figures), got " + topSources);
        }
        this.numClasses = numClasses;
        int fine = adaptive ? FineGrid.BINS : 0;
        fineCount = new long[fine];
        fineCorrect = new long[fine];
        fineConfidence = new FixedPointSums(fine);
        sources = topSources == 0 ? null : new TopSources<>(topSources, compact(numClasses));
    }

    public int numClasses() {
        return numClasses;
    }

    @Override
    public long count() {
        return count;
    }

    /** How many sources are reported by name (0: no per-source figures). */
    public int topSources() {
        return sources == null ? 0 : sources.top();
    }

    private boolean adaptive() {
        return fineCount.length > 0;
    }

    /** Adds one labelled prediction. */
    public void add(Uncertainty u, int label, boolean reviewed) {
        add(u.probabilities(), label, reviewed);
    }

    /**
     * Adds one labelled prediction.
     *
     * @param probabilities ensemble probabilities, {@code numClasses} of them, each in [0, 1]
     * @param label         true class in {@code [0, numClasses)}
     * @param reviewed      whether triage sent the item to review
     * @throws IllegalArgumentException on a wrong length, a probability outside [0, 1] or NaN, or a bad label
     */
    public void add(double[] probabilities, int label, boolean reviewed) {
        if (probabilities == null || probabilities.length != numClasses) {
            throw new IllegalArgumentException("expected " + numClasses + " probabilities, got "
                    + (probabilities == null ? "null" : probabilities.length));
        }
        if (label < 0 || label >= numClasses) {
            throw new IllegalArgumentException("label " + label + " is outside [0, " + numClasses + ")");
        }
        int best = 0;
        double brier = 0;
        for (int c = 0; c < numClasses; c++) {
            double p = probabilities[c];
            if (!(p >= 0 && p <= 1)) {
                throw new IllegalArgumentException("probability of class " + c + " is " + p + ", expected [0, 1]");
            }
            if (p > probabilities[best]) {
                best = c;
            }
            double d = p - (c == label ? 1 : 0);
            brier += d * d;
        }
        double conf = probabilities[best];
        boolean ok = best == label;

        count++;
        correct += ok ? 1 : 0;
        if (reviewed) {
            this.reviewed++;
            reviewedWrong += ok ? 0 : 1;
        } else {
            accepted++;
            acceptedCorrect += ok ? 1 : 0;
        }
        sums.add(NLL, -Math.log(Math.max(probabilities[label], NLL_FLOOR)));
        sums.add(BRIER, brier);
        int b = eceBin(conf);
        binCount[b]++;
        binCorrect[b] += ok ? 1 : 0;
        binConfidence.add(b, conf);
        if (adaptive()) {
            int f = GRID.bin(conf);
            fineCount[f]++;
            fineCorrect[f] += ok ? 1 : 0;
            fineConfidence.add(f, conf);
        }
    }

    /**
     * Adds one labelled prediction of {@code source} (null: none): to the whole stream's figures and, with a
     * per-source breakdown, to its source's (or {@value TopSources#OTHER}'s).
     *
     * @throws IllegalArgumentException as {@link #add(double[], int, boolean)}
     */
    public void add(String source, double[] probabilities, int label, boolean reviewed) {
        add(probabilities, label, reviewed); // validates first
        if (sources != null) {
            sources.forItem(source).add(probabilities, label, reviewed);
        }
    }

    /** ECE bin {@code ((b-1)/15, b/15]}, the first one including 0. */
    static int eceBin(double conf) {
        return Math.min(ECE_BINS - 1, Math.max(0, (int) Math.ceil(conf * ECE_BINS) - 1));
    }

    /**
     * Adds another accumulator's items to this one; afterwards this is exactly the accumulator of both streams.
     *
     * @throws IllegalArgumentException if the class counts differ
     */
    @Override
    public String mergeConflict(CalibrationStats other) {
        if (other.numClasses != numClasses) {
            return "of " + other.numClasses + " classes into " + numClasses + " classes";
        }
        if (adaptive() != other.adaptive() || topSources() != other.topSources()) {
            return describe(other) + " into " + describe(this);
        }
        return null;
    }

    @Override
    public CalibrationStats merge(CalibrationStats other) {
        String conflict = mergeConflict(other);
        if (conflict != null) {
            throw new IllegalArgumentException("cannot merge calibration stats " + conflict);
        }
        count += other.count;
        correct += other.correct;
        accepted += other.accepted;
        acceptedCorrect += other.acceptedCorrect;
        reviewed += other.reviewed;
        reviewedWrong += other.reviewedWrong;
        sums.addAll(other.sums);
        for (int b = 0; b < ECE_BINS; b++) {
            binCount[b] += other.binCount[b];
            binCorrect[b] += other.binCorrect[b];
        }
        binConfidence.addAll(other.binConfidence);
        for (int f = 0; f < fineCount.length; f++) {
            fineCount[f] += other.fineCount[f];
            fineCorrect[f] += other.fineCorrect[f];
        }
        fineConfidence.addAll(other.fineConfidence);
        if (sources != null) {
            sources.merge(other.sources);
        }
        return this;
    }

    private static String describe(CalibrationStats c) {
        return (c.adaptive() ? "with" : "without") + " the adaptive-ECE histogram and " + c.topSources()
                + " sources by name";
    }

    /** A new accumulator holding the items of both (neither argument changes). */
    public static CalibrationStats merge(CalibrationStats a, CalibrationStats b) {
        return a.copy().merge(b);
    }

    /** An independent copy. */
    public CalibrationStats copy() {
        return emptyLike().merge(this);
    }

    @Override
    public CalibrationStats emptyLike() {
        return new CalibrationStats(numClasses, topSources(), adaptive());
    }

    /**
     * Figures of the busiest sources (most labelled items first) and then {@value TopSources#OTHER}, as
     * {@link TopSources#bySource()} chooses them; their adaptive ECE is NaN. Empty without a per-source breakdown.
     */
    public Map<String, CalibrationSnapshot> snapshotBySource() {
        Map<String, CalibrationSnapshot> out = new LinkedHashMap<>();
        if (sources != null) {
            sources.bySource().forEach((name, stats) -> out.put(name, stats.snapshot()));
        }
        return Collections.unmodifiableMap(out);
    }

    /** The current figures as an immutable record. */
    public CalibrationSnapshot snapshot() {
        double n = count;
        List<ReliabilityBin> bins = new ArrayList<>(ECE_BINS);
        double ece = count == 0 ? Double.NaN : 0;
        for (int b = 0; b < ECE_BINS; b++) {
            long k = binCount[b];
            double meanConf = k == 0 ? Double.NaN : binConfidence.value(b) / k;
            double acc = k == 0 ? Double.NaN : (double) binCorrect[b] / k;
            bins.add(new ReliabilityBin((double) b / ECE_BINS, (double) (b + 1) / ECE_BINS, k, meanConf, acc));
            if (k > 0) {
                ece += k / n * Math.abs(acc - meanConf);
            }
        }
        return new CalibrationSnapshot(count, ratio(correct, count), count == 0 ? Double.NaN : sums.value(NLL) / n,
                count == 0 ? Double.NaN : sums.value(BRIER) / n, ece, adaptiveEce(), bins, accepted,
                ratio(acceptedCorrect, accepted), reviewed, ratio(reviewed, count), ratio(reviewedWrong, reviewed),
                ratio(acceptedCorrect + reviewed, count));
    }

    private double adaptiveEce() {
        if (count == 0 || !adaptive()) {
            return Double.NaN;
        }
        double total = 0;
        long groupCount = 0;
        long groupCorrect = 0;
        double groupConf = 0;
        long running = 0;
        int group = 0;
        for (int f = 0; f < FineGrid.BINS; f++) {
            if (fineCount[f] == 0) {
                continue;
            }
            groupCount += fineCount[f];
            groupCorrect += fineCorrect[f];
            groupConf += fineConfidence.value(f);
            running += fineCount[f];
            // close the group once the running count reaches (group+1)·N/15 (compared in integers: exact)
            if (running * ECE_BINS >= (group + 1) * count || f == FineGrid.BINS - 1) {
                total += Math.abs((double) groupCorrect - groupConf) / count;
                while (running * ECE_BINS >= (group + 1) * count) {
                    group++;
                }
                groupCount = 0;
                groupCorrect = 0;
                groupConf = 0;
            }
        }
        if (groupCount > 0) { // cannot happen (the last non-empty bin closes its group), kept for safety
            total += Math.abs((double) groupCorrect - groupConf) / count;
        }
        return total;
    }

    private static double ratio(long a, long b) {
        return b == 0 ? Double.NaN : (double) a / b;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof CalibrationStats s && numClasses == s.numClasses && count == s.count
                && correct == s.correct && accepted == s.accepted && acceptedCorrect == s.acceptedCorrect
                && reviewed == s.reviewed && reviewedWrong == s.reviewedWrong && sums.equals(s.sums)
                && Arrays.equals(binCount, s.binCount) && Arrays.equals(binCorrect, s.binCorrect)
                && binConfidence.equals(s.binConfidence) && Arrays.equals(fineCount, s.fineCount)
                && Arrays.equals(fineCorrect, s.fineCorrect) && fineConfidence.equals(s.fineConfidence)
                && Objects.equals(sources, s.sources);
    }

    @Override
    public int hashCode() {
        return Long.hashCode(count) * 31 + sums.hashCode();
    }

    /**
     * One equal-width reliability bin {@code (lower, upper]}.
     *
     * @param meanConfidence NaN when empty
     * @param accuracy       NaN when empty
     */
    public record ReliabilityBin(double lower, double upper, long count, double meanConfidence, double accuracy)
            implements Serializable {
    }

    /**
     * Calibration figures at one moment (see {@link CalibrationStats} for the definitions); NaN where undefined.
     */
    public record CalibrationSnapshot(long count, double accuracy, double nll, double brier, double ece,
                                      double adaptiveEce, List<ReliabilityBin> reliability, long acceptedCount,
                                      double acceptedAccuracy, long reviewedCount, double reviewRate,
                                      double reviewPrecision, double oracleCollaborativeAccuracy)
            implements Serializable {

        public CalibrationSnapshot {
            reliability = List.copyOf(reliability);
        }
    }
}
