package e3stream.runtime.eval;

import e3stream.runtime.Internal;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import e3stream.runtime.data.Corruption;
import e3stream.runtime.model.BundleManifest;
import e3stream.runtime.model.E3Model;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * Everything {@code evaluate} measures for one model: test-set accuracy, NLL, ECE, Brier; OOD AUROC of three
 * uncertainty scores; accuracy and NLL under every corruption and severity; FLOPs; throughput; and the raw material of
 * the report's plots (reliability bins, risk-coverage curve, confidence and mutual-information values per data set).
 */
@Internal
public final class ModelEvaluation {
    private static final ObjectMapper MAPPER = new ObjectMapper();

    private final BundleManifest manifest;
    private final LabelledMetrics test;
    private final double aurocMaxProb;
    private final double aurocEntropy;
    private final double aurocMutualInformation;
    private final Map<Corruption, LabelledMetrics[]> corruption;
    private final double[][] riskCoverage;
    private final double[] testConfidence;
    private final double[] oodConfidence;
    private final double[] corruptedConfidence;
    private final double[] testMi;
    private final double[] oodMi;
    private final double[] corruptedMi;
    private volatile Throughput.Result throughput;
    private final double[] triage;
    private final double aurocFeatureLogDensity;
    private final TriageUnderShift shift;

    /**
     * The bundle's triage policy where it matters: clean test data, each corruption severity (pooled over the
     * corruption types), MNIST digits, and a mixed stream of all of them.
     *
     * @param severityReviewRate        index s-1 for severity s
     * @param mnistReviewRate           share of MNIST digits sent to review (every accepted digit is an error)
     * @param mixedRiskCoverage         on the mixed stream (clean + corrupted + MNIST, MNIST counted wrong): points
     *                                  (share reviewed, accuracy of accepted), least confident reviewed first
     * @param mixedReviewRate           the policy's own operating point on the mixed stream ...
     * @param mixedAcceptedError        ... and its accepted-item error there
     */
    public record TriageUnderShift(double cleanReviewRate, double cleanAcceptedError, double[] severityReviewRate,
                                   double[] severityAcceptedError, double mnistReviewRate, int mixedCount,
                                   double[][] mixedRiskCoverage, double mixedReviewRate, double mixedAcceptedError) {
    }

    private ModelEvaluation(BundleManifest manifest, Predictions test, Predictions ood,
                            Map<Corruption, LabelledMetrics[]> corruption, double[] corruptedConfidence,
                            double[] corruptedMi, Throughput.Result throughput, double[] triage,
                            TriageUnderShift shift) {
        this.manifest = manifest;
        this.test = LabelledMetrics.of(test);
        this.aurocMaxProb = Auroc.of(Auroc.negate(ood.confidence()), Auroc.negate(test.confidence()));
        this.aurocEntropy = Auroc.of(ood.entropy(), test.entropy());
        this.aurocMutualInformation = Auroc.of(ood.mutualInformation(), test.mutualInformation());
        this.corruption = corruption;
        this.riskCoverage = RiskCoverage.curve(test, 51, 0.5);
        this.testConfidence = test.confidence();
        this.oodConfidence = ood.confidence();
        this.corruptedConfidence = corruptedConfidence;
        this.testMi = test.mutualInformation();
        this.oodMi = ood.mutualInformation();
        this.corruptedMi = corruptedMi;
        this.throughput = throughput;
        this.triage = triage;
        this.shift = shift;
        this.aurocFeatureLogDensity = test.hasFeatureLogDensity() && ood.hasFeatureLogDensity()
                ? Auroc.of(Auroc.negate(ood.featureLogDensity()), Auroc.negate(test.featureLogDensity())) : Double.NaN;
    }

