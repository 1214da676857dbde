package e3stream.pipeline.internal.inference;

import java.util.List;
import java.util.Set;

import e3stream.pipeline.internal.JvmStatics;
import e3stream.pipeline.internal.events.Prediction;
import e3stream.pipeline.internal.metrics.PipelineMetrics;
import e3stream.runtime.session.BundleSessions;
import e3stream.runtime.session.Scored;
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
 * Flink async I/O in front of the JVM's shared model sessions ({@link SharedSessions}, through this operator's
 * {@link BundleSessions}): each image is scored by the active model's session
 * ({@link e3stream.runtime.session.ModelSession#score}); this operator only maps the scored result to a
 * {@link Prediction}. The active model is the configured bundle, or, with {@code model.control}, the one the image's
 * {@link ModelChoice} names. Images in flight are part of Flink's checkpoints (async operator state), so nothing is
 * lost on failover.
 *
 * <p>An event the shadow model scores (its share of the configured shadow, or of the shadow its choice names) leaves
 * with its image as well ({@link Inferred#shadowInput}), for {@link ShadowInferenceFunction} after
 * {@link ActiveOutput}; the active decision does not wait for the shadow.
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
    private transient BundleSessions sessions;
    private transient String configuredDirectory;
    private transient String configuredSha256;
    private transient long revision;

    /** Scoring with the active model only. */
    public InferenceFunction(SessionSpec spec, TriageOverrides overrides) {
        this(spec, overrides, null);
    }

    /**
     * @param shadowShare the events a configured shadow model scores (their images are passed on), or null without
     *                    one; images that carry a {@link ModelChoice} follow its shadow instead
     */
    public InferenceFunction(SessionSpec spec, TriageOverrides overrides, ShadowShare shadowShare) {
        this.spec = spec;
        this.overrides = overrides;
        this.shadowShare = shadowShare;
    }

    @Override
    public void open(OpenContext context) {
        // The sessions are JVM-wide; they close when the job's class loader is released (cancel in a session cluster).
        JvmStatics.releaseWithJob(getRuntimeContext());
        sessions = new BundleSessions(SharedSessions.jvm(), spec, overrides);
        SessionLease configured = sessions.openConfigured(); // the model loads before the first image arrives
        configuredDirectory = spec.bundle().directory().toString();
        configuredSha256 = spec.bundle().manifest().sha256();
        revision = 0;
        PipelineMetrics.get().exportReviewRatioReference(configured.manifest(), !overrides.isEmpty());
    }

    @Override
    public void asyncInvoke(DecodedImage image, ResultFuture<Inferred> result) {
        ModelChoice choice = image.choice;
        if (choice != null && choice.revision > revision) {
            // A new roster: let go of the bundles it no longer names (their sessions close when nobody leases them).
            revision = choice.revision;
            sessions.retainOnly(Set.of(choice.activeKey()));
        }
        String directory = choice == null ? configuredDirectory : choice.activeDirectory;
        String sha256 = choice == null ? configuredSha256 : choice.activeSha256;
        sessions.score(directory, sha256, image.tensor).whenComplete((scored, error) -> {
            if (error != null) {
                result.completeExceptionally(error);
                return;
            }
            try {
                boolean forShadow = choice != null ? choice.shadowScores(image.id)
                        : shadowShare != null && shadowShare.includes(image.id);
                result.complete(List.of(new Inferred(toPrediction(image, scored), forShadow ? image : null)));
            } catch (RuntimeException e) {
                result.completeExceptionally(e);
            }
        });
    }

    private static Prediction toPrediction(DecodedImage image, Scored scored) {
        Prediction p = Prediction.of(image.id, image.timestamp, scored);
        p.source = image.source;
        p.controlRevision = image.choice == null ? null : image.choice.revision;
        p.latencyMs = Math.max(0, System.currentTimeMillis() - image.receivedAtMs);
        PipelineMetrics metrics = PipelineMetrics.get();
        metrics.events.labels(p.accepted ? PipelineMetrics.ACCEPT : PipelineMetrics.REVIEW).inc();
        metrics.latency.observe(p.latencyMs / 1000.0);
        return p;
    }

    @Override
    public void close() {
        if (sessions != null) {
            sessions.close();
            sessions = null;
        }
    }
}
