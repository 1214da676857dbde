package e3stream.runtime.eval;

import e3stream.runtime.Internal;

import e3stream.runtime.data.ImageSet;
import e3stream.runtime.model.BundleManifest;
import e3stream.runtime.model.E3Model;
import e3stream.runtime.model.ModelOutput;
import e3stream.runtime.session.Scored;
import e3stream.runtime.session.Scorer;
import e3stream.runtime.triage.TriageConfig;
import e3stream.runtime.uncertainty.Uncertainty;
import java.util.ArrayList;
import java.util.List;

/**
 * A model's ensemble predictions over an {@link ImageSet}, one row per image: probabilities (after the bundle's
 * temperature), predicted class, confidence, entropy, mutual information, whether the bundle's own triage policy
 * (model.json {@code triage}) sends the image to review, and the label. Scored with {@link Scorer}, as the stream scores. Arrays are owned by this object and handed out as-is for
 * speed: callers must not modify them. Immutable after construction and thread-safe.
 */
@Internal
public final class Predictions {
    private final String dataset;
    private final double[][] probabilities;
    private final int[] predicted;
    private final double[] confidence;
    private final double[] entropy;
    private final double[] mutualInformation;
    private final int[] labels;
    private final boolean[] reviewed;
    private final double[] featureLogDensity;

    private Predictions(String dataset, int n, int classes, int[] labels) {
        this.dataset = dataset;
        this.probabilities = new double[n][];
        this.predicted = new int[n];
        this.confidence = new double[n];
        this.entropy = new double[n];
        this.mutualInformation = new double[n];
        this.labels = labels;
        this.reviewed = new boolean[n];
        this.featureLogDensity = new double[n];
    }

    /**
     * Runs {@code model} over every image of {@code images} in batches of {@code batchSize}, normalising with the
     * bundle's input spec and applying its temperature.
     */
    public static Predictions of(E3Model model, ImageSet images, int batchSize) {
        return of(model, images, batchSize, model.manifest().temperature());
    }

    /** As {@link #of(E3Model, ImageSet, int)} with an explicit temperature (e.g. 1 for raw logits). */
    public static Predictions of(E3Model model, ImageSet images, int batchSize, double temperature) {
        return of(model.manifest(), run(model, images, batchSize), images, temperature);
    }

    /**
     * Scores outputs the bundle of {@code manifest} already gave for every image of {@code images} ({@link #run}) at
     * {@code temperature}, with the bundle's triage.
     */
    public static Predictions of(BundleManifest manifest, ModelOutput outputs, ImageSet images, double temperature) {
        if (outputs.batchSize() != images.count()) {
            throw new IllegalArgumentException(images.name() + ": " + outputs.batchSize() + " outputs for "
                    + images.count() + " images");
        }
        Scorer scorer = Scorer.of(manifest, temperature, TriageConfig.fromJson(manifest.triageJson()));
        int n = images.count();
        int classes = manifest.classes().size();
        Predictions p = new Predictions(images.name(), n, classes, images.labels());
        for (int i = 0; i < n; i++) {
            Scored scored = scorer.score(outputs.image(i));
            p.featureLogDensity[i] = scored.featureLogDensity();
            Uncertainty u = scored.uncertainty();
            p.probabilities[i] = u.probabilities();
            p.predicted[i] = u.classIndex();
            p.confidence[i] = u.confidence();
            p.entropy[i] = u.entropy();
            p.mutualInformation[i] = u.mutualInformation();
            p.reviewed[i] = !scored.accepted();
            int label = p.labels[i];
            if (label < 0 || label >= classes) {
                throw new IllegalArgumentException(images.name() + ": label " + label + " of image " + i
                        + " is outside 0.." + (classes - 1));
            }
        }
        return p;
    }

    /** Raw member logits {@code [N][M][C]} of every image of {@code images}, run in batches of {@code batchSize}. */
    public static float[][][] memberLogits(E3Model model, ImageSet images, int batchSize) {
        return run(model, images, batchSize).memberLogits();
    }

