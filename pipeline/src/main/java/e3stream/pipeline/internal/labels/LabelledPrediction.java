package e3stream.pipeline.internal.labels;

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

    public LabelledPrediction() {
    }

    public LabelledPrediction(String id, long timestamp, double[] probabilities, boolean reviewed, int label) {
        this.id = id;
        this.timestamp = timestamp;
        this.probabilities = probabilities;
        this.reviewed = reviewed;
        this.label = label;
    }
}
