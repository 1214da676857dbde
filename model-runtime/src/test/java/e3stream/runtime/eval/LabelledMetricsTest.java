package e3stream.runtime.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;

import e3stream.runtime.data.ImageSet;
import e3stream.runtime.model.E3Model;
import e3stream.runtime.model.ExecutionOptions;
import e3stream.runtime.model.ModelBundle;
import e3stream.runtime.testutils.RepoFiles;
import org.junit.jupiter.api.Test;

class LabelledMetricsTest {
    @Test
    void agreesWithADirectComputationOnTheShippedModelsPredictions() {
        ImageSet test = e3stream.runtime.data.IdxReader.read("t",
                RepoFiles.data("fashion-mnist-test-2000-images-idx3-ubyte.gz"),
                RepoFiles.data("fashion-mnist-test-2000-labels-idx1-ubyte.gz")).first(300);
        Predictions p;
        try (E3Model model = E3Model.open(ModelBundle.load(RepoFiles.bundle("e3")), ExecutionOptions.cpu())) {
            p = Predictions.of(model, test, 100);
        }
        LabelledMetrics m = LabelledMetrics.of(p);
        double nll = 0;
        double brier = 0;
        double[] conf = new double[15];
        double[] correct = new double[15];
        long[] count = new long[15];
        for (int i = 0; i < p.count(); i++) {
            double[] probs = p.probabilities()[i];
            nll -= Math.log(probs[p.labels()[i]]);
            for (int c = 0; c < probs.length; c++) {
                double d = probs[c] - (c == p.labels()[i] ? 1 : 0);
                brier += d * d;
            }
            int b = Math.max(0, (int) Math.ceil(p.confidence()[i] * 15) - 1);
            count[b]++;
            conf[b] += p.confidence()[i];
            correct[b] += p.correct(i) ? 1 : 0;
        }
        double ece = 0;
        for (int b = 0; b < 15; b++) {
            ece += Math.abs(correct[b] - conf[b]) / p.count();
            assertEquals(count[b], m.binCount()[b], "bin " + b);
        }
        assertEquals(p.accuracy(), m.accuracy(), 1e-12);
        assertEquals(nll / p.count(), m.nll(), 1e-9);
        assertEquals(brier / p.count(), m.brier(), 1e-9);
        assertEquals(ece, m.ece(), 1e-9);
        assertEquals(300, m.count());
    }
}
