package e3stream.pipeline.internal.inference;

import e3stream.runtime.model.BundleDescription;
import e3stream.runtime.session.BundleSessions;
import e3stream.runtime.session.ModelRoster;
import e3stream.runtime.session.ShadowShare;
import org.apache.flink.annotation.Internal;

/**
 * Which models an image is scored by, stamped on it by the model selector (with {@code model.control}): the
 * {@link ModelRoster}'s revision, the active bundle and the shadow bundle (null without one) by directory and sha256,
 * and the shadow's share. Strings only, so that passing it along costs no copy of the bundles' descriptions. A
 * Flink POJO; treat as immutable (one instance is shared by the images of one roster).
 */
@Internal
public class ModelChoice {
    public long revision;
    public String activeDirectory;
    public String activeSha256;
    /** The active bundle's digest of model.json and model.onnx, as the control function verified it. */
    public String activeBundleSha256;
    /** Null without a shadow model. */
    public String shadowDirectory;
    public String shadowSha256;
    public String shadowBundleSha256;
    public double shadowShare;

    public ModelChoice() {
    }

    /** The choice a roster makes. */
    public static ModelChoice of(ModelRoster roster) {
        ModelChoice c = new ModelChoice();
        c.revision = roster.revision();
        c.activeDirectory = directory(roster.active());
        c.activeSha256 = roster.active().manifest().sha256();
        c.activeBundleSha256 = roster.active().bundleSha256();
        if (roster.shadow() != null) {
            c.shadowDirectory = directory(roster.shadow());
            c.shadowSha256 = roster.shadow().manifest().sha256();
            c.shadowBundleSha256 = roster.shadow().bundleSha256();
        }
        c.shadowShare = roster.shadowShare();
        return c;
    }

    private static String directory(BundleDescription bundle) {
        return bundle.directory().toString();
    }

    /** Whether the shadow model scores the event {@code id} too. */
    public boolean shadowScores(String id) {
        return shadowSha256 != null && new ShadowShare(shadowShare).includes(id);
    }

    /** The active bundle's key in {@link BundleSessions}. */
    public String activeKey() {
        return BundleSessions.key(activeDirectory, activeSha256);
    }

    /** The shadow bundle's key in {@link BundleSessions}, or null. */
    public String shadowKey() {
        return shadowSha256 == null ? null : BundleSessions.key(shadowDirectory, shadowSha256);
    }
}
