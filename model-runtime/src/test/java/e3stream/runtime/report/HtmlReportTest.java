package e3stream.runtime.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import e3stream.runtime.data.IdxReader;
import e3stream.runtime.data.ImageSet;
import e3stream.runtime.eval.EvaluationData;
import e3stream.runtime.eval.ModelEvaluation;
import e3stream.runtime.model.E3Model;
import e3stream.runtime.model.ExecutionOptions;
import e3stream.runtime.model.ModelBundle;
import e3stream.runtime.testutils.RepoFiles;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;

class HtmlReportTest {
    @Test
    void everyPlotIsADecodablePngWithDrawnSeries() throws IOException {
        ImageSet test = IdxReader.read("test", RepoFiles.data("fashion-mnist-test-2000-images-idx3-ubyte.gz"),
                RepoFiles.data("fashion-mnist-test-2000-labels-idx1-ubyte.gz")).first(300);
        ImageSet ood = IdxReader.read("mnist", RepoFiles.data("mnist-500-images-idx3-ubyte.gz"),
                RepoFiles.data("mnist-500-labels-idx1-ubyte.gz")).first(200);
        ModelEvaluation result;
        try (E3Model model = E3Model.open(ModelBundle.load(RepoFiles.bundle("e3")), ExecutionOptions.cpu())) {
            result = ModelEvaluation.run(model, new EvaluationData(test, ood, 20, 1), 100, 0);
        }
        Map<String, byte[]> plots = HtmlReport.plots(List.of(result));
        assertEquals(List.of("risk-coverage", "corruption-severity", "review-under-shift", "mixed-stream-risk-coverage",
                "e3-reliability", "e3-confidence", "e3-mutual-information"), List.copyOf(plots.keySet()));
        for (Map.Entry<String, byte[]> plot : plots.entrySet()) {
            BufferedImage image = ImageIO.read(new ByteArrayInputStream(plot.getValue()));
            assertEquals(640, image.getWidth(), plot.getKey());
            int coloured = 0;
            for (int y = 0; y < image.getHeight(); y++) {
                for (int x = 0; x < image.getWidth(); x++) {
                    int rgb = image.getRGB(x, y);
                    int r = (rgb >> 16) & 0xff;
                    int g = (rgb >> 8) & 0xff;
                    int b = rgb & 0xff;
                    // Saturated pixels come only from data series (axes, grid and text are grey).
                    coloured += Math.max(r, Math.max(g, b)) - Math.min(r, Math.min(g, b)) > 60 ? 1 : 0;
                }
            }
            assertTrue(coloured > 300, plot.getKey() + " has only " + coloured + " coloured pixels");
        }
    }

    @Test
    void tickLabelsStayDistinctForSmallRanges() {
        assertEquals("0.0002", Chart.tick(0.0002, 0.001));
        assertEquals("0.84", Chart.tick(0.84, 0.2));
        assertEquals("0.18", Chart.tick(0.18, 0.9));
        assertEquals("3", Chart.tick(3, 5));
        assertEquals("2.0e-06", Chart.tick(2e-6, 1e-5));
    }
}
