package e3stream.runtime.session;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import e3stream.runtime.model.BundleDescription;
import e3stream.runtime.model.BundleException;
import e3stream.runtime.model.BundleManifest;
import e3stream.runtime.model.E3Model;
import e3stream.runtime.model.ExecutionOptions;
import e3stream.runtime.model.ModelBundle;
import e3stream.runtime.testutils.RepoFiles;
import e3stream.runtime.triage.TriageConfig;
import e3stream.runtime.triage.TriageDecision;
import e3stream.runtime.triage.TriagePolicy;
import e3stream.runtime.uncertainty.EnsembleUncertainty;
import e3stream.runtime.uncertainty.Uncertainty;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The one scoring path: member logits to uncertainty and decision, through a real session on the shipped e3. */
class ScorerTest {

    private static final BundleManifest E3 = ModelBundle.load(RepoFiles.bundle("e3")).manifest();

    @Test
    void scoringIsTheBundlesTemperatureThenItsTriagePolicy() {
        float[][] logits = {{2.0f, 0.5f, -1f, 0, 0, 0, 0, 0, 0, 0}, {1.5f, 1.0f, -1f, 0, 0, 0, 0, 0, 0, 0}};
        Scored scored = Scorer.of(E3, TriageOverrides.NONE).score(logits);
        Uncertainty expected = new EnsembleUncertainty(E3.temperature()).compute(logits);
        TriageDecision decision = new TriagePolicy(TriageConfig.fromJson(E3.triageJson())).decide(expected);
        assertEquals(expected, scored.uncertainty());
        assertEquals(decision.accepted(), scored.accepted());
        assertEquals(decision.reasons(), scored.decision().reasons());
        assertEquals(E3.classes().get(expected.classIndex()), scored.label());
        assertEquals(E3.sha256(), scored.model().sha256());
        assertEquals(E3.trainingCommit(), scored.model().trainingCommit());
    }

    @Test
    void typedOverridesReplaceOnlyTheRulesTheyName() {
        float[][] confident = new float[E3.architecture().ensembleSize()][E3.classes().size()];
        for (float[] member : confident) {
            member[3] = 30f;
        }
        assertTrue(Scorer.of(E3, TriageOverrides.NONE).score(confident).accepted());
        Scored strict = Scorer.of(E3, new TriageOverrides(1.0, null, null)).score(confident);
        assertFalse(strict.accepted(), "min_confidence 1 reviews everything short of certainty");
        assertEquals(List.of(TriageDecision.LOW_CONFIDENCE), strict.decision().reasons());
        TriageConfig bundle = TriageConfig.fromJson(E3.triageJson());
        TriageConfig overridden = new TriageOverrides(null, 0.5, null).applyTo(bundle);
        assertEquals(bundle.minConfidence(), overridden.minConfidence());
        assertEquals(0.5, overridden.maxEntropy());
        assertEquals(bundle.maxMutualInformation(), overridden.maxMutualInformation());
        assertThrows(IllegalArgumentException.class, () -> new TriageOverrides(1.5, null, null).applyTo(bundle));
    }

    @Test
    void aSessionScoresAnImageAsTheScorerScoresTheModelsLogits() throws Exception {
        ModelBundle bundle = ModelBundle.load(RepoFiles.bundle("e3"));
        float[] image = new float[E3.input().pixelsPerImage()];
        for (int i = 0; i < image.length; i++) {
            image[i] = (float) Math.sin(i * 0.37);
        }
        SessionSpec spec = new SessionSpec(BundleDescription.of(bundle), ExecutionOptions.Device.CPU, 0, 1, false, 4,
                Duration.ofMillis(1), 16, Duration.ZERO);
        Scorer scorer = Scorer.of(E3, TriageOverrides.NONE);
        try (ModelSession session = ModelSession.open(spec);
             E3Model direct = E3Model.open(bundle, ExecutionOptions.cpu())) {
            Scored viaSession = session.score(image, scorer).get(10, TimeUnit.SECONDS);
            Scored viaModel = scorer.score(direct.memberLogits(image, 1)[0]);
            assertEquals(viaModel.uncertainty(), viaSession.uncertainty());
            assertArrayEquals(viaModel.decision().predictionSet(), viaSession.decision().predictionSet());
        }
    }

    @Test
    void aSessionRefusesABundleWhoseModelChangedSinceTheJobWasBuilt(@TempDir java.nio.file.Path dir) throws Exception {
        java.nio.file.Path copy = RepoFiles.copyBundle("e3", dir.resolve("e3"));
        BundleDescription described = BundleDescription.load(copy);
        // Replace the copy with another bundle's files (a different, itself valid, model).
        for (String file : List.of(ModelBundle.MODEL_FILE, ModelBundle.MANIFEST_FILE)) {
            java.nio.file.Files.copy(RepoFiles.bundle("vit").resolve(file), copy.resolve(file),
                    java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        }
        BundleException refused = assertThrows(BundleException.class,
                () -> ModelSession.open(SessionSpec.cpu(described)));
        assertTrue(refused.getMessage().contains(described.manifest().sha256()), refused.getMessage());
    }
}
