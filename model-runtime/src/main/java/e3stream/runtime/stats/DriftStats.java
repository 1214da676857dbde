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
import java.util.Optional;

/**
 * Label-free drift statistics of a prediction stream against the bundle's {@link ReferenceDistributions} (a
 * mergeable accumulator). Per item it takes confidence, entropy and mutual information (nats), the predicted class and
 * the triage decision. Figures ({@link DriftSnapshot}; NaN when no item was added):
 * <ul>
 *   <li>mean confidence, mean entropy, mean mutual information, review rate;</li>
 *   <li>estimated accuracy (CBPE-style): the mean calibrated confidence. The bundle's confidence is already calibrated
 *       by its fitted temperature, so this is the mean confidence; it is reported under its own name because it is
 *       the figure that tracks accuracy while labels are missing (on in-distribution data it matches the reference
 *       accuracy when the temperature is well fitted);</li>
 *   <li>PSI per signal over the reference bins (confidence, entropy, mutual information: the reference's decile
 *       bins; predicted_class: one bin per class): {@code sum_i (a_i - e_i) ln(a_i / e_i)} with actual share
 *       {@code a_i} and reference share {@code e_i}, each floored at {@link #PSI_EPSILON} = 1e-4 so that empty bins
 *       give a large finite value instead of infinity (no renormalisation). Rule of thumb: below 0.1 stable, above
 *       0.25 shifted;</li>
 *   <li>Kolmogorov–Smirnov distance per continuous signal: {@code max |F_live(x) - F_ref(x)|}, {@code F_ref}
 *       linear between the reference's 101 percentiles. To keep memory bounded, each signal is kept in a fixed
 *       histogram of 2048 bins (confidence: uniform in {@code sqrt(1 - c)} over [0, 1], about 1e-4 wide at 0.99;
 *       entropy and mutual information: uniform in {@code sqrt(v / ln C)} over [0, ln C], about 1.5e-4 wide at
 *       0.01 nats for C = 10) and the distance is evaluated at its bin edges, where {@code F_live} is exact; the
 *       error is at most the larger probability mass of one bin;</li>
 *   <li>Jensen–Shannon divergence of the predicted-class shares against the reference, natural log, in [0, ln 2].</li>
 * </ul>
 * Memory is bounded (about 50 KB plus the reference) regardless of items seen; counts are integers and sums exact
 * fixed point, so {@code a.merge(b)} leaves exactly the state of adding both streams to one accumulator. Not
 * thread-safe: one accumulator per Flink subtask, combined with {@link #merge}.
 *
 * <p><b>Per source</b>: built with {@code topSources = k > 0}, it also keeps the same figures (without the KS
 * distances) for the k busiest sources and {@value TopSources#OTHER} ({@link TopSources}: every item counted in
 * exactly one of them; about 1 KB per source, 2k sources at most); {@link #add(String, double, double, double, int,
 * boolean, double)} names the item's source and {@link #snapshotBySource()} gives their figures. Merging two such
 * accumulators adds their sources as {@link TopSources#merge} says (the whole-stream figures stay exact).
 *
 * <p><b>Shadow model</b>: after {@link #compareShadow()} it also carries a {@link ShadowComparison} of a shadow model
 * with the model these statistics describe ({@link #shadow()}; fed by its own {@code add}), merged and copied with
 * the rest, so that one window accumulator holds both.
 *
 * <pre>{@code
 * DriftStats drift = new DriftStats(ReferenceDistributions.fromJson(manifest.referenceJson()), 20);
 * drift.add(event.source, u.confidence(), u.entropy(), u.mutualInformation(), u.classIndex(), reviewed, Double.NaN);
 * double psi = drift.snapshot().psi().get("confidence");
 * }</pre>
 */
public final class DriftStats implements Serializable, MergeableStats<DriftStats> {

    private static final long serialVersionUID = 1L;

    /** Floor of both shares in a PSI term. */
    public static final double PSI_EPSILON = 1e-4;
    /** Key of the predicted-class PSI in {@link DriftSnapshot#psi()}. */
    public static final String PREDICTED_CLASS = "predicted_class";

