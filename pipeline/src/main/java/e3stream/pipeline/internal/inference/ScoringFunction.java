package e3stream.pipeline.internal.inference;

import e3stream.pipeline.internal.JvmStatics;
import e3stream.runtime.session.BundleSessions;
import e3stream.runtime.session.Scored;
import e3stream.runtime.session.SessionLease;
import e3stream.runtime.session.SessionSpec;
import e3stream.runtime.session.SharedSessions;
import e3stream.runtime.session.ShadowShare;
import e3stream.pipeline.internal.events.ShadowPrediction;
import e3stream.runtime.session.TriageOverrides;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;
import org.apache.flink.annotation.Internal;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.streaming.api.functions.async.ResultFuture;
import org.apache.flink.streaming.api.functions.async.RichAsyncFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Flink async I/O in front of the JVM's shared model sessions ({@link SharedSessions}, through this operator's own
 * {@link BundleSessions}): the one scoring operator, for the active model ({@link #active}) and the shadow model
 * ({@link #shadow}); its {@link Role} picks the model per image and makes the output. It leases the sessions, follows the model roster's revisions of the
 * images' {@link ModelChoice}, remembers which bundles of the current roster did not open in this subtask (so no
 * image waits on them again), and completes Flink's result from the session's future. Images in flight are part of
 * Flink's checkpoints (async operator state); an inference failure (batch function error, full queue, timeout) fails
 * the task, which restarts from the last checkpoint: it is never bad data, which is dead-lettered before.
 *
 * @param <IN>  what the operator receives
 * @param <OUT> what it emits per scored image
 */
@Internal
public final class ScoringFunction<IN, OUT> extends RichAsyncFunction<IN, OUT> {

    private static final long serialVersionUID = 1L;
    private static final Logger LOG = LoggerFactory.getLogger(ScoringFunction.class);

    /** The configured bundle's session settings (device and batching settings of any bundle this operator opens). */
    final SessionSpec spec;
    final TriageOverrides overrides;
    private final boolean openConfigured;
    private final Role<IN, OUT> role;
    transient BundleSessions sessions;
    /** The newest roster revision seen here. */
    transient long revision;
    /** Bundles of the current roster that did not open here. */
    private transient Set<String> unopenable;

    /**
     * @param openConfigured whether the configured bundle is opened when the operator opens (so the model loads
     *                       before the first image arrives)
     */
    private ScoringFunction(SessionSpec spec, TriageOverrides overrides, boolean openConfigured, Role<IN, OUT> role) {
        this.spec = spec;
        this.overrides = overrides;
        this.openConfigured = openConfigured;
        this.role = role;
    }

    /** What one model's scoring does with an input: which bundle scores it, and what it becomes. */
    interface Role<IN, OUT> extends java.io.Serializable {
        /** Called once the configured bundle's session is open (roles keep their per-subtask state here). */
        default void opened(ScoringFunction<IN, OUT> function, SessionLease configured) {
        }

        void score(ScoringFunction<IN, OUT> function, IN input, ResultFuture<OUT> result);
    }

    /**
     * Scoring with the active model ({@link ActiveScoring}): every image, by the configured bundle or the one its
     * {@link ModelChoice} names.
     *
     * @param shadowShare the events a configured shadow model scores (their images are passed on), or null without
     *                    one; images that carry a {@link ModelChoice} follow its shadow instead
     */
    public static ScoringFunction<DecodedImage, Inferred> active(SessionSpec spec, TriageOverrides overrides,
                                                                 ShadowShare shadowShare) {
        return new ScoringFunction<>(spec, overrides, true, new ActiveScoring(shadowShare));
    }

    /**
     * Scoring with the shadow model ({@link ShadowScoring}): the images the active scoring passed on.
     *
     * @param spec             the configured shadow bundle's spec, or (with {@code model.control} and no configured
     *                         shadow) the active bundle's, whose device and batching settings a commanded shadow gets
     * @param configuredShadow whether {@code spec} is a configured shadow model (images without a choice go to it)
     */
    public static ScoringFunction<Inferred, ShadowPrediction> shadow(SessionSpec spec, boolean configuredShadow) {
        return new ScoringFunction<>(spec, TriageOverrides.NONE, configuredShadow, new ShadowScoring());
    }

    @Override
    public void asyncInvoke(IN input, ResultFuture<OUT> result) {
        role.score(this, input, result);
    }

    @Override
    public void open(OpenContext context) {
        // The sessions are JVM-wide; they close when the job's class loader is released (cancel in a session cluster).
        JvmStatics.releaseWithJob(getRuntimeContext());
        sessions = new BundleSessions(SharedSessions.jvm(), spec, overrides);
        revision = 0;
        unopenable = new HashSet<>();
        if (openConfigured) {
            opened(sessions.openConfigured());
        }
    }

    private void opened(SessionLease configured) {
        role.opened(this, configured);
    }

    /** Whether {@code choice} is of a roster newer than the last one seen here; if so, it is the current one now. */
    boolean newerRoster(ModelChoice choice) {
        if (choice == null || choice.revision <= revision) {
            return false;
        }
        revision = choice.revision;
        unopenable.clear();
        return true;
    }

    /** Whether the bundle of {@code key} did not open here under the current roster. */
    boolean unopenable(String key) {
        return key != null && unopenable.contains(key);
    }

    /**
     * Remembers that the bundle of {@code key} does not open here, and says so in the log.
     *
     * @param what    which model it is ("active", "shadow")
     * @param instead what this subtask does instead
     */
    void markUnopenable(String key, String what, String instead, String directory, String sha256,
                        RuntimeException why) {
        LOG.warn("subtask {}: {} bundle {} (sha256 {}) of control revision {} does not open here; {}",
                getRuntimeContext().getTaskInfo().getIndexOfThisSubtask(), what, directory, sha256, revision, instead,
                why);
        unopenable.add(key);
    }

    /** Completes {@code result} with {@code toOutput} of the scored image, or with the scoring's failure. */
    static <OUT> void complete(CompletableFuture<Scored> scoring, ResultFuture<OUT> result,
                               Function<Scored, OUT> toOutput) {
        scoring.whenComplete((scored, error) -> {
            if (error != null) {
                result.completeExceptionally(error);
                return;
            }
            try {
                result.complete(List.of(toOutput.apply(scored)));
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