    /**
     * Runs one model over all of {@code data}.
     *
     * @param throughputSeconds seconds to time each of batch 1 and 32; 0 skips the throughput measurement
     */
    public static ModelEvaluation run(E3Model model, EvaluationData data, int batchSize, double throughputSeconds) {
        Predictions test = Predictions.of(model, data.test(), batchSize);
        Predictions ood = Predictions.of(model, data.ood(), batchSize);
        Map<Corruption, LabelledMetrics[]> corruption = new EnumMap<>(Corruption.class);
        List<double[]> conf = new ArrayList<>();
        List<double[]> mi = new ArrayList<>();
        long corruptedReviewed = 0;
        long corruptedAccepted = 0;
        long corruptedAcceptedCorrect = 0;
        long[][] bySeverity = new long[Corruption.SEVERITIES][3]; // reviewed, accepted, accepted wrong
        List<Predictions> familiar = new ArrayList<>();
        familiar.add(test);
        for (EvaluationData.CorruptedSet set : data.corrupted()) {
            Predictions p = Predictions.of(model, set.images(), batchSize);
            familiar.add(p);
            corruption.computeIfAbsent(set.corruption(), c -> new LabelledMetrics[Corruption.SEVERITIES])
                    [set.severity() - 1] = LabelledMetrics.of(p);
            conf.add(p.confidence());
            mi.add(p.mutualInformation());
            long[] sev = bySeverity[set.severity() - 1];
            for (int i = 0; i < p.count(); i++) {
                if (p.reviewed()[i]) {
                    corruptedReviewed++;
                    sev[0]++;
                } else {
                    corruptedAccepted++;
                    corruptedAcceptedCorrect += p.correct(i) ? 1 : 0;
                    sev[1]++;
                    sev[2] += p.correct(i) ? 0 : 1;
                }
            }
        }
        double[] severityReview = new double[Corruption.SEVERITIES];
        double[] severityError = new double[Corruption.SEVERITIES];
        for (int s = 0; s < Corruption.SEVERITIES; s++) {
            long[] sev = bySeverity[s];
            severityReview[s] = sev[0] + sev[1] == 0 ? Double.NaN : (double) sev[0] / (sev[0] + sev[1]);
            severityError[s] = sev[1] == 0 ? Double.NaN : (double) sev[2] / sev[1];
        }
        Predictions mixed = Predictions.mixed("clean + corrupted + MNIST", familiar, List.of(ood));
        TriageUnderShift shift = new TriageUnderShift(test.reviewRate(), test.acceptedError(), severityReview,
                severityError, ood.reviewRate(), mixed.count(), RiskCoverage.curve(mixed, 21, 1.0),
                mixed.reviewRate(), mixed.acceptedError());
        double[] triage = {test.reviewRate(), test.acceptedAccuracy(), ood.reviewRate(),
            (double) corruptedReviewed / (corruptedReviewed + corruptedAccepted),
            corruptedAccepted == 0 ? Double.NaN : (double) corruptedAcceptedCorrect / corruptedAccepted};
        Throughput.Result speed = throughputSeconds > 0
                ? Throughput.measure(model, data.test(), throughputSeconds) : null;
        return new ModelEvaluation(model.manifest(), test, ood, corruption, concat(conf), concat(mi), speed, triage,
                shift);
    }

    private static double[] concat(List<double[]> parts) {
        int n = parts.stream().mapToInt(a -> a.length).sum();
        double[] out = new double[n];
        int at = 0;
        for (double[] a : parts) {
            System.arraycopy(a, 0, out, at, a.length);
            at += a.length;
        }
        return out;
    }

    public BundleManifest manifest() {
        return manifest;
    }

    public LabelledMetrics test() {
        return test;
    }

    public double aurocMaxProb() {
        return aurocMaxProb;
    }

    public double aurocEntropy() {
        return aurocEntropy;
    }

    public double aurocMutualInformation() {
        return aurocMutualInformation;
    }

    /** OOD AUROC of the feature log density (lower = more unfamiliar); NaN without the density output. */
    public double aurocFeatureLogDensity() {
        return aurocFeatureLogDensity;
    }

    public TriageUnderShift triageUnderShift() {
        return shift;
    }

    /** The best of the three OOD scores. */
    public double aurocBest() {
        return Math.max(aurocMaxProb, Math.max(aurocEntropy, aurocMutualInformation));
    }

    public Map<Corruption, LabelledMetrics[]> corruption() {
        return corruption;
    }

    /** Mean over corruption types of accuracy (or NLL) at one severity (1..5). */
    public double corruptedMean(int severity, boolean nll) {
        return corruption.values().stream().mapToDouble(m -> nll ? m[severity - 1].nll() : m[severity - 1].accuracy())
                .average().orElse(Double.NaN);
    }

    /** Mean over all corruption types and severities. */
    public double corruptedMean(boolean nll) {
        double sum = 0;
        for (int s = 1; s <= Corruption.SEVERITIES; s++) {
            sum += corruptedMean(s, nll);
        }
        return sum / Corruption.SEVERITIES;
    }

    public double[][] riskCoverage() {
        return riskCoverage;
    }

    public double[] testConfidence() {
        return testConfidence;
    }

    public double[] oodConfidence() {
        return oodConfidence;
    }

    public double[] corruptedConfidence() {
        return corruptedConfidence;
    }

    public double[] testMutualInformation() {
        return testMi;
    }

    public double[] oodMutualInformation() {
        return oodMi;
    }

    public double[] corruptedMutualInformation() {
        return corruptedMi;
    }

    /**
     * The bundle's own triage policy (model.json {@code triage}) on each data set: test review rate, test accepted
     * accuracy, MNIST review rate, corrupted review rate, corrupted accepted accuracy.
     */
    public double[] triage() {
        return triage.clone();
    }

