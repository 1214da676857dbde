package e3stream.pipeline.internal.labels;

import java.time.Duration;

import org.apache.flink.annotation.Internal;
import org.apache.flink.streaming.api.operators.AbstractStreamOperator;
import org.apache.flink.streaming.api.operators.OneInputStreamOperator;
import org.apache.flink.streaming.api.watermark.Watermark;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;

/**
 * Puts joined items on their image's event time for the calibration windows: each record gets the image's
 * timestamp (the join emits it at the time of whichever half came second), and the watermark, which is the images'
 * watermark (labels never hold it back, see {@link e3stream.pipeline.internal.IdleWatermarks}), is delayed by {@code labels.max-delay}: a window
 * of image time closes once the images are that far past its end, and a label arriving later is late.
 *
 * <p>The watermark comes from the image sources, per partition, so it stays right when partitions progress at
 * uneven speeds (a backlog replay); a watermark made from the joined items themselves ran ahead with the fastest
 * partition and made the slower partitions' labels late.
 */
@Internal
public final class ImageTimeOperator extends AbstractStreamOperator<LabelledPrediction>
        implements OneInputStreamOperator<LabelledPrediction, LabelledPrediction> {

    private static final long serialVersionUID = 1L;

    private final long maxDelayMs;

    public ImageTimeOperator(Duration maxDelay) {
        this.maxDelayMs = maxDelay.toMillis();
    }

    @Override
    public void processElement(StreamRecord<LabelledPrediction> element) {
        output.collect(element.replace(element.getValue(), element.getValue().timestamp));
    }

    @Override
    public void processWatermark(Watermark mark) throws Exception {
        long t = mark.getTimestamp();
        // the end-of-input watermark (Long.MAX_VALUE) passes unchanged, so a bounded run closes its last windows
        boolean special = t == Long.MIN_VALUE || t == Long.MAX_VALUE;
        super.processWatermark(special ? mark : new Watermark(Math.max(Long.MIN_VALUE + maxDelayMs, t) - maxDelayMs));
    }
}
