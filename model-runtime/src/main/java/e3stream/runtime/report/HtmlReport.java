package e3stream.runtime.report;

import e3stream.runtime.Internal;

import com.fasterxml.jackson.databind.JsonNode;
import e3stream.runtime.data.Corruption;
import e3stream.runtime.eval.Histogram;
import e3stream.runtime.eval.LabelledMetrics;
import e3stream.runtime.eval.ModelEvaluation;
import e3stream.runtime.eval.Throughput;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The self-contained HTML evaluation report: the comparison table, a risk-coverage plot of every model, and per model
 * a reliability diagram, confidence and mutual-information histograms (test vs MNIST vs corrupted) and the accuracy
 * under each corruption. PNGs are embedded as base64 data URIs, so the file needs nothing else. Stateless.
 */
@Internal
public final class HtmlReport {
    private static final int HIST_BINS = 25;

    private HtmlReport() {
    }

    /** Every plot of the report by a file-friendly name, as PNG bytes (also used to inspect the plots). */
    public static Map<String, byte[]> plots(List<ModelEvaluation> results) {
        Map<String, byte[]> plots = new LinkedHashMap<>();
        plots.put("risk-coverage", riskCoverage(results));
        plots.put("corruption-severity", corruptionBySeverity(results));
        plots.put("review-under-shift", reviewUnderShift(results));
        plots.put("mixed-stream-risk-coverage", mixedRiskCoverage(results));
        for (ModelEvaluation r : results) {
            String name = r.manifest().name();
            plots.put(name + "-reliability", reliability(r));
            plots.put(name + "-confidence", histogram(r, false));
            plots.put(name + "-mutual-information", histogram(r, true));
        }
        return plots;
    }

    public static String render(List<ModelEvaluation> results, JsonNode evaluationJson) {
        Map<String, byte[]> plots = plots(results);
        StringBuilder h = new StringBuilder();
        h.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>E3 Stream evaluation</title>\n")
                .append("<style>body{font-family:sans-serif;max-width:1320px;margin:20px auto;color:#222}")
                .append("table{border-collapse:collapse;font-size:14px}td,th{border:1px solid #ccc;padding:4px 8px;")
                .append("text-align:right}th{background:#f2f2f2}td:first-child,th:first-child{text-align:left}")
                .append("img{margin:4px;border:1px solid #ddd}.note{color:#555;font-size:14px;max-width:1100px}")
                .append("</style></head><body>\n");
        h.append("<h1>E3 Stream &mdash; model evaluation</h1>\n");
        JsonNode data = evaluationJson.get("data");
        h.append("<p class=\"note\">Generated ").append(esc(evaluationJson.get("generated_at").asText()))
                .append(". In-distribution: ").append(data.get("test_count").asInt()).append(" ")
                .append(esc(data.get("test").asText())).append(" images. Out-of-distribution: ")
                .append(data.get("ood_count").asInt()).append(" ").append(esc(data.get("ood").asText()))
                .append(". Shift: ").append(Corruption.values().length).append(" corruption types &times; ")
                .append(Corruption.SEVERITIES).append(" severities of the first ")
                .append(data.get("corrupted_images_per_set").asInt()).append(" test images (seed ")
                .append(data.get("corruption_seed").asLong()).append(").</p>\n");
        h.append("<h2>How to read this</h2><ul class=\"note\">")
                .append("<li><b>Accuracy, NLL, ECE, Brier</b> on the test set: NLL and Brier reward honest probabilities;")
                .append(" ECE (15 bins) is the gap between confidence and accuracy. Lower is better for all three.</li>")
                .append("<li><b>OOD AUROC</b>: how well a score separates MNIST digits (never seen) from Fashion-MNIST;")
                .append(" 0.5 is chance, 1 is perfect. MP = max probability, H = entropy, MI = mutual information")
                .append(" (disagreement between members; always 0 for single models); FLD = the bundle's feature log")
                .append(" density, when it has that output.</li>")
                .append("<li><b>Triage under shift</b>: each model's own policy on clean, corrupted (by severity) and")
                .append(" MNIST data: the share sent to review and the error among what it accepts; the mixed stream")
                .append(" pools them all, MNIST digits counted as errors when accepted.</li>")
                .append("<li><b>Corrupted</b>: mean accuracy and NLL over every corruption type and severity.</li>")
                .append("<li><b>Risk-coverage</b>: send the least confident share of items to people; the curve is the")
                .append(" accuracy of what is accepted automatically.</li></ul>\n");
        h.append("<h2>Comparison</h2>\n").append(table(results));
        h.append("<h2>The shipped triage policy (model.json <code>triage</code>)</h2>\n").append(triageTable(results));
        h.append("<h2>Triage under shift</h2>\n").append(shiftTable(results));
        h.append("<h2>Triage and shift, all models</h2>\n");
        img(h, plots, "risk-coverage", "Risk-coverage curves");
        img(h, plots, "corruption-severity", "Accuracy by corruption severity");
        img(h, plots, "review-under-shift", "Share sent to review on clean, corrupted and MNIST data");
        img(h, plots, "mixed-stream-risk-coverage", "Risk-coverage on the mixed stream");
        for (ModelEvaluation r : results) {
            String name = r.manifest().name();
            h.append("<h2>").append(esc(name)).append(" (").append(esc(r.manifest().architecture().kind()))
                    .append(", M=").append(r.manifest().architecture().ensembleSize()).append(", T=")
                    .append(String.format(Locale.ROOT, "%.3f", r.manifest().temperature())).append(")</h2>\n");
            img(h, plots, name + "-reliability", "Reliability diagram of " + name);
            img(h, plots, name + "-confidence", "Confidence histograms of " + name);
            img(h, plots, name + "-mutual-information", "Mutual information histograms of " + name);
            h.append(corruptionTable(r));
        }
        h.append("</body></html>\n");
        return h.toString();
    }

