package e3stream.runtime.eval;

import e3stream.runtime.Internal;

import e3stream.runtime.stats.CalibrationStats;
import e3stream.runtime.stats.CalibrationStats.CalibrationSnapshot;
import e3stream.runtime.stats.CalibrationStats.ReliabilityBin;

/**
 * Accuracy, NLL, ECE (15 equal-width confidence bins), adaptive ECE, Brier score and the reliability bins of labelled
 * predictions, as computed by {@link CalibrationStats} (the same statistics the stream exports).
 *
 * @param binCount      images per confidence bin {@code ((b-1)/15, b/15]}
 * @param binConfidence mean confidence per bin (NaN when empty)
 * @param binAccuracy   accuracy per bin (NaN when empty)
 */
@Internal
public record LabelledMetrics(long count, double accuracy, double nll, double ece, double adaptiveEce, double brier,
                              long[] binCount, double[] binConfidence, double[] binAccuracy) {
    public static final int ECE_BINS = CalibrationStats.ECE_BINS;

    public static LabelledMetrics of(Predictions p) {
        if (p.count() == 0) {
            throw new IllegalArgumentException("no predictions in " + p.dataset());
        }
        CalibrationStats stats = new CalibrationStats(p.probabilities()[0].length);
        for (int i = 0; i < p.count(); i++) {
            stats.add(p.probabilities()[i], p.labels()[i], false);
        }
        CalibrationSnapshot s = stats.snapshot();
        int bins = s.reliability().size();
        long[] count = new long[bins];
        double[] conf = new double[bins];
        double[] acc = new double[bins];
        for (int b = 0; b < bins; b++) {
            ReliabilityBin bin = s.reliability().get(b);
            count[b] = bin.count();
            conf[b] = bin.meanConfidence();
            acc[b] = bin.accuracy();
        }
        return new LabelledMetrics(s.count(), s.accuracy(), s.nll(), s.ece(), s.adaptiveEce(), s.brier(), count, conf,
                acc);
    }
}