    private static final int CONF = 0;
    private static final int ENT = 1;
    private static final int MI = 2;

    private final ReferenceDistributions reference;
    private final FineGrid[] grids;
    private long count;
    private long reviewed;
    private final FixedPointSums sums = new FixedPointSums(3); // confidence, entropy, MI
    private final long[][] psiCounts = new long[3][];
    /** The KS histograms; each of length 0 in a {@link #compact} accumulator. */
    private final long[][] fine;
    private final long[] classCounts;
    /** The density signal's reference, or null when the bundle has no density output. */
    private final SignalReference densityReference;
    private final long[] densityCounts;
    private long densityItems;
    /** ATC: the validation confidence above which the validation share equals validation accuracy (NaN: unknown). */
    private final double atcThreshold;
    /** Below this density (the reference's atcDensityFloor, NaN: none) an item counts as wrong for ATC. */
    private final double densityFloor;
    private long atcAccepted;
    /** The per-source breakdown, or null without one (and in accumulators written before it existed). */
    private final TopSources<DriftStats> sources;
    /** The shadow model's comparison, or null without one (and in accumulators written before it existed). */
    private ShadowComparison shadow;

    /** Drift statistics of the whole stream against {@code reference}, without a per-source breakdown. */
    public DriftStats(ReferenceDistributions reference) {
        this(reference, 0, true);
    }

    /**
     * Drift statistics of the whole stream and of its {@code topSources} busiest sources plus
     * {@value TopSources#OTHER} (0: no per-source figures).
     *
     * @throws IllegalArgumentException if {@code topSources} is outside {@code [0, TopSources.MAX_TOP]}
     */
    public DriftStats(ReferenceDistributions reference, int topSources) {
        this(reference, topSources, true);
    }

    /**
     * An accumulator without the KS histograms (its snapshot has no KS distances) and without sources: about 1 KB
     * instead of 50 KB; what {@link TopSources} keeps per source.
     */
    public static DriftStats compact(ReferenceDistributions reference) {
        return new DriftStats(reference, 0, false);
    }

    private DriftStats(ReferenceDistributions reference, int topSources, boolean withKs) {
        if (reference == null) {
            throw new IllegalArgumentException("drift statistics need the bundle's reference distributions");
        }
        if (topSources < 0) {
            throw new IllegalArgumentException("topSources must be >= 0 (0: no per-source figures), got " + topSources);
        }
        this.reference = reference;
        fine = new long[3][withKs ? FineGrid.BINS : 0];
        double maxEntropy = Math.log(reference.numClasses());
        grids = new FineGrid[] {new FineGrid(0, 1, true), new FineGrid(0, maxEntropy, false),
            new FineGrid(0, maxEntropy, false)};
        for (int s = 0; s < 3; s++) {
            psiCounts[s] = new long[reference.signal(ReferenceDistributions.SIGNALS.get(s)).bins()];
        }
        classCounts = new long[reference.numClasses()];
        densityReference = reference.featureLogDensity().orElse(null);
        densityCounts = densityReference == null ? new long[0] : new long[densityReference.bins()];
        densityFloor = reference.atcDensityFloor();
        atcThreshold = reference.atcThreshold();
        sources = topSources == 0 ? null : new TopSources<>(topSources, compact(reference));
    }

    public ReferenceDistributions reference() {
        return reference;
    }

    @Override
    public long count() {
        return count;
    }

    /** How many sources are reported by name (0: no per-source figures). */
    public int topSources() {
        return sources == null ? 0 : sources.top();
    }

    /**
     * Adds a {@link ShadowComparison} of a shadow model with this model (confidence bins of this reference) to these
     * statistics, if they have none yet.
     *
     * @return this
     */
    public DriftStats compareShadow() {
        if (shadow == null) {
            shadow = new ShadowComparison(reference.signal(ReferenceDistributions.CONFIDENCE));
        }
        return this;
    }

