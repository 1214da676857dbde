package e3stream.pipeline.internal.inference;

import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

import e3stream.pipeline.internal.events.ModelTag;
import e3stream.pipeline.internal.events.Prediction;
import e3stream.pipeline.internal.events.ShadowPrediction;
import e3stream.pipeline.internal.metrics.PipelineMetrics;
import e3stream.runtime.session.Scored;
import org.apache.flink.streaming.api.functions.async.ResultFuture;

/**
 * Scores with the shadow model ({@link ScoringFunction}: the JVM's shared sessions through async I/O) the images
 * {@link ActiveOutput} passes on, after the active model decided them, and pairs each result with the active
 * prediction. The shadow is the configured {@code model.shadow-bundle}, or,
 * with {@code model.control}, the one the image's {@link ModelChoice} names. The shadow decides with its own bundle's
 * triage policy (the job's {@code triage.*} overrides are the active bundle's), and decides nothing: its result goes
 * to the shadow topic and the drift window only.
 *
 * <p>A commanded shadow bundle this subtask cannot open is not scored here (logged once per roster); its images
 * leave with their active decision only.
 */
final class ShadowScoring implements ScoringFunction.Role<Inferred, ShadowPrediction> {

    private static final long serialVersionUID = 1L;

    @Override
    public void score(ScoringFunction<Inferred, ShadowPrediction> f, Inferred in, ResultFuture<ShadowPrediction> result) {
        DecodedImage image = in.shadowInput;
        ModelChoice choice = image.choice;
        if (f.newerRoster(choice)) {
            Set<String> keep = new HashSet<>();
            if (choice.shadowKey() != null) {
                keep.add(choice.shadowKey());
            }
            f.sessions.retainOnly(keep);
        }
        String directory = choice == null ? f.spec.bundle().directory().toString() : choice.shadowDirectory;
        String sha256 = choice == null ? f.spec.bundle().manifest().sha256() : choice.shadowSha256;
        CompletableFuture<Scored> scoring;
        try {
            scoring = choice == null || !f.unopenable(choice.shadowKey())
                    ? f.sessions.score(directory, sha256, choice == null ? null : choice.shadowBundleSha256, image.tensor)
                    : null;
        } catch (RuntimeException e) {
            if (choice == null) {
                throw e; // the configured shadow broke: a failure, not a command to refuse
            }
            f.markUnopenable(choice.shadowKey(), "shadow", "its images are not shadow-scored here", directory,
                    sha256, e);
            scoring = null;
        }
        if (scoring == null) {
            result.complete(List.of());
            return;
        }
        ScoringFunction.complete(scoring, result, scored -> {
            Prediction shadow = Prediction.of(image.id, image.timestamp, scored);
            shadow.source = image.source;
            shadow.controlRevision = in.prediction.controlRevision;
            shadow.latencyMs = Math.max(0, System.currentTimeMillis() - image.receivedAtMs);
            String label = PipelineMetrics.shadowLabel(in.prediction.modelName, shadow.modelName,
                    shadow.modelVersion);
            shadow.shadowOf = new ModelTag(shadow.modelName, shadow.modelVersion, label);
            PipelineMetrics.get().shadowEvents.labels(label).inc();
            return new ShadowPrediction(shadow, in.prediction);
        });
    }
}
