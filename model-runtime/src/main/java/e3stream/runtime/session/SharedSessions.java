package e3stream.runtime.session;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Model sessions shared by everyone in a JVM who asks for the same bundle and device, so batches fill even when each
 * caller (e.g. each stream subtask) sees a trickle, and the model is loaded once per JVM.
 *
 * <pre>{@code
 * try (SessionLease lease = SharedSessions.jvm().acquire(spec)) {
 *     Scorer scorer = lease.session().scorer(overrides);
 *     lease.score(tensor, scorer).thenAccept(...);
 * }
 * }</pre>
 *
 * <ul>
 *   <li>Reference counted: the first {@link #acquire} opens the session; it is closed {@code idleRelease} after the
 *       last lease is closed unless acquired again meanwhile, so a task restart in the same JVM (all tasks close, then
 *       open again) reuses the loaded model.</li>
 *   <li>Healing: a session that no longer serves (its batcher closed or its worker thread died) is never handed out
 *       again; the next {@link #acquire} closes it and opens a new one. Leases still held on the broken one fail their
 *       requests, which fails their tasks, whose restart acquires the new session.</li>
 *   <li>{@link #closeAll()} closes every session and the release thread, e.g. when the code that loaded this class
 *       is unloaded (a cancelled job in a session cluster).</li>
 * </ul>
 *
 * <p>Threads: one daemon thread per instance ({@code e3-session-releaser}), started on the first idle release and
 * stopped by {@link #closeAll()}, closes idle sessions. All methods are thread-safe (synchronised on the instance; a
 * model is opened outside that lock).
 */
public final class SharedSessions {

    private static final Logger LOG = LoggerFactory.getLogger(SharedSessions.class);
    private static final SharedSessions JVM = new SharedSessions(ModelSession::open);

    private final Function<SessionSpec, ModelSession> opener;
    private final Map<String, Entry> entries = new HashMap<>(); // guarded by this
    private final AtomicInteger loads = new AtomicInteger();
    private ScheduledExecutorService releaser; // guarded by this; created on first use
    private ScheduledExecutorService lastReleaser; // guarded by this; the one closeAll() stopped

    SharedSessions(Function<SessionSpec, ModelSession> opener) {
        this.opener = opener;
    }

    /** The sessions of this JVM (of this class loader, in a Flink TaskManager: of the job's user code). */
    public static SharedSessions jvm() {
        return JVM;
    }

    /**
     * Leases the session for {@code spec}, opening it if there is none that still serves. The open runs without this
     * instance's lock: callers of other bundles go on meanwhile, and callers of the same bundle wait for it (and try
     * themselves if it fails).
     */
    public SessionLease acquire(SessionSpec spec) {
        String key = spec.sessionKey();
        while (true) {
            Entry entry;
            boolean opensIt = false;
            synchronized (this) {
                entry = entries.get(key);
                if (entry != null && entry.session != null && !entry.session.isHealthy()) {
                    LOG.warn("model session {} no longer serves (batcher closed or its worker died); closing it and "
                            + "opening a new one", key);
                    entries.remove(key);
                    entry.cancelRelease();
                    closeQuietly(entry);
                    entry = null;
                }
                if (entry == null) {
                    entry = new Entry(key); // who asks for this bundle meanwhile waits for this open
                    entries.put(key, entry);
                    opensIt = true;
                } else if (entry.session != null) {
                    entry.cancelRelease();
                    if (!entry.session.spec().equals(spec)) {
                        LOG.warn("model session {} is shared and keeps the batching settings it was opened with ({}); "
                                + "ignoring {}", key, entry.session.spec(), spec);
                    }
                    entry.leases++;
                    return new SessionLease(this, entry);
                }
            }
            if (opensIt) {
                return open(entry, spec);
            }
            awaitOpened(entry); // another caller opens it, failing or not: then look again
        }
    }

    /** Opens the session of the placeholder {@code entry} that this caller put, and leases it. */
    private SessionLease open(Entry entry, SessionSpec spec) {
        ModelSession session;
        try {
            session = opener.apply(spec);
        } catch (RuntimeException | Error e) {
            synchronized (this) {
                entries.remove(entry.key, entry);
            }
            entry.opened.complete(null);
            throw e;
        }
        synchronized (this) {
            entry.session = session;
            entry.leases++;
            loads.incrementAndGet();
            // If closeAll() dropped the placeholder meanwhile, the session is this lease's alone and release() closes
            // it with the lease, as it does a session replaced after it broke.
        }
        entry.opened.complete(null);
        return new SessionLease(this, entry);
    }

    private static void awaitOpened(Entry entry) {
        try {
            entry.opened.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for model session " + entry.key + " to open", e);
        } catch (java.util.concurrent.ExecutionException e) {
            throw new IllegalStateException(e); // never completed exceptionally
        }
    }

    synchronized void release(SessionLease lease) {
        if (!lease.markClosed()) {
            return;
        }
        Entry entry = lease.entry();
        entry.leases--;
        if (entry.leases > 0 || entries.get(entry.key) != entry) {
            if (entries.get(entry.key) != entry && entry.leases == 0) {
                closeQuietly(entry); // replaced after it broke; its last user has gone
            }
            return;
        }
        long delayMs = entry.session.spec().idleRelease().toMillis();
        entry.pendingRelease = releaser().schedule(() -> {
            synchronized (SharedSessions.this) {
                if (entry.leases == 0 && entries.get(entry.key) == entry) {
                    entries.remove(entry.key);
                    closeQuietly(entry);
                    LOG.info("closed idle model session {}", entry.key);
                }
            }
        }, delayMs, TimeUnit.MILLISECONDS);
    }

    /** How many sessions this instance has opened so far. */
    public int loads() {
        return loads.get();
    }

    /** Sessions currently open (leased or waiting for their idle release). */
    public synchronized int open() {
        return (int) entries.values().stream().filter(e -> e.session != null).count();
    }

    /** Closes the sessions nobody leases now instead of after their idle delay (tests, the demo). */
    public synchronized void releaseIdleNow() {
        for (Entry entry : new ArrayList<>(entries.values())) {
            if (entry.leases == 0 && entry.session != null) {
                entry.cancelRelease();
                entries.remove(entry.key);
                closeQuietly(entry);
            }
        }
    }

    /**
     * Closes every session, leased or not, and stops the release thread. The instance stays usable. A session being
     * opened now is its opener's alone, closed when that lease is.
     */
    public synchronized void closeAll() {
        for (Entry entry : new ArrayList<>(entries.values())) {
            entry.cancelRelease();
            if (entry.session != null) {
                closeQuietly(entry);
            }
        }
        entries.clear();
        if (releaser != null) {
            releaser.shutdownNow();
            try {
                releaser.awaitTermination(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            lastReleaser = releaser;
            releaser = null;
        }
    }

    /** Whether a release thread of this instance is still running (tests: none after {@link #closeAll()}). */
    synchronized boolean releaseThreadRunning() {
        return (releaser != null && !releaser.isTerminated()) || (lastReleaser != null && !lastReleaser.isTerminated());
    }

    private ScheduledExecutorService releaser() {
        if (releaser == null) {
            releaser = Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "e3-session-releaser");
                t.setDaemon(true);
                return t;
            });
        }
        return releaser;
    }

    private static void closeQuietly(Entry entry) {
        try {
            entry.session.close();
        } catch (RuntimeException e) {
            LOG.warn("closing model session {} failed", entry.key, e);
        }
    }

    static final class Entry {
        final String key;
        /** Null while the first caller opens it (a placeholder the others wait on); set once, under the lock. */
        volatile ModelSession session;
        /** Completed when the open ends, failed or not. */
        final CompletableFuture<Void> opened = new CompletableFuture<>();
        int leases;
        ScheduledFuture<?> pendingRelease;

        Entry(String key) {
            this.key = key;
        }

        void cancelRelease() {
            if (pendingRelease != null) {
                pendingRelease.cancel(false);
                pendingRelease = null;
            }
        }
    }
}
