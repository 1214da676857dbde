package e3stream.pipeline.internal.labels;

import e3stream.pipeline.internal.events.LabelEvent;
import org.apache.flink.annotation.Internal;
import org.apache.flink.api.common.eventtime.WatermarkGenerator;
import org.apache.flink.api.common.eventtime.WatermarkOutput;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;

/**
 * Labels never hold back event time: their stream is always idle as far as watermarks go, so the label join passes on
 * the images' watermark alone ({@link ImageTimeOperator} then allows {@code labels.max-delay} for labels). Their
 * records still flow; a label counts in the window of its image's time.
 */
@Internal
public final class LabelWatermarks implements WatermarkGenerator<LabelEvent> {

    private LabelWatermarks() {
    }

    /** The strategy for the parsed label stream. */
    public static WatermarkStrategy<LabelEvent> strategy() {
        // No timestamp assigner: a label's record timestamp is never used, joined items get their image's.
        return WatermarkStrategy.forGenerator(context -> new LabelWatermarks());
    }

    @Override
    public void onEvent(LabelEvent event, long eventTimestamp, WatermarkOutput output) {
        // no progress from labels
    }

    @Override
    public void onPeriodicEmit(WatermarkOutput output) {
        output.markIdle();
    }
}
