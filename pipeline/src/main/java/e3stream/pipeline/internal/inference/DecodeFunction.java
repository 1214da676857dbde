package e3stream.pipeline.internal.inference;

import e3stream.pipeline.internal.events.DeadLetters;
import e3stream.pipeline.internal.events.ImageEvent;
import e3stream.pipeline.internal.events.OutputRecord;
import e3stream.pipeline.internal.events.ParsedImage;
import e3stream.pipeline.internal.events.RawRecord;
import e3stream.pipeline.internal.metrics.PipelineMetrics;
import e3stream.runtime.decode.DecodeException;
import e3stream.runtime.decode.DecodeLimits;
import e3stream.runtime.decode.ImageDecoder;
import e3stream.runtime.model.BundleDescription;
import e3stream.runtime.stats.TopSources;
import org.apache.flink.annotation.Internal;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;

/**
 * Decodes the images the source parsed, in parallel: a valid image becomes a {@link DecodedImage}; an event the
 * source refused, or an image that does not decode, becomes a dead letter on {@link #DEAD_LETTERS} with its error
 * code ({@link e3stream.pipeline.internal.events.EventException} codes for the envelope, {@link DecodeException.Code} names
 * for the image), original bytes and coordinates. Never throws on bad data.
 */
@Internal
public final class DecodeFunction extends ProcessFunction<ParsedImage, DecodedImage> {

    private static final long serialVersionUID = 1L;

    /** Dead letters, already addressed to the dead-letter topic. */
    public static final OutputTag<OutputRecord> DEAD_LETTERS = new OutputTag<>("dead-letters") { };

    private final BundleDescription bundle;
    private final String dlqTopic;
    private final DecodeLimits limits;
    private final int maxRequestSize;
    private transient ImageDecoder decoder;

    /** @param maxRequestSize the producer's {@code max.request.size}: every dead letter is built to fit it */
    public DecodeFunction(BundleDescription bundle, String dlqTopic, DecodeLimits limits, int maxRequestSize) {
        this.bundle = bundle;
        this.dlqTopic = dlqTopic;
        this.limits = limits;
        this.maxRequestSize = maxRequestSize;
    }

    @Override
    public void open(OpenContext context) {
        decoder = ImageDecoder.forInput(bundle.manifest().input(), limits);
    }

    @Override
    public void processElement(ParsedImage parsed, Context ctx, Collector<DecodedImage> out) {
        ImageEvent event = parsed.event;
        if (event == null) {
            deadLetter(ctx, parsed.raw, parsed.errorId, parsed.errorCode, parsed.errorMessage);
            return;
        }
        float[] tensor;
        try {
            tensor = decoder.decode(event.contentType, event.image, event.width, event.height, event.channels);
        } catch (DecodeException e) {
            deadLetter(ctx, parsed.raw, event.id, e.code().name(), e.getMessage());
            return;
        } catch (RuntimeException e) {
            // A decoder bug must not stop the stream either; the record keeps its bytes in the DLQ.
            deadLetter(ctx, parsed.raw, event.id, "DECODE_ERROR", e.toString());
            return;
        }
        out.collect(new DecodedImage(event.id, event.timestamp, event.receivedAtMs, tensor,
                TopSources.name(event.source)));
    }

    private void deadLetter(Context ctx, RawRecord raw, String id, String code, String message) {
        PipelineMetrics.get().events.labels(PipelineMetrics.DEAD_LETTER).inc();
        ctx.output(DEAD_LETTERS, DeadLetters.of(dlqTopic, raw, id, code, message, maxRequestSize));
    }
}
