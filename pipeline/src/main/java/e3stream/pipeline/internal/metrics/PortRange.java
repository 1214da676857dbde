package e3stream.pipeline.internal.metrics;

import java.io.Serializable;
import org.apache.flink.annotation.Internal;

/**
 * The ports a JVM may serve its Prometheus endpoint on, as written in {@code metrics.port}: one port ({@code 9464}),
 * a range {@code FROM-TO} ({@code 9464-9473}, both ends included; the same convention as Flink's
 * {@code metrics.reporter.prom.port}), or {@code 0} for none. With several TaskManagers on one host each JVM takes
 * the first free port of the range ({@link MetricsServer#ensureStarted(PortRange)}).
 *
 * <pre>{@code
 * PortRange ports = PortRange.parse("9464-9473");
 * int served = MetricsServer.ensureStarted(ports); // 9464, or 9465 if another JVM has 9464, ...
 * }</pre>
 *
 * <p>Immutable and serializable (operators carry it); thread-safe.
 */
@Internal
public final class PortRange implements Serializable {

    private static final long serialVersionUID = 1L;

    /** No endpoint. */
    public static final PortRange NONE = new PortRange(0, 0);

    private final int from;
    private final int to;

    private PortRange(int from, int to) {
        this.from = from;
        this.to = to;
    }

    /**
     * Parses {@code PORT}, {@code FROM-TO} or {@code 0}.
     *
     * @throws IllegalArgumentException saying what is wrong with {@code text} (not a port or range, a port outside
     *                                  1..65535, FROM above TO)
     */
    public static PortRange parse(String text) {
        String s = text == null ? "" : text.trim();
        if (s.equals("0")) {
            return NONE;
        }
        if (!s.matches("\\d{1,5}(\\s*-\\s*\\d{1,5})?")) {
            throw new IllegalArgumentException("expected a port (1..65535), a range FROM-TO of them (e.g. 9464-9473) "
                    + "or 0 for none, found '" + text + "'");
        }
        String[] ends = s.split("\\s*-\\s*");
        int from = Integer.parseInt(ends[0]);
        int to = ends.length == 1 ? from : Integer.parseInt(ends[1]);
        if (from < 1 || from > 65535 || to < 1 || to > 65535) {
            throw new IllegalArgumentException("ports must be in 1..65535, found '" + text + "'");
        }
        if (from > to) {
            throw new IllegalArgumentException("range FROM-TO must have FROM <= TO, found '" + text + "'");
        }
        return new PortRange(from, to);
    }

    /** Whether no endpoint is wanted ({@code 0}). */
    public boolean isNone() {
        return from == 0;
    }

    /** First port of the range (0 for none). */
    public int from() {
        return from;
    }

    /** Last port of the range, included (0 for none). */
    public int to() {
        return to;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof PortRange r && r.from == from && r.to == to;
    }

    @Override
    public int hashCode() {
        return 31 * from + to;
    }

    /** As written in {@code metrics.port}: {@code 0}, {@code 9464} or {@code 9464-9473}. */
    @Override
    public String toString() {
        return from == to ? Integer.toString(from) : from + "-" + to;
    }
}
