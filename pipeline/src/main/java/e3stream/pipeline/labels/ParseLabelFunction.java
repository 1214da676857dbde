package e3stream.pipeline.labels;

import e3stream.pipeline.events.EventException;
import e3stream.pipeline.events.LabelEvent;
import e3stream.pipeline.events.LabelEventParser;
import e3stream.pipeline.events.RawRecord;
import e3stream.pipeline.metrics.PipelineMetrics;
import e3stream.runtime.model.BundleDescription;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.util.Collector;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Parses label records against the bundle's class names. An invalid label is counted
 * ({@code e3_labels_invalid_total}) and logged with its coordinates; labels are feedback, not work items, so they
 * have no dead-letter topic.
 */
public final class ParseLabelFunction extends ProcessFunction<RawRecord, LabelEvent> {

    private static final long serialVersionUID = 1L;
    private static final Logger LOG = LoggerFactory.getLogger(ParseLabelFunction.class);

    private final BundleDescription bundle;
    private transient LabelEventParser parser;
    private transient long logged;

    public ParseLabelFunction(BundleDescription bundle) {
        this.bundle = bundle;
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
                LOG.warn("invalid label at {}/{}/{} ({}): {}", raw.topic, raw.partition, raw.offset, e.code(), e.getMessage());
            }
        }
    }
}
