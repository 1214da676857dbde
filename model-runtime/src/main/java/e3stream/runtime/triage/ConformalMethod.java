package e3stream.runtime.triage;

import java.util.Arrays;
import java.util.Locale;

/**
 * Non-conformity score of a split-conformal predictor (see {@link ConformalPredictor} for the scores and sets).
 */
public enum ConformalMethod {
    /** Least ambiguous set-valued classifier: score {@code 1 - p_y}. */
    LAC,
    /** Adaptive prediction sets: score = probability mass of the classes ranked up to and including {@code y}. */
    APS;

    /** The name used in model.json ({@code "lac"}, {@code "aps"}). */
    public String jsonName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /**
     * Parses a model.json / command-line name, case-insensitively.
     *
     * @throws IllegalArgumentException naming the valid values
     */
    public static ConformalMethod parse(String name) {
        for (ConformalMethod m : values()) {
            if (m.name().equalsIgnoreCase(name == null ? "" : name.trim())) {
                return m;
            }
        }
        throw new IllegalArgumentException("unknown conformal method \"" + name + "\", expected one of "
                + Arrays.stream(values()).map(ConformalMethod::jsonName).toList());
    }
}