    /** The shadow model's comparison, when {@link #compareShadow()} added one. */
    public Optional<ShadowComparison> shadow() {
        return Optional.ofNullable(shadow);
    }

    private boolean withKs() {
        return fine[0].length > 0;
    }

    /** Adds one prediction with its feature log density ({@code NaN} for a bundle without the density output). */
    public void add(Uncertainty u, boolean reviewed, double featureLogDensity) {
        add(u.confidence(), u.entropy(), u.mutualInformation(), u.classIndex(), reviewed, featureLogDensity);
    }

    /**
     * Adds one prediction.
     *
     * @throws IllegalArgumentException on a NaN or negative signal, a confidence above 1, or a class outside the
     *                                  reference's classes
     */
    public void add(double confidence, double entropy, double mutualInformation, int predictedClass,
                    boolean reviewed) {
        add(confidence, entropy, mutualInformation, predictedClass, reviewed, Double.NaN);
    }

    /**
     * Adds one prediction with its feature log density ({@code NaN}: none; it then counts only for the other
     * signals).
     *
     * @throws IllegalArgumentException as {@link #add(double, double, double, int, boolean)}, or on an infinite
     *                                  density
     */
    public void add(double confidence, double entropy, double mutualInformation, int predictedClass,
                    boolean reviewed, double featureLogDensity) {
        if (Double.isInfinite(featureLogDensity)) {
            throw new IllegalArgumentException("feature log density " + featureLogDensity + " must be finite or NaN");
        }
        if (!(confidence >= 0 && confidence <= 1)) {
            throw new IllegalArgumentException("confidence " + confidence + " is outside [0, 1]");
        }
        if (!(entropy >= 0 && entropy < Double.POSITIVE_INFINITY)) {
            throw new IllegalArgumentException("entropy " + entropy + " must be a finite number >= 0");
        }
        if (!(mutualInformation >= 0 && mutualInformation < Double.POSITIVE_INFINITY)) {
            throw new IllegalArgumentException("mutual information " + mutualInformation
                    + " must be a finite number >= 0");
        }
        if (predictedClass < 0 || predictedClass >= classCounts.length) {
            throw new IllegalArgumentException("predicted class " + predictedClass + " is outside [0, "
                    + classCounts.length + ") (the reference has " + classCounts.length + " classes)");
        }
        double[] v = {confidence, entropy, mutualInformation};
        count++;
        this.reviewed += reviewed ? 1 : 0;
        for (int s = 0; s < 3; s++) {
            sums.add(s, v[s]);
            psiCounts[s][reference.signal(ReferenceDistributions.SIGNALS.get(s)).bin(v[s])]++;
            if (withKs()) {
                fine[s][grids[s].bin(v[s])]++;
            }
        }
        classCounts[predictedClass]++;
        boolean hasDensity = densityReference != null && !Double.isNaN(featureLogDensity);
        if (hasDensity) {
            densityItems++;
            densityCounts[densityReference.bin(featureLogDensity)]++;
        }
        if (ReferenceDistributions.atcCountsCorrect(confidence, featureLogDensity, atcThreshold, densityFloor)) {
            atcAccepted++; // NaN threshold compares false: no ATC estimate without the reference's accuracy
        }
    }

    /**
     * Adds one prediction of {@code source} (null: none): to the whole stream's figures and, with a per-source
     * breakdown, to its source's (or {@value TopSources#OTHER}'s).
     *
     * @throws IllegalArgumentException as {@link #add(double, double, double, int, boolean, double)}
     */
    public void add(String source, double confidence, double entropy, double mutualInformation, int predictedClass,
                    boolean reviewed, double featureLogDensity) {
        add(confidence, entropy, mutualInformation, predictedClass, reviewed, featureLogDensity); // validates first
        if (sources != null) {
            sources.forItem(source).add(confidence, entropy, mutualInformation, predictedClass, reviewed,
                    featureLogDensity);
        }
    }