    /** Sets the throughput measured after the evaluation (e.g. interleaved with other models). */
    public void attachThroughput(Throughput.Result measured) {
        this.throughput = measured;
    }

    /** Throughput, or null when it was not measured. */
    public Throughput.Result throughput() {
        return throughput;
    }

    /** The JSON of this model's figures (what {@code evaluation.json} holds per model). */
    public ObjectNode toJson() {
        ObjectNode json = MAPPER.createObjectNode();
        ObjectNode model = json.putObject("model");
        model.put("name", manifest.name());
        model.put("version", manifest.version());
        model.put("kind", manifest.architecture().kind());
        model.put("ensemble_size", manifest.architecture().ensembleSize());
        model.put("experts", manifest.architecture().experts());
        model.put("top_k", manifest.architecture().topK());
        model.putPOJO("moe_layers", manifest.architecture().moeLayers());
        model.put("temperature", manifest.temperature());
        model.put("sha256", manifest.sha256());
        json.put("flops_per_image", manifest.flopsPerImage());
        ObjectNode t = json.putObject("test");
        t.put("count", test.count());
        t.put("accuracy", test.accuracy());
        t.put("nll", test.nll());
        t.put("ece", test.ece());
        t.put("ece_bins", LabelledMetrics.ECE_BINS);
        t.put("adaptive_ece", test.adaptiveEce());
        t.put("brier", test.brier());
        t.put("accepted_accuracy_at_10pct_review", riskAt(0.1));
        ObjectNode ood = json.putObject("ood");
        ood.put("dataset", "mnist digits");
        ood.put("count", oodConfidence.length);
        ObjectNode auroc = ood.putObject("auroc");
        auroc.put("max_prob", aurocMaxProb);
        auroc.put("entropy", aurocEntropy);
        auroc.put("mutual_information", aurocMutualInformation);
        if (!Double.isNaN(aurocFeatureLogDensity)) {
            auroc.put("feature_log_density", aurocFeatureLogDensity);
        }
        ObjectNode c = json.putObject("corruption");
        c.put("images_per_set", corruptedConfidence.length / Math.max(1, corruption.size() * Corruption.SEVERITIES));
        ObjectNode perType = c.putObject("per_type");
        corruption.forEach((type, metrics) -> {
            ObjectNode node = perType.putObject(type.id());
            for (int s = 1; s <= Corruption.SEVERITIES; s++) {
                node.putObject(Integer.toString(s)).put("accuracy", metrics[s - 1].accuracy())
                        .put("nll", metrics[s - 1].nll()).put("parameter", type.parameter(s));
            }
        });
        ObjectNode perSeverity = c.putObject("per_severity");
        for (int s = 1; s <= Corruption.SEVERITIES; s++) {
            perSeverity.putObject(Integer.toString(s)).put("accuracy", corruptedMean(s, false))
                    .put("nll", corruptedMean(s, true));
        }
        c.putObject("mean").put("accuracy", corruptedMean(false)).put("nll", corruptedMean(true));
        ObjectNode tr = json.putObject("triage");
        tr.put("policy", "model.json triage section");
        tr.putObject("test").put("review_rate", triage[0]).put("accepted_accuracy", triage[1]);
        tr.putObject("ood").put("review_rate", triage[2]);
        tr.putObject("corrupted").put("review_rate", triage[3]).put("accepted_accuracy", triage[4]);
        ObjectNode sh = json.putObject("triage_under_shift");
        sh.put("policy", "model.json triage section");
        sh.putObject("clean").put("review_rate", shift.cleanReviewRate()).put("accepted_error", shift.cleanAcceptedError());
        ArrayNode sev = sh.putArray("corrupted_by_severity");
        for (int s = 0; s < Corruption.SEVERITIES; s++) {
            sev.addObject().put("severity", s + 1).put("review_rate", shift.severityReviewRate()[s])
                    .put("accepted_error", shift.severityAcceptedError()[s]);
        }
        sh.putObject("mnist").put("review_rate", shift.mnistReviewRate())
                .put("accepted_error", shift.mnistReviewRate() < 1 ? 1.0 : Double.NaN);
        ObjectNode mx = sh.putObject("mixed");
        mx.put("count", shift.mixedCount()).put("review_rate", shift.mixedReviewRate())
                .put("accepted_error", shift.mixedAcceptedError());
        ArrayNode rc = mx.putArray("risk_coverage");
        for (double[] point : shift.mixedRiskCoverage()) {
            rc.addObject().put("review_share", point[0]).put("accepted_accuracy", point[1]);
        }
        if (throughput != null) {
            json.set("throughput", throughput.toJson());
        }
        return json;
    }

    private double riskAt(double review) {
        for (double[] point : riskCoverage) {
            if (Math.abs(point[0] - review) < 1e-9) {
                return point[1];
            }
        }
        return Double.NaN;
    }
}
