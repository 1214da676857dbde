package e3stream.runtime.stats;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.Serializable;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The model.json "reference" section: validation-split distributions of confidence, entropy and mutual information
 * ({@link SignalReference}), the predicted-class fractions, and summary figures. {@link DriftStats} compares live
 * traffic against it. {@link #fromSamples} builds one (the {@code calibrate} command does, with the fitted
 * temperature), {@link #toJson()} writes it back in the same format.
 *
 * <pre>{@code
 * ReferenceDistributions ref = ReferenceDistributions.fromJson(manifest.referenceJson());
 * DriftStats drift = new DriftStats(ref);
 * }</pre>
 *
 * <p>Immutable and thread-safe.
 */
public final class ReferenceDistributions implements Serializable {

    private static final long serialVersionUID = 1L;

    public static final String CONFIDENCE = "confidence";
    public static final String ENTROPY = "entropy";
    public static final String MUTUAL_INFORMATION = "mutual_information";
    /** The continuous signals, in this order. */
    public static final List<String> SIGNALS = List.of(CONFIDENCE, ENTROPY, MUTUAL_INFORMATION);
    /** Optional signal: present when the bundle has the feature_log_density output. */
    public static final String FEATURE_LOG_DENSITY = "feature_log_density";
    /**
     * Validation quantile of the feature log density below which ATC counts an item as wrong, for a reference that
     * does not name its own ({@code atc_density_floor_level}, chosen by {@link AtcDensityFloor} in calibrate).
     */
    public static final double DEFAULT_ATC_DENSITY_FLOOR_LEVEL = 0.01;

    private final String split;
    private final long count;
    private final Map<String, SignalReference> signals;
    private final double[] predictedClass;
    private final Double meanConfidence;
    private final Double accuracy;
    private final Double reviewRate;
    /** The ATC confidence threshold fitted with the density floor (null: derived from the quantiles alone). */
    private final Double atcThreshold;
    /** The density quantile of the ATC floor (null: {@link #DEFAULT_ATC_DENSITY_FLOOR_LEVEL}). */
    private final Double atcDensityFloorLevel;

    /**
     * A reference without a fitted ATC threshold: {@link #atcThreshold()} is then the confidence quantile at
     * {@code 1 - accuracy}.
     *
     * @param signals        one {@link SignalReference} for each of {@link #SIGNALS}
     * @param predictedClass fractions of predictions per class (sum 1), one per class
     * @param meanConfidence optional (null) summary figures of the reference split
     */
    public ReferenceDistributions(String split, long count, Map<String, SignalReference> signals,
                                  double[] predictedClass, Double meanConfidence, Double accuracy, Double reviewRate) {
        this(split, count, signals, predictedClass, meanConfidence, accuracy, reviewRate, null, null);
    }

    /**
     * @param atcThreshold         the confidence threshold that {@link #fitAtcThreshold} fitted on the reference split
     *                             (null: derived from the confidence quantiles and accuracy)
     * @param atcDensityFloorLevel the density quantile of the floor it was fitted with (null: the default, 0.01)
     */
    public ReferenceDistributions(String split, long count, Map<String, SignalReference> signals,
                                  double[] predictedClass, Double meanConfidence, Double accuracy, Double reviewRate,
                                  Double atcThreshold, Double atcDensityFloorLevel) {
        if (atcDensityFloorLevel != null && !(atcDensityFloorLevel > 0 && atcDensityFloorLevel < 1)) {
            throw new IllegalArgumentException("reference.atc_density_floor_level must be in (0, 1), got "
                    + atcDensityFloorLevel);
        }
        if (signals == null || !signals.keySet().containsAll(SIGNALS)) {
            throw new IllegalArgumentException("reference.signals must hold " + SIGNALS + ", got "
                    + (signals == null ? "none" : signals.keySet()));
        }
        if (predictedClass == null || predictedClass.length < 2) {
            throw new IllegalArgumentException("reference.predicted_class must hold one fraction per class (>= 2)");
        }
        SignalReference.checkFractions("reference.predicted_class", predictedClass);
        this.split = split;
        this.count = count;
        Map<String, SignalReference> copy = new LinkedHashMap<>();
        for (String s : SIGNALS) {
            copy.put(s, signals.get(s));
        }
        if (signals.get(FEATURE_LOG_DENSITY) != null) {
            copy.put(FEATURE_LOG_DENSITY, signals.get(FEATURE_LOG_DENSITY));
        }
        this.signals = Collections.unmodifiableMap(copy);
        this.predictedClass = predictedClass.clone();
        this.meanConfidence = meanConfidence;
        this.accuracy = accuracy;
        this.reviewRate = reviewRate;
        this.atcThreshold = atcThreshold;
        this.atcDensityFloorLevel = atcDensityFloorLevel;
    }

    /**
     * Reads the "reference" object of model.json (format: models/README.md).
     *
     * @throws IllegalArgumentException naming the part that is missing or malformed
     */
    public static ReferenceDistributions fromJson(JsonNode reference) {
        if (reference == null || !reference.isObject()) {
            throw new IllegalArgumentException("model.json \"reference\" must be an object with signals and "
                    + "predicted_class (written by the calibrate command), got " + reference);
        }
        JsonNode signals = reference.get("signals");
        if (signals == null || !signals.isObject()) {
            throw new IllegalArgumentException("reference.signals must be an object with " + SIGNALS);
        }
        Map<String, SignalReference> map = new LinkedHashMap<>();
        for (String s : SIGNALS) {
            JsonNode n = signals.get(s);
            if (n == null || !n.isObject()) {
                throw new IllegalArgumentException("reference.signals." + s + " is missing; expected "
                        + "{edges, fractions, quantiles}");
            }
            try {
                map.put(s, new SignalReference(doubles(n, "edges"), doubles(n, "fractions"),
                        doubles(n, "quantiles")));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("reference.signals." + s + ": " + e.getMessage(), e);
            }
        }
        JsonNode density = signals.get(FEATURE_LOG_DENSITY);
        if (density != null && density.isObject()) {
            try {
                map.put(FEATURE_LOG_DENSITY, new SignalReference(doubles(density, "edges"), doubles(density, "fractions"),
                        doubles(density, "quantiles")));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("reference.signals." + FEATURE_LOG_DENSITY + ": " + e.getMessage(), e);
            }
        }
        double[] pc = doubles(reference, "predicted_class");
        JsonNode split = reference.get("split");
        JsonNode count = reference.get("count");
        return new ReferenceDistributions(split == null || split.isNull() ? null : split.asText(),
                count == null ? 0 : count.asLong(), map, pc, optional(reference, "mean_confidence"),
                optional(reference, "accuracy"), optional(reference, "review_rate"),
                optional(reference, "atc_threshold"), optional(reference, "atc_density_floor_level"));
    }

    private static double[] doubles(JsonNode parent, String key) {
        JsonNode a = parent.get(key);
        if (a == null || !a.isArray()) {
            throw new IllegalArgumentException(key + " must be an array of numbers, got " + a);
        }
        double[] out = new double[a.size()];
        for (int i = 0; i < out.length; i++) {
            if (!a.get(i).isNumber()) {
                throw new IllegalArgumentException(key + "[" + i + "] is not a number: " + a.get(i));
            }
            out[i] = a.get(i).asDouble();
        }
        return out;
    }

    private static Double optional(JsonNode parent, String key) {
        JsonNode v = parent.get(key);
        return v == null || !v.isNumber() ? null : v.asDouble();
    }

    /**
     * Builds a reference from per-item values of a reference split (all arrays of equal length).
     *
     * @param predictedClass predicted class per item, in {@code [0, numClasses)}
     * @param accuracy       optional summary figures (null if unknown)
     */
    public static ReferenceDistributions fromSamples(String split, double[] confidence, double[] entropy,
                                                     double[] mutualInformation, int[] predictedClass,
                                                     int numClasses, Double accuracy, Double reviewRate) {
        return fromSamples(split, confidence, entropy, mutualInformation, predictedClass, null, numClasses, accuracy,
                reviewRate);
    }

    /**
     * As {@link #fromSamples(String, double[], double[], double[], int[], int, Double, Double)}, with each item's
     * feature log density ({@code null}: the bundle has none) as the optional {@link #FEATURE_LOG_DENSITY} signal.
     */
    public static ReferenceDistributions fromSamples(String split, double[] confidence, double[] entropy,
                                                     double[] mutualInformation, int[] predictedClass,
                                                     double[] featureLogDensity, int numClasses, Double accuracy,
                                                     Double reviewRate) {
        int n = confidence.length;
        if (featureLogDensity != null && featureLogDensity.length != n) {
            throw new IllegalArgumentException("reference samples need one feature log density per item, got "
                    + featureLogDensity.length + " for " + n);
        }
        if (entropy.length != n || mutualInformation.length != n || predictedClass.length != n || n == 0) {
            throw new IllegalArgumentException("reference samples need equally many (> 0) values per signal, got "
                    + n + ", " + entropy.length + ", " + mutualInformation.length + ", " + predictedClass.length);
        }
        Map<String, SignalReference> map = new LinkedHashMap<>();
        map.put(CONFIDENCE, SignalReference.fromSamples(confidence));
        map.put(ENTROPY, SignalReference.fromSamples(entropy));
        map.put(MUTUAL_INFORMATION, SignalReference.fromSamples(mutualInformation));
        if (featureLogDensity != null) {
            map.put(FEATURE_LOG_DENSITY, SignalReference.fromSamples(featureLogDensity));
        }
        long[] counts = new long[numClasses];
        for (int c : predictedClass) {
            if (c < 0 || c >= numClasses) {
                throw new IllegalArgumentException("predicted class " + c + " outside [0, " + numClasses + ")");
            }
            counts[c]++;
        }
        double[] fractions = new double[numClasses];
        for (int c = 0; c < numClasses; c++) {
            fractions[c] = (double) counts[c] / n;
        }
        double mean = 0;
        for (double v : confidence) {
            mean += v;
        }
        Double atc = null;
        if (accuracy != null) {
            SignalReference density = map.get(FEATURE_LOG_DENSITY);
            atc = fitAtcThreshold(confidence, featureLogDensity,
                    density == null ? Double.NaN : density.quantile(DEFAULT_ATC_DENSITY_FLOOR_LEVEL), accuracy);
        }
        return new ReferenceDistributions(split, n, map, fractions, mean / n, accuracy, reviewRate, atc, null);
    }

    /**
     * This reference with ATC's density floor at the {@code level} quantile of its density signal, and the threshold
     * refitted with it on the reference split's items (the ones this reference was built from).
     *
     * @throws IllegalArgumentException without a density signal or an accuracy to fit to
     */
    public ReferenceDistributions withAtcDensityFloorLevel(double level, double[] confidence,
                                                           double[] featureLogDensity) {
        SignalReference density = signals.get(FEATURE_LOG_DENSITY);
        if (density == null || accuracy == null) {
            throw new IllegalArgumentException("an ATC density floor needs the density signal and the accuracy");
        }
        double threshold = fitAtcThreshold(confidence, featureLogDensity, density.quantile(level), accuracy);
        return new ReferenceDistributions(split, count, signals, predictedClass, meanConfidence, accuracy, reviewRate,
                threshold, level);
    }

    /**
     * ATC's rule for one item: counted correct when its confidence reaches the threshold and its density (NaN: none)
     * is not below the floor (NaN: no floor). The one rule that fitting, choosing the floor and the stream apply.
     */
    public static boolean atcCountsCorrect(double confidence, double featureLogDensity, double threshold,
                                           double densityFloor) {
        return confidence >= threshold && !(featureLogDensity < densityFloor);
    }

    /**
     * ATC's threshold (Garg et al. 2022), fitted together with the density floor that {@link DriftStats} applies: the
     * confidence at or above which the items whose density is not below {@code densityFloor} make up exactly
     * {@code accuracy} of all items. Fitting on confidence alone and applying the floor afterwards would estimate
     * clean data below its accuracy by up to the floor's share. The exporter (model-runtime/training/export.py,
     * {@code atc_threshold}) fits the same rule.
     *
     * @param featureLogDensity per item, or null (no density: the plain confidence quantile)
     * @param densityFloor      NaN without a density
     */
    public static double fitAtcThreshold(double[] confidence, double[] featureLogDensity, double densityFloor,
                                         double accuracy) {
        int n = confidence.length;
        double[] eligible = new double[n];
        int m = 0;
        for (int i = 0; i < n; i++) {
            if (featureLogDensity == null || !(featureLogDensity[i] < densityFloor)) {
                eligible[m++] = confidence[i];
            }
        }
        long accepted = Math.round(accuracy * n);
        if (accepted <= 0 || m == 0) {
            return Double.POSITIVE_INFINITY;
        }
        double[] sorted = Arrays.copyOf(eligible, m);
        Arrays.sort(sorted);
        return accepted >= m ? sorted[0] : sorted[(int) (m - accepted)];
    }

    /** This reference in the model.json format ({@link #fromJson} reads it back equal). */
    public ObjectNode toJson() {
        ObjectNode o = JsonNodeFactory.instance.objectNode();
        o.put("split", split);
        o.put("count", count);
        ObjectNode s = o.putObject("signals");
        for (Map.Entry<String, SignalReference> e : signals.entrySet()) {
            ObjectNode sig = s.putObject(e.getKey());
            array(sig.putArray("edges"), e.getValue().edges());
            array(sig.putArray("fractions"), e.getValue().fractions());
            array(sig.putArray("quantiles"), e.getValue().quantiles());
        }
        array(o.putArray("predicted_class"), predictedClass);
        o.put("mean_confidence", meanConfidence);
        o.put("accuracy", accuracy);
        o.put("review_rate", reviewRate);
        if (atcThreshold != null) {
            o.put("atc_threshold", atcThreshold);
        }
        if (atcDensityFloorLevel != null) {
            o.put("atc_density_floor_level", atcDensityFloorLevel);
        }
        return o;
    }

    private static void array(ArrayNode a, double[] values) {
        for (double v : values) {
            a.add(v);
        }
    }

    public String split() {
        return split;
    }

    public long count() {
        return count;
    }

    /** The feature log density's reference, when the bundle has the density output. */
    public java.util.Optional<SignalReference> featureLogDensity() {
        return java.util.Optional.ofNullable(signals.get(FEATURE_LOG_DENSITY));
    }

    /** The signal's reference; {@code name} is one of {@link #SIGNALS}. */
    public SignalReference signal(String name) {
        SignalReference r = signals.get(name);
        if (r == null) {
            throw new IllegalArgumentException("unknown signal \"" + name + "\", expected one of " + SIGNALS);
        }
        return r;
    }

    public Map<String, SignalReference> signals() {
        return signals;
    }

    public double[] predictedClass() {
        return predictedClass.clone();
    }

    public int numClasses() {
        return predictedClass.length;
    }

    public Double meanConfidence() {
        return meanConfidence;
    }

    public Double accuracy() {
        return accuracy;
    }

    public Double reviewRate() {
        return reviewRate;
    }

    /**
     * ATC's confidence threshold: the fitted one, else the confidence quantile at {@code 1 - accuracy}; NaN without
     * an accuracy (no ATC estimate).
     */
    public double atcThreshold() {
        if (atcThreshold != null) {
            return atcThreshold;
        }
        return accuracy == null ? Double.NaN : signal(CONFIDENCE).quantile(1 - accuracy);
    }

    /** The density below which ATC counts an item wrong (NaN: the bundle has no density output). */
    public double atcDensityFloor() {
        SignalReference density = signals.get(FEATURE_LOG_DENSITY);
        return density == null ? Double.NaN : density.quantile(atcDensityFloorLevel());
    }

    /** The density quantile of ATC's floor: the reference's own, else {@link #DEFAULT_ATC_DENSITY_FLOOR_LEVEL}. */
    public double atcDensityFloorLevel() {
        return atcDensityFloorLevel == null ? DEFAULT_ATC_DENSITY_FLOOR_LEVEL : atcDensityFloorLevel;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ReferenceDistributions r && java.util.Objects.equals(split, r.split) && count == r.count
                && signals.equals(r.signals) && Arrays.equals(predictedClass, r.predictedClass)
                && java.util.Objects.equals(meanConfidence, r.meanConfidence)
                && java.util.Objects.equals(accuracy, r.accuracy)
                && java.util.Objects.equals(reviewRate, r.reviewRate)
                && java.util.Objects.equals(atcThreshold, r.atcThreshold)
                && java.util.Objects.equals(atcDensityFloorLevel, r.atcDensityFloorLevel);
    }

    @Override
    public int hashCode() {
        return signals.hashCode() * 31 + Arrays.hashCode(predictedClass);
    }
}
