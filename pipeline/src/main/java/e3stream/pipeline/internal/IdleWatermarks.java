package e3stream.pipeline.internal;

import org.apache.flink.annotation.Internal;
import org.apache.flink.api.common.eventtime.WatermarkGenerator;
import org.apache.flink.api.common.eventtime.WatermarkOutput;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;

/**
 * For streams that never hold back event time: always idle as far as watermarks go, so an operator that joins them
 * with the images passes on the images' watermark alone. Their records still flow. Used for the labels (the label
 * join; {@link e3stream.pipeline.internal.labels.ImageTimeOperator} then allows {@code labels.max-delay} for them; a
 * label counts in the window of its image's time) and for the model commands (the model selector).
 */
@Internal
public final class IdleWatermarks<T> implements WatermarkGenerator<T> {

    private IdleWatermarks() {
    }

    /** The strategy: no timestamps assigned (the records' own are never used), never a watermark. */
    public static <T> WatermarkStrategy<T> strategy() {
        return WatermarkStrategy.forGenerator(context -> new IdleWatermarks<>());
    }

    @Override
    public void onEvent(T event, long eventTimestamp, WatermarkOutput output) {
        // no progress from these records
    }

    @Override
    public void onPeriodicEmit(WatermarkOutput output) {
        output.markIdle();
    }
}
