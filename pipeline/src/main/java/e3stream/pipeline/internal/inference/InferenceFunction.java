package e3stream.pipeline.internal.inference;

import java.util.List;

import e3stream.pipeline.internal.JvmStatics;
import e3stream.pipeline.internal.events.Prediction;
import e3stream.pipeline.internal.metrics.PipelineMetrics;
import e3stream.runtime.session.Scored;
import e3stream.runtime.session.Scorer;
import e3stream.runtime.session.SessionLease;
import e3stream.runtime.session.SessionSpec;
import e3stream.runtime.session.ShadowShare;
import e3stream.runtime.session.SharedSessions;
import e3stream.runtime.session.TriageOverrides;
import org.apache.flink.annotation.Internal;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.streaming.api.functions.async.ResultFuture;
import org.apache.flink.streaming.api.functions.async.RichAsyncFunction;

/**
 * Flink async I/O in front of the JVM's shared model session ({@link SharedSessions}): each image is scored by the
 * session ({@link e3stream.runtime.session.ModelSession#score}); this operator only maps the scored result to a
 * {@link Prediction}. Images in flight are part of Flink's checkpoints (async operator state), so nothing is lost on
 * failover.
 *
 * <p>With a shadow model ({@code shadowShare} not null), an event in the shadow's share leaves with its image as
 * well ({@link Inferred#shadowInput}), for {@link ShadowInferenceFunction} after {@link ActiveOutput}; the active
 * decision does not wait for the shadow.
 *
 * <p>An inference failure (batch function error, full queue, timeout) fails the task, which restarts from the last
 * checkpoint: it is never bad data, which is dead-lettered before this operator.
 */
@Internal
public final class InferenceFunction extends RichAsyncFunction<DecodedImage, Inferred> {

    private static final long serialVersionUID = 1L;

    private final SessionSpec spec;
    private final TriageOverrides overrides;
    private final ShadowShare shadowShare;
    private transient SessionLease lease;
    private transient Scorer scorer;

    /** Scoring with the active model only. */
    public InferenceFunction(SessionSpec spec, TriageOverrides overrides) {
        this(spec, overrides, null);
    }

    /**
     * @param shadowShare the events a shadow model scores (their images are passed on), or null without a shadow
     */
    public InferenceFunction(SessionSpec spec, TriageOverrides overrides, ShadowShare shadowShare) {
        this.spec = spec;
        this.overrides = overrides;
        this.shadowShare = shadowShare;
    }

    @Override
    public void open(OpenContext context) {
        // The session is JVM-wide; it is closed when the job's class loader is released (cancel in a session cluster).
        JvmStatics.releaseWithJob(getRuntimeContext());
        lease = SharedSessions.jvm().acquire(spec);
        scorer = lease.session().scorer(overrides);
        PipelineMetrics.get().exportReviewRatioReference(lease.manifest(), !overrides.isEmpty());
    }

    @Override
    public void asyncInvoke(DecodedImage image, ResultFuture<Inferred> result) {
        lease.score(image.tensor, scorer).whenComplete((scored, error) -> {
            if (error != null) {
                result.completeExceptionally(error);
                return;
            }
            try {
                DecodedImage forShadow = shadowShare != null && shadowShare.includes(image.id) ? image : null;
                result.complete(List.of(new Inferred(toPrediction(image, scored), forShadow)));
            } catch (RuntimeException e) {
                result.completeExceptionally(e);
            }
        });
    }

    private static Prediction toPrediction(DecodedImage image, Scored scored) {
        Prediction p = Prediction.of(image.id, image.timestamp, scored);
        p.source = image.source;
        p.latencyMs = Math.max(0, System.currentTimeMillis() - image.receivedAtMs);
        PipelineMetrics metrics = PipelineMetrics.get();
        metrics.events.labels(p.accepted ? PipelineMetrics.ACCEPT : PipelineMetrics.REVIEW).inc();
        metrics.latency.observe(p.latencyMs / 1000.0);
        return p;
    }

    @Override
    public void close() {
        if (lease != null) {
            lease.close();
            lease = null;
        }
    }
}