    private static void img(StringBuilder h, Map<String, byte[]> plots, String key, String alt) {
        h.append("<img alt=\"").append(esc(alt)).append("\" src=\"data:image/png;base64,")
                .append(Base64.getEncoder().encodeToString(plots.get(key))).append("\">\n");
    }

    private static String table(List<ModelEvaluation> results) {
        StringBuilder t = new StringBuilder("<table><tr><th>model</th><th>kind</th><th>M</th><th>accuracy</th>"
                + "<th>NLL</th><th>ECE</th><th>Brier</th><th>AUROC MP</th><th>AUROC H</th><th>AUROC MI</th>"
                + "<th>corrupted acc</th><th>corrupted NLL</th><th>MFLOPs/image</th><th>images/s @1</th>"
                + "<th>images/s @32</th></tr>\n");
        for (ModelEvaluation r : results) {
            LabelledMetrics m = r.test();
            Throughput.Result s = r.throughput();
            t.append("<tr><td>").append(esc(r.manifest().name())).append("</td><td>")
                    .append(esc(r.manifest().architecture().kind())).append("</td><td>")
                    .append(r.manifest().architecture().ensembleSize()).append("</td>")
                    .append(td("%.4f", m.accuracy())).append(td("%.4f", m.nll())).append(td("%.4f", m.ece()))
                    .append(td("%.4f", m.brier())).append(td("%.4f", r.aurocMaxProb()))
                    .append(td("%.4f", r.aurocEntropy())).append(td("%.4f", r.aurocMutualInformation()))
                    .append(td("%.4f", r.corruptedMean(false))).append(td("%.4f", r.corruptedMean(true)))
                    .append(td("%.2f", r.manifest().flopsPerImage() / 1e6))
                    .append(s == null ? "<td>-</td><td>-</td>" : td("%.0f", s.batch1()) + td("%.0f", s.batch32()))
                    .append("</tr>\n");
        }
        return t.append("</table>\n").toString();
    }

    private static String triageTable(List<ModelEvaluation> results) {
        StringBuilder t = new StringBuilder("<table><tr><th>model</th><th>test: sent to review</th>"
                + "<th>test: accuracy of accepted</th><th>MNIST digits: sent to review</th>"
                + "<th>corrupted: sent to review</th><th>corrupted: accuracy of accepted</th></tr>\n");
        for (ModelEvaluation r : results) {
            double[] x = r.triage();
            t.append("<tr><td>").append(esc(r.manifest().name())).append("</td>").append(td("%.3f", x[0]))
                    .append(td("%.4f", x[1])).append(td("%.3f", x[2])).append(td("%.3f", x[3]))
                    .append(td("%.4f", x[4])).append("</tr>\n");
        }
        return t.append("</table>\n").toString();
    }

