package e3stream.pipeline.internal;

import java.util.UUID;

import e3stream.pipeline.internal.metrics.MetricsServer;
import e3stream.runtime.session.SharedSessions;
import org.apache.flink.annotation.Internal;
import org.apache.flink.api.common.functions.RuntimeContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Releases the job's JVM-wide statics when the job's user-code class loader is released: the shared model sessions
 * ({@link SharedSessions#jvm()}, with their batcher threads and the {@code e3-session-releaser} thread) and the
 * Prometheus endpoint ({@link MetricsServer}, its port and threads). In a session cluster this is when a cancelled
 * or finished job leaves a TaskManager, so cancel-and-resubmit leaks no session, thread or port. Task restarts within
 * the job keep the class loader (and the loaded model).
 *
 * <pre>{@code
 * public void open(OpenContext context) {
 *     JvmStatics.releaseWithJob(getRuntimeContext());
 *     lease = SharedSessions.jvm().acquire(spec);
 * }
 * }</pre>
 *
 * <p>Each call registers a release hook of its own on the caller's class loader
 * ({@link RuntimeContext#registerUserCodeClassLoaderReleaseHookIfAbsent}); the statics are released when the last
 * registered hook has run. In a session cluster the job jar is loaded child-first, these statics belong to that job
 * alone and go with its class loader; where these classes come from a class loader above the job's (a MiniCluster in
 * a test or the local run, the jar in Flink's lib/), jobs share them and they go when the last of those jobs has
 * released its class loader. The Prometheus registry ({@code PipelineMetrics}) holds no thread or port and goes with
 * the class that holds it. Thread-safe.
 */
@Internal
public final class JvmStatics {

    private static final Logger LOG = LoggerFactory.getLogger(JvmStatics.class);

    /** Prefix of the names of the release hooks registered on the job's user-code class loader. */
    public static final String RELEASE_HOOK = "e3stream-jvm-statics-";

    private static int pendingHooks; // guarded by JvmStatics.class

    private JvmStatics() {
    }

    /**
     * Registers the release of the statics when {@code context}'s user-code class loader is released. Call from
     * {@code open} of every operator that uses them, before using them.
     */
    public static void releaseWithJob(RuntimeContext context) {
        synchronized (JvmStatics.class) {
            pendingHooks++;
        }
        try {
            context.registerUserCodeClassLoaderReleaseHookIfAbsent(RELEASE_HOOK + UUID.randomUUID(),
                    JvmStatics::hookRan);
        } catch (RuntimeException e) {
            synchronized (JvmStatics.class) {
                pendingHooks--;
            }
            throw e;
        }
    }

    private static void hookRan() {
        // Under the lock, so that an operator of a job starting meanwhile registers (and then acquires) only after
        // the release: it never gets a session that is being closed.
        synchronized (JvmStatics.class) {
            if (--pendingHooks > 0) {
                return; // another job (or another TaskManager in this JVM) still uses them
            }
            pendingHooks = 0;
            release();
        }
    }

    /** Closes every shared model session, the session release thread and the metrics endpoint now. */
    public static void release() {
        LOG.info("job class loader released: closing the shared model sessions and the metrics endpoint");
        try {
            SharedSessions.jvm().closeAll();
        } finally {
            MetricsServer.stop();
        }
    }
}
