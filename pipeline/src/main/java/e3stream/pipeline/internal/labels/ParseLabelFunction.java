package e3stream.pipeline.internal.labels;

import e3stream.pipeline.internal.events.DeadLetters;
import e3stream.pipeline.internal.events.EventException;
import e3stream.pipeline.internal.events.LabelEvent;
import e3stream.pipeline.internal.events.LabelEventParser;
import e3stream.pipeline.internal.events.OutputRecord;
import e3stream.pipeline.internal.events.RawRecord;
import e3stream.pipeline.internal.metrics.PipelineMetrics;
import e3stream.runtime.model.BundleDescription;
import org.apache.flink.annotation.Internal;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Parses label records against the bundle's class names. An invalid label is counted
 * ({@code e3_labels_invalid_total}), logged with its coordinates (the first 100, text bounded) and dead-lettered on
 * {@link #DEAD_LETTERS} with its reason, like a bad image: its dead letter's {@code source.topic} is the labels topic.
 */
@Internal
public final class ParseLabelFunction extends ProcessFunction<RawRecord, LabelEvent> {

    private static final long serialVersionUID = 1L;
    private static final Logger LOG = LoggerFactory.getLogger(ParseLabelFunction.class);

    /** Dead letters of invalid labels, for the dead-letter topic. */
    public static final OutputTag<OutputRecord> DEAD_LETTERS = new OutputTag<>("label-dead-letters") { };

    private final BundleDescription bundle;
    private final String dlqTopic;
    private final int maxRequestSize;
    private transient LabelEventParser parser;
    private transient long logged;

    /** @param maxRequestSize the producer's {@code max.request.size}: every dead letter is built to fit it */
    public ParseLabelFunction(BundleDescription bundle, String dlqTopic, int maxRequestSize) {
        this.bundle = bundle;
        this.dlqTopic = dlqTopic;
        this.maxRequestSize = DeadLetters.checkMaxRequestSize(maxRequestSize);
    }

    @Override
    public void open(OpenContext context) {
        parser = new LabelEventParser(bundle.manifest().classes());
    }

    @Override
    public void processElement(RawRecord raw, Context ctx, Collector<LabelEvent> out) {
        try {
            out.collect(parser.parse(raw));
        } catch (EventException e) {
            PipelineMetrics.get().labelsInvalid.inc();
            if (logged++ < 100) {
                LOG.warn("invalid label at {}/{}/{} ({}): {}", raw.topic, raw.partition, raw.offset, e.code(),
                        logText(e.getMessage()));
            }
            ctx.output(DEAD_LETTERS, DeadLetters.of(dlqTopic, raw, e.id(), e.code(), e.getMessage(), maxRequestSize));
        }
    }

    /** Most characters of an invalid label's message (which may quote the producer's text) written to the log. */
    static final int MAX_LOGGED_CHARS = 200;

    /**
     * {@code message} as logged: at most {@value #MAX_LOGGED_CHARS} characters (then "..." and the full length),
     * control characters (line breaks included, which could forge log lines) replaced by '?'.
     */
    static String logText(String message) {
        if (message == null) {
            return "";
        }
        String shown = message.length() <= MAX_LOGGED_CHARS ? message
                : message.substring(0, Character.isHighSurrogate(message.charAt(MAX_LOGGED_CHARS - 1))
                        ? MAX_LOGGED_CHARS - 1 : MAX_LOGGED_CHARS)
                        + "... (" + message.length() + " characters)";
        return shown.replaceAll("\\p{Cntrl}", "?");
    }
}