    /**
     * Adds another accumulator's items to this one; afterwards this is exactly the accumulator of both streams.
     *
     * @throws IllegalArgumentException if the two were built against different references
     */
    @Override
    public String mergeConflict(DriftStats other) {
        if (!reference.equals(other.reference)) {
            return "built against different reference distributions (different bundles or versions)";
        }
        if (withKs() != other.withKs() || topSources() != other.topSources()) {
            return describe(other) + " into " + describe(this);
        }
        return shadow == null || other.shadow == null ? null : shadow.mergeConflict(other.shadow);
    }

    @Override
    public DriftStats merge(DriftStats other) {
        String conflict = mergeConflict(other);
        if (conflict != null) {
            throw new IllegalArgumentException("cannot merge drift statistics " + conflict);
        }
        count += other.count;
        reviewed += other.reviewed;
        sums.addAll(other.sums);
        for (int s = 0; s < 3; s++) {
            for (int i = 0; i < psiCounts[s].length; i++) {
                psiCounts[s][i] += other.psiCounts[s][i];
            }
            for (int i = 0; i < fine[s].length; i++) {
                fine[s][i] += other.fine[s][i];
            }
        }
        for (int c = 0; c < classCounts.length; c++) {
            classCounts[c] += other.classCounts[c];
        }
        densityItems += other.densityItems;
        for (int i = 0; i < densityCounts.length; i++) {
            densityCounts[i] += other.densityCounts[i];
        }
        atcAccepted += other.atcAccepted;
        if (sources != null) {
            sources.merge(other.sources);
        }
        if (other.shadow != null) {
            compareShadow().shadow.merge(other.shadow);
        }
        return this;
    }

    private static String describe(DriftStats d) {
        return (d.withKs() ? "with" : "without") + " KS histograms and " + d.topSources() + " sources by name";
    }

    /** A new accumulator holding the items of both (neither argument changes). */
    public static DriftStats merge(DriftStats a, DriftStats b) {
        return a.copy().merge(b);
    }

    public DriftStats copy() {
        return emptyLike().merge(this);
    }

    @Override
    public DriftStats emptyLike() {
        DriftStats empty = new DriftStats(reference, topSources(), withKs());
        if (shadow != null) {
            empty.shadow = shadow.emptyLike();
        }
        return empty;
    }

    /**
     * Figures of the busiest sources (most items first) and then {@value TopSources#OTHER}, as
     * {@link TopSources#bySource()} chooses them; without KS distances. Empty without a per-source breakdown.
     */
    public Map<String, DriftSnapshot> snapshotBySource() {
        Map<String, DriftSnapshot> out = new LinkedHashMap<>();
        if (sources != null) {
            sources.bySource().forEach((name, stats) -> out.put(name, stats.snapshot()));
        }
        return Collections.unmodifiableMap(out);
    }

    public DriftSnapshot snapshot() {
        double n = count;
        Map<String, Double> psi = new LinkedHashMap<>();
        Map<String, Double> ks = new LinkedHashMap<>();
        for (int s = 0; s < 3; s++) {
            String name = ReferenceDistributions.SIGNALS.get(s);
            SignalReference ref = reference.signal(name);
            psi.put(name, psi(psiCounts[s], ref.fractions()));
            if (withKs()) {
                ks.put(name, ks(fine[s], grids[s], ref));
            }
        }
        double[] expectedClasses = reference.predictedClass();
        psi.put(PREDICTED_CLASS, psi(classCounts, expectedClasses));
        if (densityReference != null) {
            psi.put(ReferenceDistributions.FEATURE_LOG_DENSITY, psi(densityCounts, densityReference.fractions(),
                    densityItems));
        }
        List<Double> classShares = new ArrayList<>(classCounts.length);
        for (long k : classCounts) {
            classShares.add(count == 0 ? Double.NaN : k / n);
        }
        double meanConf = count == 0 ? Double.NaN : sums.value(CONF) / n;
        double atc = count == 0 || Double.isNaN(atcThreshold) ? Double.NaN : atcAccepted / n;
        return new DriftSnapshot(count, meanConf, meanConf, atc, count == 0 ? Double.NaN : (double) reviewed / n,
                count == 0 ? Double.NaN : sums.value(ENT) / n, count == 0 ? Double.NaN : sums.value(MI) / n,
                Collections.unmodifiableMap(psi), Collections.unmodifiableMap(ks),
                jensenShannon(classCounts, expectedClasses), classShares);
    }

