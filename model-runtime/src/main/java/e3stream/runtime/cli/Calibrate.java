package e3stream.runtime.cli;

import e3stream.runtime.eval.Predictions;
import com.fasterxml.jackson.databind.node.ObjectNode;
import e3stream.runtime.data.Corruption;
import e3stream.runtime.data.Corruptions;
import e3stream.runtime.data.FashionMnist;
import e3stream.runtime.data.ImageSet;
import e3stream.runtime.model.BundleManifest;
import e3stream.runtime.model.E3Model;
import e3stream.runtime.model.ExecutionOptions;
import e3stream.runtime.model.BundleException;
import e3stream.runtime.model.ModelBundle;
import e3stream.runtime.model.ModelOutput;
import e3stream.runtime.triage.CalibrationGoal;
import e3stream.runtime.triage.CalibrationResult;
import e3stream.runtime.triage.ConformalConfig;
import e3stream.runtime.triage.ConformalMethod;
import e3stream.runtime.triage.ThresholdCalibrator;
import e3stream.runtime.triage.TriageDecision;
import e3stream.runtime.session.Scored;
import e3stream.runtime.stats.AtcDensityFloor;
import e3stream.runtime.session.Scorer;
import e3stream.runtime.uncertainty.Uncertainty;
import java.io.IOException;
import java.io.PrintStream;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * The {@code calibrate} command: runs a bundle over the Fashion-MNIST validation split (the last 5,000 of numpy's
 * {@code RandomState(0).permutation(60000)}, the images the models were not trained on), fits the temperature and
 * triage thresholds for a user goal with {@link ThresholdCalibrator}, writes them into the bundle's model.json (with
 * the drift reference recomputed at the new temperature; model.onnx and its sha256 untouched), prints the expected
 * review rate and accepted-item error on held-out validation data, and checks on the test split that the conformal
 * coverage holds.
 *
 * <pre>
 * bin/e3stream calibrate --bundle models/e3 --max-accepted-error 0.02
 * </pre>
 */
public final class Calibrate {
    static final String USAGE = """
            usage: Calibrate --bundle DIR (--max-accepted-error X | --max-review-rate Y) [options]
              --bundle DIR              model bundle folder whose model.json is rewritten
              --max-accepted-error X    goal: error among accepted items <= X (e.g. 0.02), reviewing as little as possible
              --max-review-rate Y       goal: share sent to review <= Y (e.g. 0.10), accepting as accurately as possible
              --fashion-mnist DIR       folder of the four Fashion-MNIST idx .gz files
                                        (default /usr/share/datasets/fashion-mnist)
              --test-images F --test-labels F
                                        idx files for the coverage check instead of the full test set
              --conformal lac|aps|none  conformal rule (default lac)
              --alpha A                 conformal miscoverage level (default 0.05: sets cover the true class 95%%)
              --mi-quantile Q|none      max_mutual_information = Q-quantile of validation MI (default 0.99)
              --max-entropy H           max_entropy in nats (default: not used)
              --density-false-alarm R|none  min_feature_log_density = R-quantile of validation feature log
                                        density, for bundles with the density output (default 0.05)
              --density-review-budget B|none  then raise min_feature_log_density while the calibration half's
                                        review rate stays <= B and the goal holds: review capacity the other
                                        rules leave goes to unfamiliar inputs (default none)
              --atc-shift-images N|none  choose the density quantile of ATC's floor on corrupted copies of the
                                        first N validation images, every corruption at every severity, for
                                        bundles with the density output (default 2000; none: 0.01)
              --seed N                  seed of the calibration/holdout halves and the corruptions (default 17)
              --batch-size N            inference batch size (default 256)
              --dry-run                 print the result without writing model.json
            """;

    private Calibrate() {
    }

    public static void main(String[] args) {
        CommandMain.run("calibrate", USAGE, args, Calibrate::run);
    }

    /** What the command did: the calibration and the coverage check on the test split. */
    public record Outcome(CalibrationResult calibration, TestCheck test, boolean written) {
    }

