package e3stream.pipeline.internal.inference;

import java.util.List;

import e3stream.pipeline.internal.JvmStatics;
import e3stream.pipeline.internal.events.Prediction;
import e3stream.pipeline.internal.events.ShadowPrediction;
import e3stream.pipeline.internal.metrics.PipelineMetrics;
import e3stream.runtime.session.Scorer;
import e3stream.runtime.session.SessionLease;
import e3stream.runtime.session.SessionSpec;
import e3stream.runtime.session.SharedSessions;
import e3stream.runtime.session.TriageOverrides;
import org.apache.flink.annotation.Internal;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.streaming.api.functions.async.ResultFuture;
import org.apache.flink.streaming.api.functions.async.RichAsyncFunction;

/**
 * Flink async I/O in front of the shadow model's session (a second lease from {@link SharedSessions}, for the shadow
 * bundle's spec): scores the images {@link ActiveOutput} passes on, after the active model decided them, and pairs
 * each result with the active prediction. The shadow decides with its own bundle's triage policy (the job's
 * {@code triage.*} overrides are the active bundle's), and decides nothing: its result goes to the shadow topic and
 * the drift window only.
 *
 * <p>As {@link InferenceFunction}: images in flight are in Flink's checkpoints, and a shadow inference failure (or
 * timeout) fails the task, which restarts from the last checkpoint.
 */
@Internal
public final class ShadowInferenceFunction extends RichAsyncFunction<Inferred, ShadowPrediction> {

    private static final long serialVersionUID = 1L;

    private final SessionSpec spec;
    private final String modelLabel;
    private transient SessionLease lease;
    private transient Scorer scorer;

    /** @param modelLabel the shadow's value of the metrics' {@code model} label */
    public ShadowInferenceFunction(SessionSpec spec, String modelLabel) {
        this.spec = spec;
        this.modelLabel = modelLabel;
    }

    @Override
    public void open(OpenContext context) {
        JvmStatics.releaseWithJob(getRuntimeContext());
        lease = SharedSessions.jvm().acquire(spec);
        scorer = lease.session().scorer(TriageOverrides.NONE);
    }

    @Override
    public void asyncInvoke(Inferred in, ResultFuture<ShadowPrediction> result) {
        DecodedImage image = in.shadowInput;
        lease.score(image.tensor, scorer).whenComplete((scored, error) -> {
            if (error != null) {
                result.completeExceptionally(error);
                return;
            }
            try {
                Prediction shadow = Prediction.of(image.id, image.timestamp, scored);
                shadow.source = image.source;
                shadow.latencyMs = Math.max(0, System.currentTimeMillis() - image.receivedAtMs);
                PipelineMetrics.get().shadowEvents.labels(modelLabel).inc();
                result.complete(List.of(new ShadowPrediction(shadow, in.prediction)));
            } catch (RuntimeException e) {
                result.completeExceptionally(e);
            }
        });
    }

    @Override
    public void close() {
        if (lease != null) {
            lease.close();
            lease = null;
        }
    }
}
