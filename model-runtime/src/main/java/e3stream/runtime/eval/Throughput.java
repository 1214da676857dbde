package e3stream.runtime.eval;

import e3stream.runtime.Internal;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import e3stream.runtime.data.ImageSet;
import e3stream.runtime.model.E3Model;
import e3stream.runtime.session.Scorer;
import e3stream.runtime.session.TriageOverrides;

/**
 * Images per second of one model at batch sizes 1 and 32: ONNX Runtime inference plus the ensemble uncertainty of
 * every image, on inputs normalised beforehand, timed for a fixed wall-clock duration after a warm-up. Run on one
 * thread; the session's own intra-op threads are whatever {@link e3stream.runtime.model.ExecutionOptions} set.
 * {@link #measureInterleaved} times several models in alternating rounds, so a machine whose load changes during the
 * run slows every model alike and the ratios between models stay meaningful.
 */
@Internal
public final class Throughput {
    private Throughput() {
    }

    /** Measured images per second. */
    public record Result(double batch1, double batch32, double seconds, int availableProcessors, String device) {
        public ObjectNode toJson() {
            ObjectNode node = new ObjectMapper().createObjectNode();
            node.put("batch_1_images_per_second", batch1);
            node.put("batch_32_images_per_second", batch32);
            node.put("seconds_per_measurement", seconds);
            node.put("available_processors", availableProcessors);
            node.put("device", device);
            return node;
        }
    }

    public static Result measure(E3Model model, ImageSet images, double seconds) {
        return measureInterleaved(java.util.List.of(model), images, seconds, 1).get(0);
    }

    /**
     * Times every model in {@code rounds} alternating rounds of {@code seconds / rounds} per batch size each; a
     * model's rate is its images over its timed seconds summed over the rounds.
     */
    public static java.util.List<Result> measureInterleaved(java.util.List<E3Model> models, ImageSet images,
                                                            double seconds, int rounds) {
        double[][] totals = new double[models.size()][4]; // images@1, seconds@1, images@32, seconds@32
        for (int round = 0; round < rounds; round++) {
            for (int m = 0; m < models.size(); m++) {
                double[] one = timed(models.get(m), images, 1, seconds / rounds);
                double[] many = timed(models.get(m), images, 32, seconds / rounds);
                totals[m][0] += one[0];
                totals[m][1] += one[1];
                totals[m][2] += many[0];
                totals[m][3] += many[1];
            }
        }
        java.util.List<Result> results = new java.util.ArrayList<>();
        for (int m = 0; m < models.size(); m++) {
            results.add(new Result(totals[m][0] / totals[m][1], totals[m][2] / totals[m][3], seconds,
                    Runtime.getRuntime().availableProcessors(), models.get(m).device().name()));
        }
        return results;
    }

    /** Images processed and seconds taken, timed for about {@code seconds} after a short warm-up. */
    static double[] timed(E3Model model, ImageSet images, int batch, double seconds) {
        int batches = Math.max(1, Math.min(64, images.count() / batch));
        float[][] inputs = new float[batches][];
        for (int i = 0; i < batches; i++) {
            inputs[i] = images.normalised(i * batch, i * batch + batch, model.manifest().input());
        }
        Scorer math = Scorer.of(model.manifest(), TriageOverrides.NONE);
        double sink = 0;
        long warmEnd = System.nanoTime() + (long) (Math.min(1.0, seconds / 4) * 1e9);
        for (int i = 0; System.nanoTime() < warmEnd; i++) {
            sink += run(model, math, inputs[i % batches], batch);
        }
        long start = System.nanoTime();
        long end = start + (long) (seconds * 1e9);
        long done = 0;
        for (int i = 0; System.nanoTime() < end; i++) {
            sink += run(model, math, inputs[i % batches], batch);
            done += batch;
        }
        double elapsed = (System.nanoTime() - start) / 1e9;
        if (Double.isNaN(sink)) {
            throw new IllegalStateException("NaN confidence during the throughput run");
        }
        return new double[] {done, elapsed};
    }

    private static double run(E3Model model, Scorer math, float[] input, int batch) {
        float[][][] logits = model.memberLogits(input, batch);
        double sum = 0;
        for (float[][] image : logits) {
            sum += math.score(image).uncertainty().confidence();
        }
        return sum;
    }
}
