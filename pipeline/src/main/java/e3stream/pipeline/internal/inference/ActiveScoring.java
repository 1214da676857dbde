package e3stream.pipeline.internal.inference;

import java.util.Set;
import java.util.concurrent.CompletableFuture;

import e3stream.pipeline.internal.events.Prediction;
import e3stream.pipeline.internal.metrics.PipelineMetrics;
import e3stream.runtime.session.BundleSessions;
import e3stream.runtime.session.Scored;
import e3stream.runtime.session.SessionLease;
import e3stream.runtime.session.ShadowShare;
import org.apache.flink.streaming.api.functions.async.ResultFuture;

/**
 * Scores each image with the active model ({@link ScoringFunction}: the JVM's shared sessions through async I/O) and
 * maps the scored result to a {@link Prediction}. The active model is the configured bundle, or, with {@code model.control}, the one the image's
 * {@link ModelChoice} names. Images in flight are part of Flink's checkpoints (async operator state), so nothing is
 * lost on failover.
 *
 * <p>An event the shadow model scores (its share of the configured shadow, or of the shadow its choice names) leaves
 * with its image as well ({@link Inferred#shadowInput}), for {@link ShadowScoring} after
 * {@link ActiveOutput}; the active decision does not wait for the shadow.
 *
 * <p>The model selector stamps a choice only once it opened the choice's bundles in this JVM; a bundle that still
 * does not open here (after a restore on a TaskManager that lacks it, or files changed since) is not used: the subtask logs why and goes on scoring with the model it used
 * before, so no image waits on or fails because of that bundle; the prediction's {@code model} names the model that
 * decided it. A later roster is tried again.
 */
final class ActiveScoring implements ScoringFunction.Role<DecodedImage, Inferred> {

    private static final long serialVersionUID = 1L;

    private final ShadowShare shadowShare;
    private transient String configuredDirectory;
    private transient String configuredSha256;
    /** The bundle this subtask scores with now (the last one that opened here). */
    private transient String currentDirectory;
    private transient String currentSha256;

    ActiveScoring(ShadowShare shadowShare) {
        this.shadowShare = shadowShare;
    }

    @Override
    public void opened(ScoringFunction<DecodedImage, Inferred> f, SessionLease configured) {
        configuredDirectory = f.spec.bundle().directory().toString();
        configuredSha256 = f.spec.bundle().manifest().sha256();
        currentDirectory = configuredDirectory;
        currentSha256 = configuredSha256;
        PipelineMetrics.get().exportReviewRatioReference(configured.manifest(), !f.overrides.isEmpty());
    }

    @Override
    public void score(ScoringFunction<DecodedImage, Inferred> f, DecodedImage image, ResultFuture<Inferred> result) {
        ModelChoice choice = image.choice;
        f.newerRoster(choice);
        String directory = choice == null ? configuredDirectory : choice.activeDirectory;
        String sha256 = choice == null ? configuredSha256 : choice.activeSha256;
        String key = BundleSessions.key(directory, sha256);
        String currentKey = BundleSessions.key(currentDirectory, currentSha256);
        if (f.unopenable(key)) {
            directory = currentDirectory;
            sha256 = currentSha256;
            key = currentKey;
        }
        CompletableFuture<Scored> scoring;
        try {
            scoring = f.sessions.score(directory, sha256, choice == null || key.equals(currentKey) ? null
                    : choice.activeBundleSha256, image.tensor);
        } catch (RuntimeException e) {
            if (key.equals(currentKey)) {
                throw e; // the model in use broke: a failure, not a command to refuse
            }
            f.markUnopenable(key, "active", "scoring with the model used before", directory, sha256, e);
            scoring = f.sessions.score(currentDirectory, currentSha256, image.tensor);
            key = currentKey;
        }
        if (!key.equals(currentKey)) {
            // A new model in use: let go of the one before (its session closes when nobody leases it).
            currentDirectory = directory;
            currentSha256 = sha256;
            f.sessions.retainOnly(Set.of(key));
        }
        ScoringFunction.complete(scoring, result, scored -> {
            boolean forShadow = choice != null ? choice.shadowScores(image.id)
                    : shadowShare != null && shadowShare.includes(image.id);
            return new Inferred(toPrediction(image, scored), forShadow ? image : null);
        });
    }

    private static Prediction toPrediction(DecodedImage image, Scored scored) {
        Prediction p = Prediction.of(image.id, image.timestamp, scored);
        p.source = image.source;
        p.controlRevision = image.choice == null ? null : image.choice.revision;
        p.latencyMs = Math.max(0, System.currentTimeMillis() - image.receivedAtMs);
        PipelineMetrics metrics = PipelineMetrics.get();
        metrics.events.labels(p.accepted ? PipelineMetrics.ACCEPT : PipelineMetrics.REVIEW).inc();
        metrics.latency.observe(p.latencyMs / 1000.0);
        return p;
    }
}