    private double psi(long[] counts, double[] expected) {
        return psi(counts, expected, count);
    }

    /**
     * PSI of {@code counts} (over {@code items}) against the shares {@code expected}, both shares floored at
     * {@link #PSI_EPSILON}; NaN when {@code items} is 0. The one PSI of the package ({@link ShadowComparison} too).
     */
    static double psi(long[] counts, double[] expected, long items) {
        if (items == 0) {
            return Double.NaN;
        }
        double total = 0;
        for (int i = 0; i < counts.length; i++) {
            double a = Math.max((double) counts[i] / items, PSI_EPSILON);
            double e = Math.max(expected[i], PSI_EPSILON);
            total += (a - e) * Math.log(a / e);
        }
        return total;
    }

    private double ks(long[] hist, FineGrid grid, SignalReference ref) {
        if (count == 0) {
            return Double.NaN;
        }
        double max = 0; // below the grid's range both CDFs are 0 (signals are >= 0)
        long cum = 0;
        for (int j = 0; j < hist.length; j++) {
            cum += hist[j];
            max = Math.max(max, Math.abs((double) cum / count - ref.cdf(grid.upperEdge(j))));
        }
        return max;
    }

    private double jensenShannon(long[] counts, double[] q) {
        if (count == 0) {
            return Double.NaN;
        }
        double js = 0;
        for (int i = 0; i < counts.length; i++) {
            double p = (double) counts[i] / count;
            double m = (p + q[i]) / 2;
            if (p > 0) {
                js += 0.5 * p * Math.log(p / m);
            }
            if (q[i] > 0) {
                js += 0.5 * q[i] * Math.log(q[i] / m);
            }
        }
        return Math.max(0.0, js);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof DriftStats d && reference.equals(d.reference) && count == d.count
                && reviewed == d.reviewed && sums.equals(d.sums) && Arrays.deepEquals(psiCounts, d.psiCounts)
                && Arrays.deepEquals(fine, d.fine) && Arrays.equals(classCounts, d.classCounts)
                && densityItems == d.densityItems && Arrays.equals(densityCounts, d.densityCounts)
                && atcAccepted == d.atcAccepted && Objects.equals(sources, d.sources)
                && Objects.equals(shadow, d.shadow);
    }

    @Override
    public int hashCode() {
        return Long.hashCode(count) * 31 + sums.hashCode();
    }

    /**
     * Drift figures at one moment (see {@link DriftStats} for the definitions); NaN where undefined.
     *
     * @param estimatedAccuracy       mean calibrated confidence
     * @param estimatedAccuracyAtc    ATC (Garg et al. 2022): share of items whose confidence is above the validation
     *                                threshold at which the validation share equals validation accuracy, an item
     *                                whose feature log density is below the reference's floor (a validation
     *                                quantile chosen by calibrate) counting as wrong; NaN when the reference has no
     *                                accuracy
     * @param psi                     by signal: confidence, entropy, mutual_information, predicted_class, and
     *                                feature_log_density when the bundle has it
     * @param ks                      by signal: confidence, entropy, mutual_information (empty for a source's
     *                                figures)
     * @param predictedClassFractions live share per class
     */
    public record DriftSnapshot(long count, double meanConfidence, double estimatedAccuracy,
                                double estimatedAccuracyAtc, double reviewRate,
                                double meanEntropy, double meanMutualInformation, Map<String, Double> psi,
                                Map<String, Double> ks, double predictedClassJsDivergence,
                                List<Double> predictedClassFractions) implements Serializable {

        public DriftSnapshot {
            psi = Collections.unmodifiableMap(new LinkedHashMap<>(psi));
            ks = Collections.unmodifiableMap(new LinkedHashMap<>(ks));
            predictedClassFractions = Collections.unmodifiableList(new ArrayList<>(predictedClassFractions));
        }
    }
}
