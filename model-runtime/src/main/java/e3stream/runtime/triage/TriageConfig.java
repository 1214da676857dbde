package e3stream.runtime.triage;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The validated "triage" section of model.json. An item is accepted only if confidence {@code >= minConfidence},
 * mutual information {@code <= maxMutualInformation}, entropy {@code <= maxEntropy} and its conformal prediction set
 * holds exactly one class; a {@code null} bound (or conformal part) is not used.
 *
 * <pre>{@code
 * TriageConfig config = TriageConfig.fromJson(manifest.triageJson())
 *         .withOverrides(Map.of("min_confidence", "0.8"));
 * }</pre>
 *
 * <p>Immutable and thread-safe.
 *
 * @param minConfidence        in [0, 1]
 * @param maxEntropy           nats, {@code >= 0}, or {@code null}
 * @param maxMutualInformation nats, {@code >= 0}, or {@code null}
 * @param conformal            calibrated conformal predictor settings, or {@code null}
 * @param minFeatureLogDensity items whose {@code feature_log_density} (the bundle's optional density output) is
 *                             below it go to review as {@code out_of_distribution}; {@code null}: not used, and
 *                             ignored for an item without a density
 */
public record TriageConfig(double minConfidence, Double maxEntropy, Double maxMutualInformation,
                           ConformalConfig conformal, Double minFeatureLogDensity) {

    /** The keys {@link #withOverrides} understands (the model.json names, conformal ones dotted). */
    public static final List<String> OVERRIDE_KEYS = List.of("min_confidence", "max_entropy",
            "max_mutual_information", "conformal", "conformal.method", "conformal.alpha", "conformal.threshold");

    private static final Set<String> KEYS = Set.of("min_confidence", "max_entropy", "max_mutual_information",
            "conformal", "min_feature_log_density");
    private static final Set<String> CONFORMAL_KEYS = Set.of("method", "alpha", "threshold");

    public TriageConfig {
        if (!(minConfidence >= 0 && minConfidence <= 1)) {
            throw new IllegalArgumentException("triage.min_confidence must be in [0, 1], got " + minConfidence);
        }
        checkBound("triage.max_entropy", maxEntropy);
        checkBound("triage.max_mutual_information", maxMutualInformation);
        if (minFeatureLogDensity != null && !Double.isFinite(minFeatureLogDensity)) {
            throw new IllegalArgumentException("triage.min_feature_log_density must be a finite number or null (not "
                    + "used), got " + minFeatureLogDensity);
        }
    }

    /** A config without the density rule. */
    public TriageConfig(double minConfidence, Double maxEntropy, Double maxMutualInformation, ConformalConfig conformal) {
        this(minConfidence, maxEntropy, maxMutualInformation, conformal, null);
    }

    private static void checkBound(String name, Double v) {
        if (v != null && !(v >= 0 && Double.isFinite(v))) {
            throw new IllegalArgumentException(name + " must be a finite number >= 0 or null (not used), got " + v);
        }
    }

    /**
     * Reads the "triage" JSON object of model.json. Unknown keys are refused (a typo would otherwise silently disable
     * a rule).
     *
     * @throws IllegalArgumentException naming the key that is missing, unknown or out of range
     */
    public static TriageConfig fromJson(JsonNode triage) {
        if (triage == null || !triage.isObject()) {
            throw new IllegalArgumentException("model.json \"triage\" must be an object with min_confidence, "
                    + "max_entropy, max_mutual_information and conformal, got " + triage);
        }
        checkKeys("triage", triage, KEYS);
        JsonNode mc = triage.get("min_confidence");
        if (mc == null || !mc.isNumber()) {
            throw new IllegalArgumentException("triage.min_confidence must be a number in [0, 1], got " + mc);
        }
        JsonNode density = triage.get("min_feature_log_density");
        if (density != null && !density.isNull() && !density.isNumber()) {
            throw new IllegalArgumentException("triage.min_feature_log_density must be a number or null, got " + density);
        }
        return new TriageConfig(mc.asDouble(), optionalNumber(triage, "max_entropy"),
                optionalNumber(triage, "max_mutual_information"), conformalFromJson(triage.get("conformal")),
                density == null || density.isNull() ? null : density.asDouble());
    }

    private static ConformalConfig conformalFromJson(JsonNode c) {
        if (c == null || c.isNull()) {
            return null;
        }
        if (!c.isObject()) {
            throw new IllegalArgumentException("triage.conformal must be an object {method, alpha, threshold} or "
                    + "null, got " + c);
        }
        checkKeys("triage.conformal", c, CONFORMAL_KEYS);
        JsonNode method = c.get("method");
        if (method == null || !method.isTextual()) {
            throw new IllegalArgumentException("triage.conformal.method must be one of [lac, aps], got " + method);
        }
        JsonNode alpha = c.get("alpha");
        if (alpha == null || !alpha.isNumber()) {
            throw new IllegalArgumentException("triage.conformal.alpha must be a number in (0, 1), got " + alpha);
        }
        JsonNode threshold = c.get("threshold");
        if (threshold == null || !threshold.isNumber()) {
            throw new IllegalArgumentException("triage.conformal.threshold must be a number, got " + threshold
                    + "; run the calibrate command to fit it, or set triage.conformal to null");
        }
        return new ConformalConfig(ConformalMethod.parse(method.asText()), alpha.asDouble(), threshold.asDouble());
    }

    private static void checkKeys(String where, JsonNode node, Set<String> known) {
        for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (!known.contains(k)) {
                throw new IllegalArgumentException("unknown key \"" + k + "\" in " + where + ", expected some of "
                        + known.stream().sorted().toList());
            }
        }
    }

    private static Double optionalNumber(JsonNode triage, String key) {
        JsonNode v = triage.get(key);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isNumber()) {
            throw new IllegalArgumentException("triage." + key + " must be a number >= 0 or null, got " + v);
        }
        return v.asDouble();
    }

    /** This configuration as the "triage" JSON object of model.json ({@link #fromJson} reads it back equal). */
    public ObjectNode toJson() {
        ObjectNode o = JsonNodeFactory.instance.objectNode();
        o.put("min_confidence", minConfidence);
        o.put("max_entropy", maxEntropy);
        o.put("max_mutual_information", maxMutualInformation);
        if (conformal == null) {
            o.putNull("conformal");
        } else {
            ObjectNode c = o.putObject("conformal");
            c.put("method", conformal.method().jsonName());
            c.put("alpha", conformal.alpha());
            c.put("threshold", conformal.threshold());
        }
        if (minFeatureLogDensity != null) {
            o.put("min_feature_log_density", minFeatureLogDensity);
        }
        return o;
    }

    public TriageConfig withMinConfidence(double v) {
        return new TriageConfig(v, maxEntropy, maxMutualInformation, conformal, minFeatureLogDensity);
    }

    public TriageConfig withMaxEntropy(Double v) {
        return new TriageConfig(minConfidence, v, maxMutualInformation, conformal, minFeatureLogDensity);
    }

    public TriageConfig withMaxMutualInformation(Double v) {
        return new TriageConfig(minConfidence, maxEntropy, v, conformal, minFeatureLogDensity);
    }

    public TriageConfig withConformal(ConformalConfig v) {
        return new TriageConfig(minConfidence, maxEntropy, maxMutualInformation, v, minFeatureLogDensity);
    }

    public TriageConfig withMinFeatureLogDensity(Double v) {
        return new TriageConfig(minConfidence, maxEntropy, maxMutualInformation, conformal, v);
    }

    /**
     * Applies string overrides (e.g. from job options) keyed by {@link #OVERRIDE_KEYS}. {@code "none"} or
     * {@code "null"} switches a bound or the conformal rule off. The conformal method or alpha can only be changed
     * together with {@code conformal.threshold}, because a threshold is calibrated for one method and alpha.
     *
     * @throws IllegalArgumentException naming an unknown key or a bad value
     */
    public TriageConfig withOverrides(Map<String, String> overrides) {
        TriageConfig out = this;
        for (String key : overrides.keySet()) {
            if (!OVERRIDE_KEYS.contains(key)) {
                throw new IllegalArgumentException("unknown triage override \"" + key + "\", expected one of "
                        + OVERRIDE_KEYS);
            }
        }
        try {
            if (overrides.containsKey("min_confidence")) {
                out = out.withMinConfidence(Double.parseDouble(overrides.get("min_confidence").trim()));
            }
            if (overrides.containsKey("max_entropy")) {
                out = out.withMaxEntropy(nullableNumber(overrides.get("max_entropy")));
            }
            if (overrides.containsKey("max_mutual_information")) {
                out = out.withMaxMutualInformation(nullableNumber(overrides.get("max_mutual_information")));
            }
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("triage override is not a number: " + e.getMessage()
                    + " (use a decimal number, or none)", e);
        }
        if (overrides.containsKey("conformal")) {
            if (!isNone(overrides.get("conformal"))) {
                throw new IllegalArgumentException("triage override conformal only accepts none (to switch the "
                        + "conformal rule off), got " + overrides.get("conformal")
                        + "; set conformal.method/alpha/threshold instead");
            }
            out = out.withConformal(null);
        }
        boolean methodOrAlpha = overrides.containsKey("conformal.method") || overrides.containsKey("conformal.alpha");
        if (methodOrAlpha && !overrides.containsKey("conformal.threshold")) {
            throw new IllegalArgumentException("overriding conformal.method or conformal.alpha needs a matching "
                    + "conformal.threshold (a threshold is calibrated for one method and alpha); run the calibrate "
                    + "command with the new method/alpha");
        }
        if (overrides.containsKey("conformal.threshold")) {
            ConformalConfig base = out.conformal;
            if (base == null && !methodOrAlpha) {
                throw new IllegalArgumentException("conformal.threshold override needs conformal.method and "
                        + "conformal.alpha because the bundle has no conformal section");
            }
            try {
                ConformalMethod method = overrides.containsKey("conformal.method")
                        ? ConformalMethod.parse(overrides.get("conformal.method")) : base.method();
                double alpha = overrides.containsKey("conformal.alpha")
                        ? Double.parseDouble(overrides.get("conformal.alpha").trim()) : base.alpha();
                double threshold = Double.parseDouble(overrides.get("conformal.threshold").trim());
                out = out.withConformal(new ConformalConfig(method, alpha, threshold));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("conformal override is not a number: " + e.getMessage(), e);
            } catch (NullPointerException e) {
                throw new IllegalArgumentException("conformal.threshold override needs conformal.method and "
                        + "conformal.alpha because the bundle has no conformal section", e);
            }
        }
        return out;
    }

    private static boolean isNone(String v) {
        String s = v == null ? "none" : v.trim().toLowerCase(Locale.ROOT);
        return s.equals("none") || s.equals("null") || s.isEmpty();
    }

    private static Double nullableNumber(String v) {
        return isNone(v) ? null : Double.valueOf(v.trim());
    }

    /** Human-readable list of the active rules, for logs. */
    public String describe() {
        List<String> rules = new ArrayList<>();
        rules.add("confidence >= " + minConfidence);
        if (maxMutualInformation != null) {
            rules.add("mutual_information <= " + maxMutualInformation);
        }
        if (maxEntropy != null) {
            rules.add("entropy <= " + maxEntropy);
        }
        if (conformal != null) {
            rules.add(conformal.method().jsonName() + " set at " + (1 - conformal.alpha()) + " has one class");
        }
        if (minFeatureLogDensity != null) {
            rules.add("feature_log_density >= " + minFeatureLogDensity);
        }
        return "accept if " + String.join(" and ", rules);
    }
}