    /**
     * The fitted policy on the test split.
     *
     * @param coverageTolerance two standard deviations of the test coverage around its expectation: split conformal
     *                          guarantees {@code E[coverage] >= 1 - alpha} over calibration draws; for one calibration
     *                          set of {@code n} items coverage varies with variance about {@code alpha(1-alpha)/(n+2)},
     *                          and measuring it on {@code m} test items adds {@code alpha(1-alpha)/m}
     */
    public record TestCheck(int count, double reviewRate, double acceptedError, double conformalCoverage,
                            double targetCoverage, double meanSetSize, double coverageTolerance) {

        /** "holds", "holds within sampling noise" or "DOES NOT HOLD". */
        public String coverageVerdict() {
            if (conformalCoverage >= targetCoverage) {
                return "holds";
            }
            return conformalCoverage >= targetCoverage - coverageTolerance
                    ? String.format(Locale.ROOT, "holds within sampling noise (2 sd = %.4f)", coverageTolerance)
                    : "DOES NOT HOLD";
        }
    }

    public static Outcome run(String[] args, PrintStream out) throws IOException {
        CliArgs a = new CliArgs(args, Set.of("bundle", "max-accepted-error", "max-review-rate", "fashion-mnist",
                "test-images", "test-labels", "conformal", "alpha", "mi-quantile", "max-entropy", "seed",
                "batch-size", "density-false-alarm", "density-review-budget", "atc-shift-images"),
                Set.of("dry-run", "help"));
        if (a.has("help")) {
            out.println(USAGE);
            return null;
        }
        String bundleDir = a.get("bundle", null);
        if (bundleDir == null) {
            throw new CliArgs.UsageException("give the bundle to calibrate: --bundle DIR");
        }
        if (a.has("max-accepted-error") == a.has("max-review-rate")) {
            throw new CliArgs.UsageException("give exactly one goal: --max-accepted-error X or --max-review-rate Y");
        }
        CalibrationGoal goal = a.has("max-accepted-error")
                ? CalibrationGoal.maxAcceptedError(a.getDouble("max-accepted-error", 0))
                : CalibrationGoal.maxReviewRate(a.getDouble("max-review-rate", 0));
        String conformal = a.get("conformal", "lac");
        ConformalMethod method = "none".equals(conformal) ? null : ConformalMethod.parse(conformal);
        String miQuantile = a.get("mi-quantile", "0.99");
        int batch = a.positiveInt("batch-size", 256);
        int atcShiftImages = "none".equals(a.get("atc-shift-images", "2000")) ? 0
                : a.positiveInt("atc-shift-images", 2000);
        long seed = a.getInt("seed", 17);
        ThresholdCalibrator calibrator = ThresholdCalibrator.builder().goal(goal)
                .conformal(method, a.getDouble("alpha", 0.05))
                .mutualInformationQuantile("none".equals(miQuantile) ? null : a.getDouble("mi-quantile", 0.99))
                .maxEntropy(a.has("max-entropy") ? a.getDouble("max-entropy", 0) : null)
                .densityFalseAlarmRate("none".equals(a.get("density-false-alarm", "0.05")) ? null
                        : a.getDouble("density-false-alarm", 0.05))
                .densityReviewBudget("none".equals(a.get("density-review-budget", "none")) ? null
                        : a.getDouble("density-review-budget", 0))
                .seed(seed)
                .build();
        // The bundle before the data sets: a wrong folder is refused at once.
        ModelBundle bundle = ModelBundle.load(Path.of(bundleDir));
        ImageSet test = a.fashionMnistTest(); // before the validation split: its options may be a usage error
        ImageSet validation = FashionMnist.validation(a.fashionMnistDir());

        String shaBefore = ModelBundle.sha256(bundle.onnxPath());
        CalibrationResult result;
        TestCheck check;
        String atcLine = null;
        try (E3Model model = E3Model.open(bundle, ExecutionOptions.cpu())) {
            out.printf(Locale.ROOT, "calibrating %s %s on %d validation images for goal %s%n",
                    bundle.manifest().name(), bundle.manifest().version(), validation.count(), goal);
            ModelOutput scored = Predictions.run(model, validation, batch);
            result = calibrator.calibrate(scored.memberLogits(), validation.labels(),
                    Predictions.doubles(scored.featureLogDensity()));
            if (model.hasFeatureLogDensity() && atcShiftImages > 0) {
                AtcDensityFloor.Choice floor = chooseAtcDensityFloor(model, Predictions.of(model.manifest(), scored,
                        validation, result.temperature()), validation, atcShiftImages, seed, batch, result);
                result = result.withReference(floor.reference());
                atcLine = floor.describe();
            }
            check = checkOnTest(model, test, batch, result);
        }
        out.print(result.summary());
        if (atcLine != null) {
            out.println(atcLine);
        }
        out.printf(Locale.ROOT, "test split (%d images): review rate %.4f, accepted-item error %.4f", check.count(),
                check.reviewRate(), check.acceptedError());
        if (!Double.isNaN(check.conformalCoverage())) {
            out.printf(Locale.ROOT, ", conformal coverage %.4f (guarantee: >= %.4f in expectation) %s, mean set size "
                    + "%.3f", check.conformalCoverage(), check.targetCoverage(), check.coverageVerdict(),
                    check.meanSetSize());
        }
        out.println();

        boolean write = !a.has("dry-run");
        if (write) {
            ObjectNode json = bundle.manifest().toJson();
            result.applyTo(json);
            BundleManifest updated = BundleManifest.fromJson(json, bundle.manifestPath().toString());
            updated.write(bundle.manifestPath());
            // The model file is untouched, so the bundle must still verify against the sha256 in model.json.
            ModelBundle reloaded = ModelBundle.load(bundle.directory());
            if (!reloaded.manifest().sha256().equals(shaBefore)) {
                throw new IllegalStateException("model.json sha256 changed during calibration; restore it from git");
            }
            out.println("wrote temperature, triage and reference into " + bundle.manifestPath());
        } else {
            out.println("dry run: " + bundle.manifestPath() + " not changed");
        }
        return new Outcome(result, check, write);
    }

