package e3stream.runtime.session;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

import e3stream.runtime.model.BundleDescription;
import e3stream.runtime.model.BundleException;

/**
 * The model sessions one stream operator scores with, one lease per bundle, for operators whose bundle can change
 * while they run ({@link ModelRoster}): the bundle each image names is leased from {@link SharedSessions} on first
 * use and kept until {@link #retainOnly} or {@link #close}. Bundles are named by directory and sha256; one that is not
 * the configured bundle is loaded and verified where this runs ({@link BundleDescription#load}) and refused when its
 * model.onnx no longer has that sha256, or model.json and model.onnx together not the digest the caller names.
 *
 * <p>The configured bundle is scored with the job's triage overrides (they were fitted for it); every other bundle
 * with its own model.json policy.
 *
 * <p>Owned by one operator instance and used from its task thread only (not thread-safe); the leases it holds are
 * released by {@link #close}.
 *
 * <pre>{@code
 * BundleSessions sessions = new BundleSessions(SharedSessions.jvm(), spec, overrides);
 * sessions.score(directory, sha256, tensor).thenAccept(scored -> ...);
 * }</pre>
 */
public final class BundleSessions implements AutoCloseable {

    private final SharedSessions shared;
    private final SessionSpec configured;
    private final TriageOverrides configuredOverrides;
    private final Map<String, Leased> leases = new HashMap<>();

    private record Leased(SessionLease lease, Scorer scorer) {
    }

    /**
     * @param configured          the configured bundle's spec; other bundles get its batching and device settings
     * @param configuredOverrides the job's triage overrides, for the configured bundle only
     */
    public BundleSessions(SharedSessions shared, SessionSpec configured, TriageOverrides configuredOverrides) {
        this.shared = shared;
        this.configured = configured;
        this.configuredOverrides = configuredOverrides;
    }

    /** The key of a bundle here: its directory and the sha256 of its model. */
    public static String key(String directory, String sha256) {
        return directory + "|" + sha256;
    }

    /** Scores one image with the bundle at {@code directory} whose model has {@code sha256}. */
    public CompletableFuture<Scored> score(String directory, String sha256, float[] image) {
        return score(directory, sha256, null, image);
    }

    /**
     * As {@link #score(String, String, float[])}, and a bundle loaded here must have {@code bundleSha256} (the digest
     * of model.json and model.onnx the control command verified; null: model.onnx's sha256 only).
     */
    public CompletableFuture<Scored> score(String directory, String sha256, String bundleSha256, float[] image) {
        Leased leased = leased(directory, sha256, bundleSha256);
        return leased.lease().score(image, leased.scorer());
    }

    /** Leases the configured bundle's session now (at operator start, so the model loads before the first image). */
    public SessionLease openConfigured() {
        BundleDescription bundle = configured.bundle();
        return leased(bundle.directory().toString(), bundle.manifest().sha256(), null).lease();
    }

    private Leased leased(String directory, String sha256, String bundleSha256) {
        String key = key(directory, sha256);
        Leased leased = leases.get(key);
        if (leased == null) {
            BundleDescription bundle = verifiedHere(configured.bundle(), directory, sha256, bundleSha256);
            boolean isConfigured = bundle == configured.bundle();
            SessionLease lease = shared.acquire(isConfigured ? configured : configured.withBundle(bundle));
            leased = new Leased(lease, lease.session().scorer(isConfigured ? configuredOverrides : TriageOverrides.NONE));
            leases.put(key, leased);
        }
        return leased;
    }

    /**
     * The bundle at {@code directory} as this JVM sees it: {@code configured} itself when it is that bundle, else
     * loaded and verified to hold the model with {@code sha256} and (unless null) the files with {@code bundleSha256}
     * that the control command chose.
     *
     * @throws BundleException when it is missing, invalid, or other files than the ones chosen
     */
    static BundleDescription verifiedHere(BundleDescription configured, String directory, String sha256,
                                          String bundleSha256) {
        if (configured.directory().toString().equals(directory) && configured.manifest().sha256().equals(sha256)) {
            return configured;
        }
        BundleDescription loaded = BundleDescription.load(Path.of(directory));
        if (!loaded.manifest().sha256().equals(sha256)) {
            throw new BundleException("model bundle " + directory + " now holds sha256 " + loaded.manifest().sha256()
                    + " but the control command that chose it verified " + sha256 + "; every TaskManager must see "
                    + "the same bundle files");
        }
        if (bundleSha256 != null && !bundleSha256.equals(loaded.bundleSha256())) {
            throw new BundleException("model bundle " + directory + " has bundle_sha256 " + loaded.bundleSha256()
                    + " here but the control command that chose it verified " + bundleSha256 + " (model.json differs); "
                    + "every TaskManager must see the same bundle files");
        }
        return loaded;
    }

    /** Releases the leases of bundles whose keys ({@link #key}) are not in {@code keep}. */
    public void retainOnly(Set<String> keep) {
        for (Iterator<Map.Entry<String, Leased>> it = leases.entrySet().iterator(); it.hasNext(); ) {
            Map.Entry<String, Leased> e = it.next();
            if (!keep.contains(e.getKey())) {
                e.getValue().lease().close();
                it.remove();
            }
        }
    }

    /** Bundles leased now. */
    public int leased() {
        return leases.size();
    }

    @Override
    public void close() {
        retainOnly(Set.of());
    }
}
