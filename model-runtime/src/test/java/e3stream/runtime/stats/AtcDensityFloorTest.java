package e3stream.runtime.stats;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class AtcDensityFloorTest {
    private static final int N = 10_000;
    private static final double ACCURACY = 0.9;

    /** Clean validation items: densities 0..99.99 in even steps, confidence unrelated to density. */
    private static AtcDensityFloor.Items clean() {
        Random random = new Random(5);
        double[] confidence = new double[N];
        double[] density = new double[N];
        for (int i = 0; i < N; i++) {
            confidence[i] = 0.3 + 0.7 * random.nextDouble();
            density[i] = i / 100.0;
        }
        return new AtcDensityFloor.Items("validation", confidence, density, ACCURACY);
    }

    /** The reference built from those items, as calibrate builds it (threshold fitted at the default level). */
    private static ReferenceDistributions reference(AtcDensityFloor.Items clean) {
        return ReferenceDistributions.fromSamples("validation", clean.confidence(), clean.confidence(), new double[N],
                new int[N], clean.featureLogDensity(), 10, ACCURACY, null);
    }

    private static AtcDensityFloor.Items constant(String name, int n, double confidence, double density,
                                                  double accuracy) {
        double[] c = new double[n];
        double[] d = new double[n];
        Arrays.fill(c, confidence);
        Arrays.fill(d, density);
        return new AtcDensityFloor.Items(name, c, d, accuracy);
    }

    @Test
    void choosesTheLowestFloorThatCountsConfidentUnfamiliarMistakesAsWrong() {
        // A corruption whose items are all wrong yet confident, at a density between the clean 2 % and 3 % quantiles;
        // another whose items stay familiar and right. Floors at 0.1-2 % count the first as right (error 1); the 3 %
        // floor counts it wrong and keeps the second right (error 0), and 5 % does too, so the smaller level wins.
        AtcDensityFloor.Items clean = clean();
        ReferenceDistributions reference = reference(clean);
        SignalReference density = reference.featureLogDensity().orElseThrow();
        double between = (density.quantile(0.02) + density.quantile(0.03)) / 2;
        AtcDensityFloor.Choice choice = AtcDensityFloor.choose(reference, clean.confidence(), clean.featureLogDensity(),
                List.of(constant("unfamiliar", 500, 0.99, between, 0.0), constant("familiar", 500, 0.99, 50, 1.0)),
                AtcDensityFloor.LEVELS);

        assertEquals(0.03, choice.level());
        assertEquals(reference.withAtcDensityFloorLevel(0.03, clean.confidence(), clean.featureLogDensity()),
                choice.reference(), "the chosen reference holds the level and the threshold refitted with it");
        assertArrayEquals(AtcDensityFloor.LEVELS, choice.levels());
        assertArrayEquals(new double[] {0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.0, 0.0}, choice.meanAbsoluteError(), 1e-12);
        assertTrue(choice.describe().startsWith("ATC density floor: level 0.03 (mean |estimate - accuracy| over 2 "
                + "shifted validation sets: 0.001 0.5000,"), choice.describe());
    }

    @Test
    void theChosenLevelBecomesTheReferencesFloorWithItsThresholdRefittedSoCleanDataReadsItsOwnAccuracy() {
        AtcDensityFloor.Items clean = clean();
        ReferenceDistributions fitted = reference(clean);
        ReferenceDistributions withFloor = fitted.withAtcDensityFloorLevel(0.05, clean.confidence(),
                clean.featureLogDensity());

        assertEquals(0.01, fitted.atcDensityFloorLevel(), "bundles that name no level keep the default");
        assertEquals(0.05, withFloor.atcDensityFloorLevel());
        assertEquals(withFloor.featureLogDensity().orElseThrow().quantile(0.05), withFloor.atcDensityFloor());
        DriftStats stream = new DriftStats(withFloor);
        for (int i = 0; i < N; i++) {
            stream.add(clean.confidence()[i], 0, 0, 0, false, clean.featureLogDensity()[i]);
        }
        assertEquals(ACCURACY, stream.snapshot().estimatedAccuracyAtc(), 1.0 / N);
        // An item just below the 5 % floor counts as wrong even when fully confident.
        DriftStats one = new DriftStats(withFloor);
        one.add(1.0, 0, 0, 0, false, withFloor.atcDensityFloor() - 1e-6);
        assertEquals(0.0, one.snapshot().estimatedAccuracyAtc());
        assertEquals(withFloor, ReferenceDistributions.fromJson(withFloor.toJson()), "model.json keeps the level");
        assertEquals(0.05, withFloor.toJson().get("atc_density_floor_level").asDouble());
    }

    @Test
    void aLevelOutsideZeroToOneInModelJsonIsRefusedByName() {
        var json = reference(clean()).toJson();
        json.put("atc_density_floor_level", 1.5);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ReferenceDistributions.fromJson(json));
        assertTrue(e.getMessage().contains("reference.atc_density_floor_level"), e.getMessage());
    }
}
