package e3stream.pipeline.internal.stats;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.util.Random;
import java.util.Set;

import e3stream.pipeline.internal.events.ModelTag;
import e3stream.pipeline.internal.labels.LabelledPrediction;
import e3stream.runtime.stats.CalibrationStats;
import org.junit.jupiter.api.Test;

/** The shadow models' labelled figures of one window, as partials from subtasks merged in any order. */
class ShadowCalibrationsTest {

    private static final ModelTag OLD = new ModelTag("vmoe", "1", "vmoe 1");
    private static final ModelTag NEW = new ModelTag("vmoe", "2", "vmoe 2");

    private static LabelledPrediction item(Random random, ModelTag model) {
        double p = random.nextDouble();
        LabelledPrediction l = new LabelledPrediction("id", 0, new double[] {p, 1 - p}, random.nextBoolean(),
                random.nextInt(2), "source");
        l.shadowOf = model;
        return l;
    }

    @Test
    void partialsMergeToEachModelsOneAccumulatorFigures() {
        Random random = new Random(7);
        ShadowCalibrations first = new ShadowCalibrations(2);
        ShadowCalibrations second = new ShadowCalibrations(2);
        CalibrationStats oldAll = new CalibrationStats(2, 0);
        CalibrationStats newAll = new CalibrationStats(2, 0);
        for (int i = 0; i < 300; i++) {
            LabelledPrediction l = item(random, random.nextInt(3) == 0 ? NEW : OLD);
            (random.nextBoolean() ? first : second).add(l);
            (l.shadowOf == OLD ? oldAll : newAll).add(l.source, l.probabilities, l.label, l.reviewed);
        }
        ShadowCalibrations merged = new ShadowCalibrations(2).merge(first).merge(second);
        assertEquals(Set.of(OLD, NEW), merged.byModel().keySet());
        assertEquals(oldAll, merged.byModel().get(OLD));
        assertEquals(newAll, merged.byModel().get(NEW));
        assertEquals(300, merged.count());
        assertEquals(merged, new ShadowCalibrations(2).merge(second).merge(first), "in any order");
    }

    @Test
    void aMergeCopiesTheOtherSideSoLaterAddsDoNotLeakIntoIt() {
        Random random = new Random(8);
        ShadowCalibrations partial = new ShadowCalibrations(2).add(item(random, OLD));
        ShadowCalibrations merged = new ShadowCalibrations(2).merge(partial);
        merged.add(item(random, OLD));
        assertEquals(1, partial.count());
        assertNotEquals(partial, merged);
    }
}
