package e3stream.pipeline.internal.control;

import e3stream.pipeline.internal.inference.DecodedImage;
import e3stream.pipeline.internal.inference.ModelChoice;
import e3stream.runtime.session.ModelRoster;
import org.apache.flink.annotation.Internal;
import org.apache.flink.api.common.state.BroadcastState;
import org.apache.flink.api.common.state.MapStateDescriptor;
import org.apache.flink.api.common.typeinfo.BasicTypeInfo;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.streaming.api.functions.co.BroadcastProcessFunction;
import org.apache.flink.util.Collector;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Stamps each image with the models that score it ({@link ModelChoice}) from the latest roster the control function
 * broadcast. The roster is broadcast state, in every subtask's checkpoint, so after a restore the images go on to the
 * models chosen before it. A new roster takes effect in each subtask between two images: every image before it in
 * the subtask's input (one or more Kafka partitions, in offset order) is scored as before, every image after it by
 * the new roster's models; the predictions' {@code control_revision} shows which.
 */
@Internal
public final class ModelSelector extends BroadcastProcessFunction<DecodedImage, ModelRoster, DecodedImage> {

    private static final long serialVersionUID = 1L;
    private static final Logger LOG = LoggerFactory.getLogger(ModelSelector.class);

    /** The broadcast state: one entry, {@link #KEY}. */
    public static final MapStateDescriptor<String, ModelRoster> ROSTER = new MapStateDescriptor<>("model-roster",
            BasicTypeInfo.STRING_TYPE_INFO, TypeInformation.of(ModelRoster.class));
    private static final String KEY = "roster";

    private final ModelRoster configured;
    private transient ModelRoster current;
    private transient ModelChoice choice;

    public ModelSelector(ModelRoster configured) {
        this.configured = configured;
    }

    @Override
    public void processElement(DecodedImage image, ReadOnlyContext context, Collector<DecodedImage> out)
            throws Exception {
        if (current == null) {
            use(ModelRoster.restoredOr(context.getBroadcastState(ROSTER).get(KEY), configured));
        }
        image.choice = choice;
        out.collect(image);
    }

    @Override
    public void processBroadcastElement(ModelRoster roster, Context context, Collector<DecodedImage> out)
            throws Exception {
        BroadcastState<String, ModelRoster> state = context.getBroadcastState(ROSTER);
        ModelRoster now = current != null ? current : ModelRoster.restoredOr(state.get(KEY), configured);
        if (now.isSucceededBy(roster)) {
            state.put(KEY, roster);
            use(roster);
        } else {
            use(now);
        }
    }

    private void use(ModelRoster roster) {
        if (current != roster) {
            LOG.info("subtask {}: images are scored by {}", getRuntimeContext().getTaskInfo().getIndexOfThisSubtask(),
                    roster);
        }
        current = roster;
        choice = ModelChoice.of(roster);
    }
}
