package e3stream.runtime.session;

import java.util.List;

import e3stream.runtime.model.BundleManifest;
import e3stream.runtime.model.ModelOutput.ImageOutput;
import e3stream.runtime.model.ModelProvenance;
import e3stream.runtime.triage.TriageConfig;
import e3stream.runtime.triage.TriagePolicy;
import e3stream.runtime.uncertainty.EnsembleUncertainty;
import e3stream.runtime.uncertainty.Uncertainty;

/**
 * The one place member logits become a decision: E3 uncertainty with the bundle's temperature
 * ({@link EnsembleUncertainty}), then the bundle's triage policy with a job's {@link TriageOverrides}
 * ({@link TriagePolicy}). The stream's inference, {@code evaluate} and {@code calibrate} all score through it.
 *
 * <pre>{@code
 * Scorer scorer = Scorer.of(manifest, TriageOverrides.NONE);
 * Scored s = scorer.score(memberLogits);   // [M][C]
 * }</pre>
 *
 * <p>Immutable and thread-safe.
 */
public final class Scorer {

    private final EnsembleUncertainty uncertainty;
    private final TriagePolicy policy;
    private final List<String> classes;
    private final ModelProvenance model;

    private Scorer(EnsembleUncertainty uncertainty, TriagePolicy policy, List<String> classes, ModelProvenance model) {
        this.uncertainty = uncertainty;
        this.policy = policy;
        this.classes = classes;
        this.model = model;
    }

    /**
     * The bundle's temperature and triage policy with {@code overrides}.
     *
     * @throws IllegalArgumentException when the bundle's triage section or an override is invalid
     */
    public static Scorer of(BundleManifest manifest, TriageOverrides overrides) {
        TriageConfig config = overrides.applyTo(TriageConfig.fromJson(manifest.triageJson()));
        return of(manifest, manifest.temperature(), config);
    }

    /** An explicit temperature and triage config (e.g. a calibration candidate). */
    public static Scorer of(BundleManifest manifest, double temperature, TriageConfig config) {
        return new Scorer(new EnsembleUncertainty(temperature), new TriagePolicy(config), manifest.classes(),
                ModelProvenance.of(manifest));
    }

    /** Scores one image's member logits {@code [M][C]} (no feature density). */
    public Scored score(float[][] memberLogits) {
        return score(memberLogits, Double.NaN);
    }

    /** Scores one image's model output: member logits and, when the bundle has it, its feature log density. */
    public Scored score(ImageOutput output) {
        return score(output.memberLogits(), output.featureLogDensity());
    }

    /** Scores member logits {@code [M][C]} with a feature log density ({@code NaN}: none). */
    public Scored score(float[][] memberLogits, double featureLogDensity) {
        Uncertainty u = uncertainty.compute(memberLogits);
        return new Scored(u, featureLogDensity, policy.decide(u, featureLogDensity), classes.get(u.classIndex()),
                model);
    }

    public TriagePolicy policy() {
        return policy;
    }

    public double temperature() {
        return uncertainty.temperature();
    }

    public ModelProvenance model() {
        return model;
    }
}
