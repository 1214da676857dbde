package e3stream.pipeline.testutils;

import e3stream.pipeline.internal.inference.DecodedImage;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.functions.RichMapFunction;

/**
 * Counts task starts of the inference chain it is chained into: more than its parallelism means a task restarted.
 * One counter per JVM (each test class runs in a JVM of its own).
 */
public final class CountStarts extends RichMapFunction<DecodedImage, DecodedImage> {

    private static final long serialVersionUID = 1L;
    public static final AtomicInteger STARTS = new AtomicInteger();

    @Override
    public void open(OpenContext context) {
        STARTS.incrementAndGet();
    }

    @Override
    public DecodedImage map(DecodedImage image) {
        return image;
    }
}
