package e3stream.runtime.session;

import java.io.Serializable;
import java.nio.file.Path;
import java.util.Objects;
import java.util.function.Function;

import com.fasterxml.jackson.databind.node.ObjectNode;
import e3stream.runtime.model.BundleDescription;
import e3stream.runtime.model.BundleException;
import e3stream.runtime.model.BundleManifest;
import e3stream.runtime.model.ModelProvenance;

/**
 * Which bundle decides a stream's events (the active one), which one is shadow-scored beside it (and on what share of
 * the events), and which one a rollback returns to. Immutable and serializable: a stream keeps it as checkpointed
 * state, so a restart keeps the choice; each applied {@link ModelCommand} makes a new roster with the next
 * {@link #revision()}.
 *
 * <p>The roster a job is configured with (revision 0) carries a fingerprint of that configuration
 * ({@link #baseline()}): a restored roster is kept only while the job still runs with the same configuration
 * ({@link #restoredOr}); a job restarted with another {@code model.bundle} starts from its configuration instead.
 *
 * <pre>{@code
 * ModelRoster roster = ModelRoster.configured(active, null, 1.0);
 * ModelRoster.Change c = roster.apply(ModelCommand.parse(value), dir -> BundleDescription.load(Path.of(dir)));
 * if (c.applied()) roster = c.roster();   // c.reason() says why a command was refused
 * }</pre>
 */
public final class ModelRoster implements Serializable {
    private static final long serialVersionUID = 1L;

    private final long revision;
    private final String baseline;
    private final BundleDescription active;
    private final BundleDescription shadow;
    private final double shadowShare;
    private final BundleDescription previous;

    private ModelRoster(long revision, String baseline, BundleDescription active, BundleDescription shadow,
                        double shadowShare, BundleDescription previous) {
        this.revision = revision;
        this.baseline = baseline;
        this.active = Objects.requireNonNull(active, "active");
        this.shadow = shadow;
        this.shadowShare = shadowShare;
        this.previous = previous;
    }

    /**
     * The roster of a job's configuration (revision 0).
     *
     * @param shadow      the configured shadow bundle, or null
     * @param shadowShare share of the events a shadow scores (0..1), also the default of a {@code shadow} command
     */
    public static ModelRoster configured(BundleDescription active, BundleDescription shadow, double shadowShare) {
        if (!(shadowShare >= 0 && shadowShare <= 1)) {
            throw new IllegalArgumentException("shadow share must be within 0..1, found " + shadowShare);
        }
        String baseline = active.manifest().sha256() + "@" + active.directory() + "|"
                + (shadow == null ? "-" : shadow.manifest().sha256() + "@" + shadow.directory()) + "|" + shadowShare;
        return new ModelRoster(0, baseline, active, shadow, shadowShare, null);
    }

    /**
     * The roster to run with after a restore: {@code restored} (from checkpointed state) when it grew from the same
     * configuration as {@code configured}, else {@code configured}.
     */
    public static ModelRoster restoredOr(ModelRoster restored, ModelRoster configured) {
        return restored != null && restored.baseline.equals(configured.baseline) ? restored : configured;
    }

    /** Whether {@code other} is a later roster of the same configuration (one to switch to). */
    public boolean isSucceededBy(ModelRoster other) {
        return other.baseline.equals(baseline) && other.revision > revision;
    }

    /** The outcome of a command: the roster after it (unchanged when refused) and, when refused, why. */
    public record Change(ModelRoster roster, boolean applied, String reason) {
    }

