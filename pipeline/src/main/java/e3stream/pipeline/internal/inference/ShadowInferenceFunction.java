package e3stream.pipeline.internal.inference;

import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

import e3stream.pipeline.internal.JvmStatics;
import e3stream.pipeline.internal.events.ModelTag;
import e3stream.pipeline.internal.events.Prediction;
import e3stream.pipeline.internal.events.ShadowPrediction;
import e3stream.pipeline.internal.metrics.PipelineMetrics;
import e3stream.runtime.session.BundleSessions;
import e3stream.runtime.session.Scored;
import e3stream.runtime.session.SessionSpec;
import e3stream.runtime.session.SharedSessions;
import e3stream.runtime.session.TriageOverrides;
import org.apache.flink.annotation.Internal;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.streaming.api.functions.async.ResultFuture;
import org.apache.flink.streaming.api.functions.async.RichAsyncFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Flink async I/O in front of the shadow model's session (leased from {@link SharedSessions} through this operator's
 * own {@link BundleSessions}): scores the images {@link ActiveOutput} passes on, after the active model decided them,
 * and pairs each result with the active prediction. The shadow is the configured {@code model.shadow-bundle}, or,
 * with {@code model.control}, the one the image's {@link ModelChoice} names. The shadow decides with its own bundle's
 * triage policy (the job's {@code triage.*} overrides are the active bundle's), and decides nothing: its result goes
 * to the shadow topic and the drift window only.
 *
 * <p>A commanded shadow bundle this subtask cannot open is not scored here (logged once per roster); its images
 * leave with their active decision only. As {@link InferenceFunction}: images in flight are in Flink's checkpoints, and a shadow inference failure (or
 * timeout) fails the task, which restarts from the last checkpoint.
 */
@Internal
public final class ShadowInferenceFunction extends RichAsyncFunction<Inferred, ShadowPrediction> {

    private static final long serialVersionUID = 1L;
    private static final Logger LOG = LoggerFactory.getLogger(ShadowInferenceFunction.class);

    private final SessionSpec spec;
    private final boolean configuredShadow;
    private transient BundleSessions sessions;
    private transient long revision;
    /** Bundles of the current roster that did not open here. */
    private transient Set<String> unopenable;

    /**
     * @param spec             the configured shadow bundle's spec, or (with {@code model.control} and no configured
     *                         shadow) the active bundle's, whose device and batching settings a commanded shadow gets
     * @param configuredShadow whether {@code spec} is a configured shadow model (images without a choice go to it)
     */
    public ShadowInferenceFunction(SessionSpec spec, boolean configuredShadow) {
        this.spec = spec;
        this.configuredShadow = configuredShadow;
    }

    @Override
    public void open(OpenContext context) {
        JvmStatics.releaseWithJob(getRuntimeContext());
        sessions = new BundleSessions(SharedSessions.jvm(), spec, TriageOverrides.NONE);
        if (configuredShadow) {
            sessions.openConfigured();
        }
        revision = 0;
        unopenable = new HashSet<>();
    }

    @Override
    public void asyncInvoke(Inferred in, ResultFuture<ShadowPrediction> result) {
        DecodedImage image = in.shadowInput;
        ModelChoice choice = image.choice;
        if (choice != null && choice.revision > revision) {
            revision = choice.revision;
            Set<String> keep = new HashSet<>();
            if (choice.shadowKey() != null) {
                keep.add(choice.shadowKey());
            }
            sessions.retainOnly(keep);
            unopenable.clear();
        }
        String directory = choice == null ? spec.bundle().directory().toString() : choice.shadowDirectory;
        String sha256 = choice == null ? spec.bundle().manifest().sha256() : choice.shadowSha256;
        CompletableFuture<Scored> scoring;
        try {
            scoring = choice == null || !unopenable.contains(choice.shadowKey())
                    ? sessions.score(directory, sha256, choice == null ? null : choice.shadowBundleSha256, image.tensor)
                    : null;
        } catch (RuntimeException e) {
            if (choice == null) {
                throw e; // the configured shadow broke: a failure, not a command to refuse
            }
            LOG.warn("subtask {}: shadow bundle {} (sha256 {}) of control revision {} does not open here; its images "
                    + "are not shadow-scored here", getRuntimeContext().getTaskInfo().getIndexOfThisSubtask(),
                    directory, sha256, revision, e);
            unopenable.add(choice.shadowKey());
            scoring = null;
        }
        if (scoring == null) {
            result.complete(List.of());
            return;
        }
        scoring.whenComplete((scored, error) -> {
            if (error != null) {
                result.completeExceptionally(error);
                return;
            }
            try {
                Prediction shadow = Prediction.of(image.id, image.timestamp, scored);
                shadow.source = image.source;
                shadow.controlRevision = in.prediction.controlRevision;
                shadow.latencyMs = Math.max(0, System.currentTimeMillis() - image.receivedAtMs);
                String label = PipelineMetrics.shadowLabel(in.prediction.modelName, shadow.modelName,
                        shadow.modelVersion);
                shadow.shadowOf = new ModelTag(shadow.modelName, shadow.modelVersion, label);
                PipelineMetrics.get().shadowEvents.labels(label).inc();
                result.complete(List.of(new ShadowPrediction(shadow, in.prediction)));
            } catch (RuntimeException e) {
                result.completeExceptionally(e);
            }
        });
    }

    @Override
    public void close() {
        if (sessions != null) {
            sessions.close();
            sessions = null;
        }
    }
}
