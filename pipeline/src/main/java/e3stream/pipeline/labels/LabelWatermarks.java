package e3stream.pipeline.labels;

import org.apache.flink.api.common.eventtime.Watermark;
import org.apache.flink.api.common.eventtime.WatermarkGenerator;
import org.apache.flink.api.common.eventtime.WatermarkOutput;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.operators.AbstractStreamOperator;
import org.apache.flink.streaming.api.operators.OneInputStreamOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;

/**
 * Event time of the label join. Windows of labelled predictions use the image's event time, and the watermark of
 * the images (aligned across partitions by Flink) minus {@code labels.max-delay}: the label input must not hold the
 * join's watermark back ({@link #neverHoldBack()}), and the joined stream carries each item's image time and a
 * watermark {@code delay} behind the images' ({@link #delayed}).
 */
public final class LabelWatermarks {

    private LabelWatermarks() {
    }

    /** A strategy for the label source whose watermark never holds back a two-input operator. */
    public static <T> WatermarkStrategy<T> neverHoldBack() {
        return WatermarkStrategy.forGenerator(ctx -> new WatermarkGenerator<T>() {
            @Override
            public void onEvent(T event, long eventTimestamp, WatermarkOutput output) {
            }

            @Override
            public void onPeriodicEmit(WatermarkOutput output) {
                output.emitWatermark(new Watermark(Long.MAX_VALUE));
            }
        });
    }

    /** Joined items stamped with their image time; watermarks passed on {@code delayMs} later. */
    public static DataStream<LabelledPrediction> delayed(DataStream<LabelledPrediction> joined, long delayMs) {
        return joined.transform("labelled-event-time", TypeInformation.of(LabelledPrediction.class),
                new DelayOperator(delayMs));
    }

    static final class DelayOperator extends AbstractStreamOperator<LabelledPrediction>
            implements OneInputStreamOperator<LabelledPrediction, LabelledPrediction> {
        private static final long serialVersionUID = 1L;
        private final long delayMs;

        DelayOperator(long delayMs) {
            this.delayMs = delayMs;
        }

        @Override
        public void processElement(StreamRecord<LabelledPrediction> element) {
            output.collect(element.replace(element.getValue(), element.getValue().timestamp));
        }

        @Override
        public void processWatermark(org.apache.flink.streaming.api.watermark.Watermark mark) throws Exception {
            long t = mark.getTimestamp();
            super.processWatermark(new org.apache.flink.streaming.api.watermark.Watermark(
                    t == Long.MAX_VALUE ? t : t - delayMs));
        }
    }
}
