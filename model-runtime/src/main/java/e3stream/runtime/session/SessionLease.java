package e3stream.runtime.session;

import java.util.concurrent.CompletableFuture;

import e3stream.runtime.model.BundleManifest;

/**
 * One user's hold on a shared {@link ModelSession} (see {@link SharedSessions#acquire}). Closing the lease, not the
 * session, is how a user lets go; closing twice is harmless. Thread-safe.
 */
public final class SessionLease implements AutoCloseable {

    private final SharedSessions owner;
    private final SharedSessions.Entry entry;
    private boolean closed; // guarded by owner

    SessionLease(SharedSessions owner, SharedSessions.Entry entry) {
        this.owner = owner;
        this.entry = entry;
    }

    public ModelSession session() {
        return entry.session;
    }

    /** Shortcut for {@code session().score(image, scorer)}. */
    public CompletableFuture<Scored> score(float[] image, Scorer scorer) {
        return entry.session.score(image, scorer);
    }

    public BundleManifest manifest() {
        return entry.session.manifest();
    }

    @Override
    public void close() {
        owner.release(this);
    }

    boolean markClosed() {
        if (closed) {
            return false;
        }
        closed = true;
        return true;
    }

    SharedSessions.Entry entry() {
        return entry;
    }
}
