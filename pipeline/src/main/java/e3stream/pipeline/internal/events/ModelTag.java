package e3stream.pipeline.internal.events;

import org.apache.flink.annotation.Internal;

/**
 * Which model a shadow result is of, for its labelled figures: name and version (the calibration record) and the
 * value of the metrics' {@code model} label. Null on the active model's predictions. A Flink POJO; treat as immutable;
 * Serializable for the shadow calibration accumulators ({@code ShadowCalibrations}).
 */
@Internal
public class ModelTag implements java.io.Serializable {

    private static final long serialVersionUID = 1L;

    public String name;
    public String version;
    /** The {@code model} label of its gauges ({@code PipelineMetrics.shadowLabel}). */
    public String label;

    public ModelTag() {
    }

    public ModelTag(String name, String version, String label) {
        this.name = name;
        this.version = version;
        this.label = label;
    }

    // Equality and hash by value: the shadow's labelled figures are windowed by it (keyBy).
    @Override
    public boolean equals(Object o) {
        return o instanceof ModelTag t && java.util.Objects.equals(name, t.name)
                && java.util.Objects.equals(version, t.version) && java.util.Objects.equals(label, t.label);
    }

    @Override
    public int hashCode() {
        return java.util.Objects.hash(name, version, label);
    }
}
