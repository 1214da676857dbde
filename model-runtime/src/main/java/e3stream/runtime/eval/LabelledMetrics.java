package e3stream.runtime.eval;

/**
 * Accuracy, NLL, ECE (equal-width confidence bins), Brier score and the reliability bins of labelled predictions.
 *
 * @param ece       expected calibration error: {@code sum_b (n_b / N) |accuracy_b - mean confidence_b|}
 * @param brier     {@code mean_i sum_c (p_ic - [c = y_i])^2}
 * @param binCount  images per confidence bin; bin b holds confidences in {@code (b/B, (b+1)/B]} (bin 0 includes 0)
 */
public record LabelledMetrics(int count, double accuracy, double nll, double ece, double brier, int[] binCount,
                              double[] binConfidence, double[] binAccuracy) {
    public static final int ECE_BINS = 15;

    public static LabelledMetrics of(Predictions p) {
        return of(p, ECE_BINS);
    }

    public static LabelledMetrics of(Predictions p, int bins) {
        int n = p.count();
        if (n == 0) {
            throw new IllegalArgumentException("no predictions in " + p.dataset());
        }
        int[] count = new int[bins];
        double[] confSum = new double[bins];
        double[] correctSum = new double[bins];
        double nll = 0;
        double brier = 0;
        int correct = 0;
        for (int i = 0; i < n; i++) {
            double conf = p.confidence()[i];
            boolean ok = p.correct(i);
            correct += ok ? 1 : 0;
            nll -= p.labelLogProbability()[i];
            double[] probs = p.probabilities()[i];
            for (int c = 0; c < probs.length; c++) {
                double d = probs[c] - (c == p.labels()[i] ? 1 : 0);
                brier += d * d;
            }
            int b = Math.min(bins - 1, Math.max(0, (int) Math.ceil(conf * bins) - 1));
            count[b]++;
            confSum[b] += conf;
            correctSum[b] += ok ? 1 : 0;
        }
        double ece = 0;
        double[] binConf = new double[bins];
        double[] binAcc = new double[bins];
        for (int b = 0; b < bins; b++) {
            binConf[b] = count[b] == 0 ? Double.NaN : confSum[b] / count[b];
            binAcc[b] = count[b] == 0 ? Double.NaN : correctSum[b] / count[b];
            if (count[b] > 0) {
                ece += Math.abs(correctSum[b] - confSum[b]) / n;
            }
        }
        return new LabelledMetrics(n, (double) correct / n, nll / n, ece, brier / n, count, binConf, binAcc);
    }
}
