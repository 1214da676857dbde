package e3stream.pipeline.inference;

import java.util.List;
import java.util.Map;

import e3stream.pipeline.events.Prediction;
import e3stream.pipeline.metrics.PipelineMetrics;
import e3stream.runtime.model.BundleManifest;
import e3stream.runtime.triage.TriageConfig;
import e3stream.runtime.triage.TriageDecision;
import e3stream.runtime.triage.TriagePolicy;
import e3stream.runtime.uncertainty.EnsembleUncertainty;
import e3stream.runtime.uncertainty.Uncertainty;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.streaming.api.functions.async.ResultFuture;
import org.apache.flink.streaming.api.functions.async.RichAsyncFunction;

/**
 * Flink async I/O in front of the JVM-wide {@link SharedModel}: each image is submitted to the shared batcher; when
 * its member logits return, E3 uncertainty ({@link EnsembleUncertainty}) and the triage policy ({@link TriagePolicy},
 * the bundle's {@code triage} section with the job's overrides) make the {@link Prediction}. Images in flight are
 * part of Flink's checkpoints (async operator state), so nothing is lost on failover.
 *
 * <p>An inference failure (batch function error, full queue, timeout) fails the task, which restarts from the last
 * checkpoint: it is never bad data, which is dead-lettered before this operator.
 */
public final class InferenceFunction extends RichAsyncFunction<DecodedImage, Prediction> {

    private static final long serialVersionUID = 1L;

    private final ModelSpec spec;
    private final Map<String, String> triageOverrides;
    private transient SharedModel model;
    private transient EnsembleUncertainty uncertainty;
    private transient TriagePolicy policy;
    private transient List<String> classes;
    private transient String modelName;
    private transient String modelVersion;

    /**
     * @param triageOverrides keys of {@link TriageConfig#OVERRIDE_KEYS} to values, replacing the bundle's
     */
    public InferenceFunction(ModelSpec spec, Map<String, String> triageOverrides) {
        this.spec = spec;
        this.triageOverrides = Map.copyOf(triageOverrides);
    }

    /** The triage policy of a bundle with the job's overrides (shared with tests computing expected decisions). */
    public static TriagePolicy policyFor(BundleManifest manifest, Map<String, String> overrides) {
        return new TriagePolicy(TriageConfig.fromJson(manifest.triageJson()).withOverrides(overrides));
    }

    @Override
    public void open(OpenContext context) {
        model = SharedModel.acquire(spec);
        BundleManifest manifest = model.manifest();
        uncertainty = new EnsembleUncertainty(manifest.temperature());
        policy = policyFor(manifest, triageOverrides);
        classes = manifest.classes();
        modelName = manifest.name();
        modelVersion = manifest.version();
        PipelineMetrics.get().exportReviewRatioReference(manifest, !triageOverrides.isEmpty());
    }

    @Override
    public void asyncInvoke(DecodedImage image, ResultFuture<Prediction> result) {
        model.submit(image.tensor).whenComplete((logits, error) -> {
            if (error != null) {
                result.completeExceptionally(error);
                return;
            }
            try {
                result.complete(List.of(score(image, logits)));
            } catch (RuntimeException e) {
                result.completeExceptionally(e);
            }
        });
    }

    private Prediction score(DecodedImage image, float[][] logits) {
        Uncertainty u = uncertainty.compute(logits);
        TriageDecision decision = policy.decide(u);
        Prediction p = new Prediction();
        p.id = image.id;
        p.timestamp = image.timestamp;
        p.modelName = modelName;
        p.modelVersion = modelVersion;
        p.classIndex = u.classIndex();
        p.label = classes.get(u.classIndex());
        p.confidence = u.confidence();
        p.probabilities = u.probabilities();
        p.entropy = u.entropy();
        p.expectedEntropy = u.expectedEntropy();
        p.mutualInformation = u.mutualInformation();
        p.memberDisagreement = u.memberDisagreement();
        p.predictionSet = decision.predictionSet();
        p.accepted = decision.accepted();
        p.reasons = decision.reasons().toArray(new String[0]);
        long now = System.currentTimeMillis();
        p.latencyMs = Math.max(0, now - image.receivedAtMs);
        PipelineMetrics metrics = PipelineMetrics.get();
        metrics.events.labels(p.accepted ? PipelineMetrics.ACCEPT : PipelineMetrics.REVIEW).inc();
        metrics.latency.observe(p.latencyMs / 1000.0);
        return p;
    }

    @Override
    public void close() throws Exception {
        if (model != null) {
            model.close();
            model = null;
        }
    }
}