    /**
     * The ATC density floor level of {@link AtcDensityFloor#LEVELS} that estimates the accuracy of corrupted copies of
     * the first {@code images} validation images best, scored at the fitted temperature ({@code clean}: the whole
     * validation split so scored).
     */
    static AtcDensityFloor.Choice chooseAtcDensityFloor(E3Model model, Predictions clean, ImageSet validation,
                                                        int images, long seed, int batch, CalibrationResult result) {
        ImageSet base = validation.first(Math.min(images, validation.count()));
        List<AtcDensityFloor.Items> shifted = new ArrayList<>();
        for (Corruption corruption : Corruption.values()) {
            for (int severity = 1; severity <= Corruption.SEVERITIES; severity++) {
                Predictions p = Predictions.of(model, Corruptions.apply(base, corruption, severity, seed + severity),
                        batch, result.temperature());
                shifted.add(new AtcDensityFloor.Items(corruption.id() + "-" + severity, p.confidence(),
                        p.featureLogDensity(), p.accuracy()));
            }
        }
        return AtcDensityFloor.choose(result.reference(), clean.confidence(), clean.featureLogDensity(), shifted,
                AtcDensityFloor.LEVELS);
    }

    /** Applies the fitted temperature and triage to the test split. */
    static TestCheck checkOnTest(E3Model model, ImageSet test, int batch, CalibrationResult result) {
        Scorer scorer = Scorer.of(model.manifest(), result.temperature(), result.triage());
        // The scorer's decision holds the conformal set when the policy has one (TriagePolicy computes it).
        ConformalConfig conformal = result.triage().conformal();
        ModelOutput outputs = Predictions.run(model, test, batch);
        int reviewed = 0;
        int acceptedWrong = 0;
        int covered = 0;
        long setSizes = 0;
        for (int i = 0; i < outputs.batchSize(); i++) {
            Scored scored = scorer.score(outputs.image(i));
            Uncertainty u = scored.uncertainty();
            TriageDecision d = scored.decision();
            if (d.accepted()) {
                acceptedWrong += u.classIndex() != test.label(i) ? 1 : 0;
            } else {
                reviewed++;
            }
            if (conformal != null) {
                int[] set = d.predictionSet();
                setSizes += set.length;
                for (int c : set) {
                    covered += c == test.label(i) ? 1 : 0;
                }
            }
        }
        int n = outputs.batchSize();
        int accepted = n - reviewed;
        double alpha = conformal == null ? Double.NaN : conformal.alpha();
        double tolerance = 2 * Math.sqrt(alpha * (1 - alpha) * (1.0 / (result.calibration().count() + 2) + 1.0 / n));
        return new TestCheck(n, (double) reviewed / n, accepted == 0 ? Double.NaN : (double) acceptedWrong / accepted,
                conformal == null ? Double.NaN : (double) covered / n,
                conformal == null ? Double.NaN : 1 - conformal.alpha(),
                conformal == null ? Double.NaN : (double) setSizes / n, tolerance);
    }

}