    private static String shiftTable(List<ModelEvaluation> results) {
        StringBuilder t = new StringBuilder("<table><tr><th>model</th><th>clean: review / accepted error</th>");
        for (int s = 1; s <= Corruption.SEVERITIES; s++) {
            t.append("<th>severity ").append(s).append(": review / accepted error</th>");
        }
        t.append("<th>MNIST digits: sent to review</th><th>mixed stream: review / accepted error</th></tr>\n");
        for (ModelEvaluation r : results) {
            ModelEvaluation.TriageUnderShift x = r.triageUnderShift();
            t.append("<tr><td>").append(esc(r.manifest().name())).append("</td>")
                    .append(td("%.3f", x.cleanReviewRate()).replace("</td>", " / " + fmt(x.cleanAcceptedError()) + "</td>"));
            for (int s = 0; s < Corruption.SEVERITIES; s++) {
                t.append(td("%.3f", x.severityReviewRate()[s])
                        .replace("</td>", " / " + fmt(x.severityAcceptedError()[s]) + "</td>"));
            }
            t.append(td("%.3f", x.mnistReviewRate())).append(td("%.3f", x.mixedReviewRate())
                    .replace("</td>", " / " + fmt(x.mixedAcceptedError()) + "</td>")).append("</tr>\n");
        }
        return t.append("</table>\n").toString();
    }

    private static String fmt(double v) {
        return String.format(Locale.ROOT, "%.4f", v);
    }

    static byte[] reviewUnderShift(List<ModelEvaluation> results) {
        double[] xs = {0, 1, 2, 3, 4, 5, 6};
        Chart chart = new Chart("Share sent to review: clean (0), corruption severity 1-5, MNIST digits (6)",
                "data (0 = clean test set, 1-5 = corruption severity, 6 = MNIST digits)", "share sent to review")
                .xRange(0, 6).yRange(0, 1).legendAt(Chart.Corner.TOP_LEFT);
        for (int i = 0; i < results.size(); i++) {
            ModelEvaluation.TriageUnderShift x = results.get(i).triageUnderShift();
            double[] ys = new double[7];
            ys[0] = x.cleanReviewRate();
            System.arraycopy(x.severityReviewRate(), 0, ys, 1, Corruption.SEVERITIES);
            ys[6] = x.mnistReviewRate();
            chart.line(results.get(i).manifest().name(), xs, ys, Chart.PALETTE[i % Chart.PALETTE.length]);
        }
        return chart.png();
    }

    static byte[] mixedRiskCoverage(List<ModelEvaluation> results) {
        Chart chart = new Chart("Mixed stream (clean + corrupted + MNIST counted wrong): accuracy of accepted items",
                "share of items sent to review (least confident first)", "accuracy of accepted items")
                .xRange(0, 1).yRange(0, 1).legendAt(Chart.Corner.BOTTOM_RIGHT);
        for (int i = 0; i < results.size(); i++) {
            double[][] curve = results.get(i).triageUnderShift().mixedRiskCoverage();
            chart.line(results.get(i).manifest().name(), column(curve, 0), column(curve, 1),
                    Chart.PALETTE[i % Chart.PALETTE.length]);
        }
        return chart.png();
    }

    private static String corruptionTable(ModelEvaluation r) {
        StringBuilder t = new StringBuilder("<table><tr><th>accuracy under corruption</th>");
        for (int s = 1; s <= Corruption.SEVERITIES; s++) {
            t.append("<th>severity ").append(s).append("</th>");
        }
        t.append("</tr>\n");
        r.corruption().forEach((c, m) -> {
            t.append("<tr><td>").append(c.id()).append("</td>");
            for (LabelledMetrics x : m) {
                t.append(td("%.3f", x.accuracy()));
            }
            t.append("</tr>\n");
        });
        t.append("<tr><th>mean</th>");
        for (int s = 1; s <= Corruption.SEVERITIES; s++) {
            t.append(td("%.3f", r.corruptedMean(s, false)));
        }
        return t.append("</tr></table>\n").toString();
    }

    private static String td(String format, double v) {
        return "<td>" + String.format(Locale.ROOT, format, v) + "</td>";
    }

    private static String esc(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }

    static byte[] riskCoverage(List<ModelEvaluation> results) {
        double lo = 1;
        for (ModelEvaluation r : results) {
            lo = Math.min(lo, r.riskCoverage()[0][1]);
        }
        lo = Math.max(0, Math.floor(lo * 20 - 1) / 20);
        Chart chart = new Chart("Risk-coverage: accuracy of accepted items vs share reviewed",
                "share of items sent to review (least confident first)", "accuracy of accepted items")
                .xRange(0, results.get(0).riskCoverage()[results.get(0).riskCoverage().length - 1][0])
                .yRange(lo, 1).legendAt(Chart.Corner.BOTTOM_RIGHT);
        for (int i = 0; i < results.size(); i++) {
            double[][] curve = results.get(i).riskCoverage();
            chart.line(results.get(i).manifest().name(), column(curve, 0), column(curve, 1),
                    Chart.PALETTE[i % Chart.PALETTE.length]);
        }
        return chart.png();
    }

