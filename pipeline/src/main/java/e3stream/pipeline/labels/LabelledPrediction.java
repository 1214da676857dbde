package e3stream.pipeline.labels;

import e3stream.pipeline.events.Prediction;

/** A prediction joined with its true label: one item of the calibration statistics. A Flink POJO. */
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

    /** What the label join keeps of a prediction while its label is outstanding ({@link #label} = -1). */
    public static LabelledPrediction awaitingLabel(Prediction p) {
        return new LabelledPrediction(p.id, p.timestamp, p.probabilities, !p.accepted, -1);
    }

    /** This item with its true label. */
    public LabelledPrediction withLabel(int trueLabel) {
        return new LabelledPrediction(id, timestamp, probabilities, reviewed, trueLabel);
    }
}
