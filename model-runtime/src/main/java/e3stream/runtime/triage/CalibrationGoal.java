package e3stream.runtime.triage;

import java.util.Locale;

/**
 * What the {@code calibrate} command tunes {@code min_confidence} for: either the error among accepted items stays at
 * or below {@code target} while reviewing as little as possible, or the share sent to review stays at or below
 * {@code target} while accepting as accurately as possible.
 */
public record CalibrationGoal(Kind kind, double target) {

    public enum Kind {
        /** Error among accepted items {@code <= target}; the lowest such {@code min_confidence}. */
        MAX_ACCEPTED_ERROR("accepted_error"),
        /** Review rate {@code <= target}; the highest such {@code min_confidence}. */
        MAX_REVIEW_RATE("review_rate");

        private final String key;

        Kind(String key) {
            this.key = key;
        }

        public String key() {
            return key;
        }
    }

    public CalibrationGoal {
        if (kind == null) {
            throw new IllegalArgumentException("goal kind must be set");
        }
        if (!(target >= 0 && target <= 1)) {
            throw new IllegalArgumentException(kind.key() + " goal must be a share in [0, 1], got " + target);
        }
    }

    public static CalibrationGoal maxAcceptedError(double target) {
        return new CalibrationGoal(Kind.MAX_ACCEPTED_ERROR, target);
    }

    public static CalibrationGoal maxReviewRate(double target) {
        return new CalibrationGoal(Kind.MAX_REVIEW_RATE, target);
    }

    /**
     * Parses {@code accepted_error<=0.02} or {@code review_rate<=0.1} (also with {@code =}, or a percentage such as
     * {@code review_rate<=10%}).
     */
    public static CalibrationGoal parse(String text) {
        String s = text == null ? "" : text.trim().toLowerCase(Locale.ROOT).replace(" ", "");
        for (Kind k : Kind.values()) {
            for (String op : new String[] {"<=", "="}) {
                if (s.startsWith(k.key() + op)) {
                    String v = s.substring(k.key().length() + op.length());
                    try {
                        double target = v.endsWith("%") ? Double.parseDouble(v.substring(0, v.length() - 1)) / 100
                                : Double.parseDouble(v);
                        return new CalibrationGoal(k, target);
                    } catch (NumberFormatException e) {
                        break;
                    }
                }
            }
        }
        throw new IllegalArgumentException("cannot read goal \"" + text + "\"; write accepted_error<=0.02 or "
                + "review_rate<=0.1");
    }

    @Override
    public String toString() {
        return kind.key() + "<=" + target;
    }
}