    static byte[] corruptionBySeverity(List<ModelEvaluation> results) {
        double[] xs = {0, 1, 2, 3, 4, 5};
        double lo = 1;
        for (ModelEvaluation r : results) {
            lo = Math.min(lo, r.corruptedMean(Corruption.SEVERITIES, false));
        }
        Chart chart = new Chart("Accuracy under corruption by severity (mean over types)",
                "severity (0 = clean test set)", "accuracy").xRange(0, 5)
                .yRange(Math.max(0, Math.floor(lo * 10 - 0.5) / 10), 1).legendAt(Chart.Corner.TOP_RIGHT);
        for (int i = 0; i < results.size(); i++) {
            ModelEvaluation r = results.get(i);
            double[] ys = new double[6];
            ys[0] = r.test().accuracy();
            for (int s = 1; s <= 5; s++) {
                ys[s] = r.corruptedMean(s, false);
            }
            chart.line(r.manifest().name(), xs, ys, Chart.PALETTE[i % Chart.PALETTE.length]);
        }
        return chart.png();
    }

    static byte[] reliability(ModelEvaluation r) {
        LabelledMetrics m = r.test();
        int bins = m.binCount().length;
        double[] xs = {0, 1};
        double[] share = new double[bins];
        for (int b = 0; b < bins; b++) {
            share[b] = (double) m.binCount()[b] / m.count();
        }
        return new Chart(String.format(Locale.ROOT, "Reliability diagram: %s (test, %d bins, ECE %.4f)",
                r.manifest().name(), bins, m.ece()), "confidence", "accuracy in bin  /  share of images")
                .bars("accuracy per confidence bin", m.binAccuracy(), Chart.PALETTE[0], 0, 2)
                .bars("share of images in bin", share, new java.awt.Color(0xaaaaaa), 1, 2)
                .line("perfect calibration", xs, xs, java.awt.Color.BLACK, true)
                .legendAt(Chart.Corner.TOP_LEFT).png();
    }

    static byte[] histogram(ModelEvaluation r, boolean mutualInformation) {
        double[][] sets = mutualInformation
                ? new double[][] {r.testMutualInformation(), r.oodMutualInformation(), r.corruptedMutualInformation()}
                : new double[][] {r.testConfidence(), r.oodConfidence(), r.corruptedConfidence()};
        double lo = 0;
        double hi = 1;
        if (mutualInformation) {
            hi = 0;
            for (double[] s : sets) {
                hi = Math.max(hi, quantile(s, 0.99));
            }
            hi = hi <= 0 ? 1e-3 : hi;
        }
        String[] names = {"Fashion-MNIST test", "MNIST digits (OOD)", "corrupted test (all types, sev. 1-5)"};
        double ymax = 0;
        Histogram[] hs = new Histogram[3];
        for (int i = 0; i < 3; i++) {
            hs[i] = Histogram.of(sets[i], lo, hi, HIST_BINS);
            for (double f : hs[i].fractions()) {
                ymax = Math.max(ymax, f);
            }
        }
        String title = mutualInformation
                ? "Mutual information (epistemic, nats): " + r.manifest().name()
                : "Confidence (max probability): " + r.manifest().name();
        if (mutualInformation && r.manifest().architecture().ensembleSize() == 1) {
            title += " (single model: MI = 0)";
        }
        Chart chart = new Chart(title, mutualInformation ? "mutual information (nats; values above the 99th "
                + "percentile go in the last bin)" : "confidence", "share of images")
                .xRange(lo, hi).yRange(0, Math.min(1, Math.ceil(ymax * 1.1 * 20) / 20))
                // Confidence piles up on the right, mutual information on the left.
                .legendAt(mutualInformation ? Chart.Corner.TOP_RIGHT : Chart.Corner.TOP_LEFT);
        for (int i = 0; i < 3; i++) {
            chart.bars(names[i], hs[i].fractions(), Chart.PALETTE[i], i, 3);
        }
        return chart.png();
    }

    private static double quantile(double[] values, double q) {
        double[] sorted = values.clone();
        java.util.Arrays.sort(sorted);
        return sorted.length == 0 ? 0 : sorted[(int) Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
    }

    private static double[] column(double[][] rows, int c) {
        double[] out = new double[rows.length];
        for (int i = 0; i < rows.length; i++) {
            out[i] = rows[i][c];
        }
        return out;
    }
}
