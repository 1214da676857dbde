package e3stream.pipeline.internal.labels;

import e3stream.pipeline.internal.events.ModelTag;
import org.apache.flink.annotation.Internal;

/** A prediction joined with its true label: one item of the calibration statistics. A Flink POJO. */
@Internal
public class LabelledPrediction {
    public String id;
    /** Event time of the image (ms). */
    public long timestamp;
    public double[] probabilities;
    public boolean reviewed;
    public int label;
    /** The image's source, as the per-source statistics name it (null in state written before it existed). */
    public String source;
    /** The shadow model, for a shadow result's labelled figures; null for the active model. */
    public ModelTag shadowOf;

    public LabelledPrediction() {
    }

    public LabelledPrediction(String id, long timestamp, double[] probabilities, boolean reviewed, int label,
                              String source) {
        this.id = id;
        this.timestamp = timestamp;
        this.probabilities = probabilities;
        this.reviewed = reviewed;
        this.label = label;
        this.source = source;
    }
}
