package e3stream.runtime.session;

import java.util.ArrayList;
import java.util.List;

import e3stream.runtime.model.BundleDescription;

/**
 * A {@link ModelRoster} made ready to score in this JVM: each of its bundles verified here (the files the command
 * chose: sha256 of model.onnx and the digest of model.json and model.onnx) and its session leased from
 * {@link SharedSessions}, so whoever scores with the roster next finds the models loaded. A stream subtask switches
 * to a roster only once it is prepared; one that cannot be prepared here is not used here.
 *
 * <pre>{@code
 * try {
 *     PreparedRoster ready = PreparedRoster.prepare(SharedSessions.jvm(), activeSpec, shadowSpec, roster);
 *     // switch to roster; ready.close() once it is no longer used
 * } catch (RuntimeException e) {
 *     // keep the roster in use; e.getMessage() says why
 * }
 * }</pre>
 *
 * <p>Preparing loads and opens models: call it off the thread that serves images.
 */
public final class PreparedRoster implements AutoCloseable {

    private final ModelRoster roster;
    private final List<SessionLease> leases;

    private PreparedRoster(ModelRoster roster, List<SessionLease> leases) {
        this.roster = roster;
        this.leases = leases;
    }

    /**
     * Verifies and opens the bundles of {@code roster} here.
     *
     * @param activeSpec the configured active bundle's spec: device and batching settings of the active model's
     *                   session (the active bundle is scored with it when it is the configured one)
     * @param shadowSpec likewise for the shadow model
     * @throws RuntimeException (a {@link e3stream.runtime.model.BundleException} for files that are missing or not
     *                          the ones chosen) when a bundle cannot be used here; nothing stays leased then
     */
    public static PreparedRoster prepare(SharedSessions shared, SessionSpec activeSpec, SessionSpec shadowSpec,
                                         ModelRoster roster) {
        List<SessionLease> leases = new ArrayList<>(2);
        try {
            leases.add(lease(shared, activeSpec, roster.active()));
            if (roster.shadow() != null) {
                leases.add(lease(shared, shadowSpec, roster.shadow()));
            }
            return new PreparedRoster(roster, leases);
        } catch (RuntimeException e) {
            leases.forEach(SessionLease::close);
            throw e;
        }
    }

    private static SessionLease lease(SharedSessions shared, SessionSpec spec, BundleDescription chosen) {
        BundleDescription here = BundleSessions.verifiedHere(spec.bundle(), chosen.directory().toString(),
                chosen.manifest().sha256(), chosen.bundleSha256());
        return shared.acquire(here == spec.bundle() ? spec : spec.withBundle(here));
    }

    public ModelRoster roster() {
        return roster;
    }

    /** Releases the sessions (each closes once nobody else leases it). */
    @Override
    public void close() {
        leases.forEach(SessionLease::close);
    }
}