    /**
     * The model's output for every image of {@code images}, run in batches of {@code batchSize}: member logits
     * {@code [N][M][C]} and, when the bundle has the density output, the feature log densities {@code [N]}.
     */
    public static ModelOutput run(E3Model model, ImageSet images, int batchSize) {
        if (batchSize < 1) {
            throw new IllegalArgumentException("batchSize must be >= 1, got " + batchSize);
        }
        float[][][] out = new float[images.count()][][];
        float[] density = model.hasFeatureLogDensity() ? new float[images.count()] : null;
        for (int from = 0; from < images.count(); from += batchSize) {
            int to = Math.min(images.count(), from + batchSize);
            ModelOutput batch = model.run(images.normalised(from, to, model.manifest().input()), to - from);
            System.arraycopy(batch.memberLogits(), 0, out, from, batch.batchSize());
            if (density != null) {
                System.arraycopy(batch.featureLogDensity(), 0, density, from, batch.batchSize());
            }
        }
        return new ModelOutput(out, density);
    }

    /** {@code values} widened to doubles, or null for null. */
    public static double[] doubles(float[] values) {
        if (values == null) {
            return null;
        }
        double[] d = new double[values.length];
        for (int i = 0; i < values.length; i++) {
            d[i] = values[i];
        }
        return d;
    }

    /**
     * Several prediction sets as one stream (e.g. clean + corrupted + out-of-distribution), in order. Items of the
     * {@code unfamiliar} sets belong to none of the classes: they count as wrong whatever is predicted.
     */
    public static Predictions mixed(String name, List<Predictions> familiar, List<Predictions> unfamiliar) {
        List<Predictions> all = new ArrayList<>(familiar);
        all.addAll(unfamiliar);
        int n = all.stream().mapToInt(Predictions::count).sum();
        int[] labels = new int[n];
        Predictions m = new Predictions(name, n, 0, labels);
        int at = 0;
        for (int part = 0; part < all.size(); part++) {
            Predictions p = all.get(part);
            boolean outside = part >= familiar.size();
            for (int i = 0; i < p.count(); i++, at++) {
                m.probabilities[at] = p.probabilities[i];
                m.predicted[at] = p.predicted[i];
                m.confidence[at] = p.confidence[i];
                m.entropy[at] = p.entropy[i];
                m.mutualInformation[at] = p.mutualInformation[i];
                m.reviewed[at] = p.reviewed[i];
                m.featureLogDensity[at] = p.featureLogDensity[i];
                labels[at] = outside ? -1 : p.labels[i];
            }
        }
        return m;
    }

    public String dataset() {
        return dataset;
    }

    public int count() {
        return predicted.length;
    }

    public double[][] probabilities() {
        return probabilities;
    }

    public int[] predicted() {
        return predicted;
    }

    public double[] confidence() {
        return confidence;
    }

    public double[] entropy() {
        return entropy;
    }

    public double[] mutualInformation() {
        return mutualInformation;
    }

    /** Feature log density per image; NaN when the bundle has no density output. */
    public double[] featureLogDensity() {
        return featureLogDensity;
    }

    /** Whether the bundle gave these images a feature log density. */
    public boolean hasFeatureLogDensity() {
        return count() > 0 && !Double.isNaN(featureLogDensity[0]);
    }

    /** Error among the images the triage policy accepts (NaN when it accepts none). */
    public double acceptedError() {
        return 1 - acceptedAccuracy();
    }

    /** Whether the bundle's triage policy sends each image to review. */
    public boolean[] reviewed() {
        return reviewed;
    }

    /** Share of images the bundle's triage policy sends to review. */
    public double reviewRate() {
        int r = 0;
        for (boolean b : reviewed) {
            r += b ? 1 : 0;
        }
        return count() == 0 ? Double.NaN : (double) r / count();
    }

    /** Accuracy of the images the triage policy accepts (NaN when it accepts none). */
    public double acceptedAccuracy() {
        int accepted = 0;
        int correct = 0;
        for (int i = 0; i < count(); i++) {
            if (!reviewed[i]) {
                accepted++;
                correct += correct(i) ? 1 : 0;
            }
        }
        return accepted == 0 ? Double.NaN : (double) correct / accepted;
    }

    public int[] labels() {
        return labels;
    }

    public boolean correct(int i) {
        return predicted[i] == labels[i];
    }

    public double accuracy() {
        int correct = 0;
        for (int i = 0; i < count(); i++) {
            correct += correct(i) ? 1 : 0;
        }
        return count() == 0 ? Double.NaN : (double) correct / count();
    }
}