    /**
     * Applies a command. A bundle is accepted only when {@code loader} loads and verifies it (sha256 of model.onnx
     * against model.json; the digest of both files against the command's {@code bundle_sha256} when it names one)
     * and it takes the same input and has the same classes as the active bundle; otherwise, and
     * for commands that do not apply (promote without a shadow, rollback without a previous model), the command is
     * refused with a reason and nothing changes.
     *
     * @param loader loads a bundle directory, throwing {@link BundleException} when it is missing or invalid
     */
    public Change apply(ModelCommand command, Function<String, BundleDescription> loader) {
        switch (command.kind()) {
            case STATUS:
                return new Change(this, true, null);
            case SHADOW: {
                BundleDescription candidate;
                try {
                    candidate = loader.apply(command.bundle());
                } catch (BundleException | IllegalArgumentException e) {
                    return refused("bundle " + command.bundle() + " failed verification: " + e.getMessage());
                }
                if (command.bundleSha256() != null && !command.bundleSha256().equals(candidate.bundleSha256())) {
                    return refused("bundle " + candidate.directory() + " has bundle_sha256 " + candidate.bundleSha256()
                            + " but the command names " + command.bundleSha256() + ": model.json or model.onnx is "
                            + "not the one the command was written for");
                }
                String mismatch = mismatch(candidate);
                if (mismatch != null) {
                    return refused(mismatch);
                }
                if (sameModel(candidate, active)) {
                    return refused("bundle " + candidate.directory() + " (" + candidate.provenance() + ") is the "
                            + "active model already");
                }
                double share = command.share() != null ? command.share() : shadowShare;
                return applied(new ModelRoster(revision + 1, baseline, active, candidate, share, previous));
            }
            case PROMOTE:
                if (shadow == null) {
                    return refused("no shadow model to promote: start one with {\"command\": \"shadow\", "
                            + "\"bundle\": ...} first");
                }
                return applied(new ModelRoster(revision + 1, baseline, shadow, null, shadowShare, active));
            case ROLLBACK:
                if (previous == null) {
                    return refused("nothing to roll back to: no model was promoted since the job started "
                            + "(or the last promotion was rolled back already)");
                }
                return applied(new ModelRoster(revision + 1, baseline, previous, shadow, shadowShare, null));
            case STOP_SHADOW:
                if (shadow == null) {
                    return refused("no shadow model is running");
                }
                return applied(new ModelRoster(revision + 1, baseline, active, null, shadowShare, previous));
            default:
                throw new IllegalStateException("unhandled command " + command.kind());
        }
    }

    /** What makes {@code candidate} unfit to score beside (or instead of) the active bundle, or null. */
    private String mismatch(BundleDescription candidate) {
        BundleManifest a = active.manifest();
        BundleManifest c = candidate.manifest();
        if (!c.classes().equals(a.classes())) {
            return "bundle " + candidate.directory() + " (" + candidate.provenance() + ") has classes " + c.classes()
                    + " but the active " + active.directory() + " (" + active.provenance() + ") has " + a.classes();
        }
        if (!c.input().equals(a.input())) {
            return "bundle " + candidate.directory() + " (" + candidate.provenance() + ") takes input " + c.input()
                    + " but the stream decodes images for " + a.input() + " (the active " + active.provenance() + ")";
        }
        return null;
    }

    private static boolean sameModel(BundleDescription a, BundleDescription b) {
        return a.manifest().sha256().equals(b.manifest().sha256()) && a.directory().equals(b.directory());
    }

    private Change applied(ModelRoster next) {
        return new Change(next, true, null);
    }

    private Change refused(String reason) {
        return new Change(this, false, reason);
    }

    /** Loads and verifies bundles by directory, as {@link #apply} needs: {@link BundleDescription#load}. */
    public static BundleDescription load(String directory) {
        return BundleDescription.load(Path.of(directory));
    }

    public long revision() {
        return revision;
    }

    /** Fingerprint of the configuration this roster grew from. */
    public String baseline() {
        return baseline;
    }

    public BundleDescription active() {
        return active;
    }

    /** The shadow bundle, or null. */
    public BundleDescription shadow() {
        return shadow;
    }

    public double shadowShare() {
        return shadowShare;
    }

    /** The bundle a rollback makes active again, or null. */
    public BundleDescription previous() {
        return previous;
    }

    /**
     * The roster as JSON (in {@code control-results} answers): {@code revision}, {@code active}, {@code shadow},
     * {@code shadow_share}, {@code previous}; each model as its provenance plus {@code directory} and
     * {@code bundle_sha256} (the digest of model.json and model.onnx), or null.
     */
    public void writeTo(ObjectNode node) {
        node.put("revision", revision);
        model(node, "active", active);
        model(node, "shadow", shadow);
        node.put("shadow_share", shadowShare);
        model(node, "previous", previous);
    }

    private static void model(ObjectNode node, String field, BundleDescription bundle) {
        if (bundle == null) {
            node.putNull(field);
            return;
        }
        ModelProvenance p = bundle.provenance();
        ObjectNode m = node.putObject(field);
        m.put("name", p.name());
        m.put("version", p.version());
        m.put("sha256", p.sha256());
        m.put("training_commit", p.trainingCommit());
        m.put("directory", bundle.directory().toString());
        m.put("bundle_sha256", bundle.bundleSha256());
    }

    @Override
    public String toString() {
        return "ModelRoster[revision " + revision + ", active " + active.provenance()
                + (shadow == null ? "" : ", shadow " + shadow.provenance() + " on " + shadowShare + " of the events")
                + (previous == null ? "" : ", rollback to " + previous.provenance()) + "]";
    }
}
