package e3stream.pipeline.internal.inference;

import e3stream.pipeline.internal.JvmStatics;
import e3stream.runtime.session.BundleSessions;
import e3stream.runtime.session.Scored;
import e3stream.runtime.session.SessionLease;
import e3stream.runtime.session.SessionSpec;
import e3stream.runtime.session.SharedSessions;
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
 * {@link BundleSessions}): what scoring with the active model ({@link InferenceFunction}) and with the shadow model
 * ({@link ShadowInferenceFunction}) share. It leases the sessions, follows the model roster's revisions of the
 * images' {@link ModelChoice}, remembers which bundles of the current roster did not open in this subtask (so no
 * image waits on them again), and completes Flink's result from the session's future. Images in flight are part of
 * Flink's checkpoints (async operator state); an inference failure (batch function error, full queue, timeout) fails
 * the task, which restarts from the last checkpoint: it is never bad data, which is dead-lettered before.
 *
 * @param <IN>  what the operator receives
 * @param <OUT> what it emits per scored image
 */
@Internal
abstract class ScoringFunction<IN, OUT> extends RichAsyncFunction<IN, OUT> {

    private static final long serialVersionUID = 1L;
    private static final Logger LOG = LoggerFactory.getLogger(ScoringFunction.class);

    /** The configured bundle's session settings (device and batching settings of any bundle this operator opens). */
    final SessionSpec spec;
    final TriageOverrides overrides;
    private final boolean openConfigured;
    transient BundleSessions sessions;
    /** The newest roster revision seen here. */
    transient long revision;
    /** Bundles of the current roster that did not open here. */
    private transient Set<String> unopenable;

    /**
     * @param openConfigured whether the configured bundle is opened when the operator opens (so the model loads
     *                       before the first image arrives)
     */
    ScoringFunction(SessionSpec spec, TriageOverrides overrides, boolean openConfigured) {
        this.spec = spec;
        this.overrides = overrides;
        this.openConfigured = openConfigured;
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

    /** Called once the configured bundle's session is open. */
    void opened(SessionLease configured) {
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

    /** Remembers that the bundle of {@code key} does not open here, and says so in the log. */
    void markUnopenable(String key, String what, String directory, String sha256, RuntimeException why) {
        LOG.warn("subtask {}: {} bundle {} (sha256 {}) of control revision {} does not open here; {}",
                getRuntimeContext().getTaskInfo().getIndexOfThisSubtask(), what, directory, sha256, revision,
                what.equals("active") ? "scoring with the model used before" : "its images are not shadow-scored here",
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
