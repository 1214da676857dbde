package e3stream.runtime.stats;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import e3stream.runtime.data.FashionMnist;
import e3stream.runtime.eval.Predictions;
import e3stream.runtime.model.E3Model;
import e3stream.runtime.model.ExecutionOptions;
import e3stream.runtime.model.ModelBundle;
import e3stream.runtime.stats.DriftStats.DriftSnapshot;
import e3stream.runtime.testutils.RepoFiles;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The label-free signals beyond confidence: PSI of the feature log density, and the ATC accuracy estimate. */
class DensityDriftTest {

    private static ReferenceDistributions reference(java.nio.file.Path bundle) {
        return ReferenceDistributions.fromJson(ModelBundle.load(bundle).manifest().referenceJson());
    }

    /** Draws from a reference signal by inverting its quantiles at uniform levels. */
    private static double draw(SignalReference ref, Random random) {
        return ref.quantile(random.nextDouble());
    }

    @Test
    void densityPsiStaysLowOnFamiliarItemsAndRisesWhenTheyComeFromElsewhere() {
        ReferenceDistributions ref = reference(RepoFiles.densityFixture());
        SignalReference density = ref.featureLogDensity().orElseThrow();
        SignalReference confidence = ref.signal(ReferenceDistributions.CONFIDENCE);
        Random random = new Random(3);
        DriftStats familiar = new DriftStats(ref);
        DriftStats unfamiliar = new DriftStats(ref);
        for (int i = 0; i < 20_000; i++) {
            double c = draw(confidence, random);
            familiar.add(c, 0.5, 0.0, 0, false, draw(density, random));
            unfamiliar.add(c, 0.5, 0.0, 0, false, density.quantile(0) - 50 - random.nextDouble());
        }
        double low = familiar.snapshot().psi().get(ReferenceDistributions.FEATURE_LOG_DENSITY);
        double high = unfamiliar.snapshot().psi().get(ReferenceDistributions.FEATURE_LOG_DENSITY);
        assertTrue(low < 0.01, "familiar density PSI " + low);
        assertTrue(high > 1, "unfamiliar density PSI " + high);
    }

    @Test
    void atcReadsTheValidationAccuracyOnTheValidationSplitAndCountsUnfamiliarItemsWrong() {
        // The shipped e3 on the validation split its reference was fitted on, scored as the stream scores it: the
        // threshold and the chosen density floor together count exactly the validation accuracy (up to ties).
        ModelBundle bundle = ModelBundle.load(RepoFiles.bundle("e3"));
        ReferenceDistributions ref = ReferenceDistributions.fromJson(bundle.manifest().referenceJson());
        DriftStats stats = new DriftStats(ref);
        try (E3Model model = E3Model.open(bundle, ExecutionOptions.cpu())) {
            Predictions validation = Predictions.of(model, FashionMnist.validation(FashionMnist.DEBIAN_DIR), 250);
            for (int i = 0; i < validation.count(); i++) {
                stats.add(validation.confidence()[i], validation.entropy()[i], validation.mutualInformation()[i],
                        validation.predicted()[i], false, validation.featureLogDensity()[i]);
            }
            assertEquals(validation.accuracy(), ref.accuracy(), 1e-12);
            assertEquals(ref.accuracy(), stats.snapshot().estimatedAccuracyAtc(), 2.0 / validation.count());
        }

        ReferenceDistributions withDensity = reference(RepoFiles.densityFixture());
        SignalReference density = withDensity.featureLogDensity().orElseThrow();
        DriftStats confidentButUnfamiliar = new DriftStats(withDensity);
        for (int i = 0; i < 1000; i++) {
            confidentButUnfamiliar.add(1.0, 0.0, 0.0, 0, false, density.quantile(0) - 10);
        }
        DriftSnapshot s = confidentButUnfamiliar.snapshot();
        assertEquals(1.0, s.estimatedAccuracy(), 1e-12, "mean confidence trusts the model blindly");
        assertEquals(0.0, s.estimatedAccuracyAtc(), 1e-12, "ATC with the density counts unfamiliar items wrong");
    }

    @Test
    void atcFittedWithTheDensityFloorEstimatesTheReferenceSplitsOwnAccuracy() {
        // A validation split whose least familiar items (lowest density) are among its most confident ones: the case
        // where a threshold fitted on confidence alone, with the floor applied afterwards, reads clean data low.
        int n = 10_000;
        Random random = new Random(11);
        double[] confidence = new double[n];
        double[] entropy = new double[n];
        double[] mi = new double[n];
        double[] density = new double[n];
        int[] predicted = new int[n];
        for (int i = 0; i < n; i++) {
            confidence[i] = 0.3 + 0.7 * random.nextDouble();
            density[i] = 10 + random.nextGaussian();
            entropy[i] = 1 - confidence[i];
            predicted[i] = i % 10;
        }
        for (int i = 0; i < n / 50; i++) {
            confidence[i] = 0.99 + 0.01 * random.nextDouble();
            density[i] = -100 - i;
        }
        double accuracy = 0.9;
        ReferenceDistributions fitted = ReferenceDistributions.fromSamples("validation", confidence, entropy, mi,
                predicted, density, 10, accuracy, null);
        ReferenceDistributions confidenceOnly = new ReferenceDistributions("validation", n, fitted.signals(),
                fitted.predictedClass(), fitted.meanConfidence(), accuracy, null);
        DriftStats withFit = new DriftStats(fitted);
        DriftStats withoutFit = new DriftStats(confidenceOnly);
        for (int i = 0; i < n; i++) {
            withFit.add(confidence[i], entropy[i], mi[i], predicted[i], false, density[i]);
            withoutFit.add(confidence[i], entropy[i], mi[i], predicted[i], false, density[i]);
        }
        assertEquals(accuracy, withFit.snapshot().estimatedAccuracyAtc(), 1.0 / n);
        assertTrue(withoutFit.snapshot().estimatedAccuracyAtc() < accuracy - 0.005,
                "the confidence-only threshold reads " + withoutFit.snapshot().estimatedAccuracyAtc());
        assertEquals(fitted, ReferenceDistributions.fromJson(fitted.toJson()), "model.json keeps the fitted threshold");
    }

    @Test
    void aReferenceWithoutTheDensityHasNoDensityPsiAndItemsWithoutADensityAreNotCounted() {
        DriftStats withoutDensity = new DriftStats(reference(RepoFiles.noDensityFixture()));
        withoutDensity.add(0.9, 0.3, 0.0, 1, false, 12.0);
        assertFalse(withoutDensity.snapshot().psi().containsKey(ReferenceDistributions.FEATURE_LOG_DENSITY));

        DriftStats mixed = new DriftStats(reference(RepoFiles.densityFixture()));
        SignalReference density = mixed.reference().featureLogDensity().orElseThrow();
        mixed.add(0.9, 0.3, 0.0, 1, false, Double.NaN);
        mixed.add(0.9, 0.3, 0.0, 1, false, density.quantile(0.5));
        DriftStats oneWithDensity = new DriftStats(mixed.reference());
        oneWithDensity.add(0.9, 0.3, 0.0, 1, false, density.quantile(0.5));
        assertEquals(oneWithDensity.snapshot().psi().get(ReferenceDistributions.FEATURE_LOG_DENSITY),
                mixed.snapshot().psi().get(ReferenceDistributions.FEATURE_LOG_DENSITY), 1e-12);
        // Merging is still exactly the union.
        DriftStats a = new DriftStats(mixed.reference());
        a.add(0.9, 0.3, 0.0, 1, false, Double.NaN);
        assertEquals(mixed, DriftStats.merge(a, oneWithDensity));
    }
}
