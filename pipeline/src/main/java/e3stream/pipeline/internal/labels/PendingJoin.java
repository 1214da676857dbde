package e3stream.pipeline.internal.labels;

import e3stream.pipeline.internal.events.ModelTag;
import org.apache.flink.annotation.Internal;

/**
 * The label join's state for one id: the half that arrived first and when it expires. The id itself is the state's
 * key and is not repeated here: the whole state is written at every checkpoint, and without labels every event has
 * an entry. Written by {@link PendingJoinSerializer}.
 */
@Internal
public class PendingJoin {
    /** Processing time (ms) at which this entry expires; its timer fires then. */
    public long expiresAt;
    /** Event time of the image (ms); valid when {@link #probabilities} is set. */
    public long timestamp;
    /** The prediction's probabilities, or null while only the label has arrived. */
    public double[] probabilities;
    public boolean reviewed;
    /** The prediction's source (as the statistics name it); valid when {@link #probabilities} is set. */
    public String source;
    /** The shadow model of a shadow result (the shadow label join); null for the active model. */
    public ModelTag shadowOf;
    /** The true label, or -1 while only the prediction has arrived. */
    public int label = -1;

    public PendingJoin() {
    }

    boolean hasPrediction() {
        return probabilities != null;
    }

    boolean hasLabel() {
        return label >= 0;
    }
}
