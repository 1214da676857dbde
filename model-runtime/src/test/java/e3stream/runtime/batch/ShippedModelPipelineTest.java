package e3stream.runtime.batch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import e3stream.runtime.decode.DecodeLimits;
import e3stream.runtime.decode.ImageDecoder;
import e3stream.runtime.model.E3Model;
import e3stream.runtime.model.ExecutionOptions;
import e3stream.runtime.model.InputSpec;
import e3stream.runtime.model.ModelBundle;
import e3stream.runtime.testutils.RepoFiles;
import io.prometheus.client.CollectorRegistry;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;

/**
 * The runtime path a stream event takes, on the shipped e3 bundle: PNG bytes, {@link ImageDecoder} built from the
 * bundle's input spec, {@link DynamicBatcher} in front of the real {@link E3Model}; the result must equal the
 * PyTorch logits in golden.json.
 */
class ShippedModelPipelineTest {

    /** The bound of the model's own golden parity test (ONNX Runtime vs PyTorch, float32). */
    private static final double LOGIT_TOLERANCE = 1e-4;

    @Test
    void pngEventsDecodedAndBatchedGiveTheGoldenLogits() throws Exception {
        ModelBundle bundle = ModelBundle.load(RepoFiles.bundle("e3"));
        InputSpec input = bundle.manifest().input();
        JsonNode golden = new ObjectMapper().readTree(bundle.goldenPath().orElseThrow().toFile());
        ImageDecoder decoder = ImageDecoder.forInput(input, DecodeLimits.defaults());
        assertEquals(input.pixelsPerImage(), decoder.tensorSize());

        // golden inputs are normalised 8-bit images: recover the pixels, send them as PNG events
        int n = golden.get("inputs").size();
        List<float[]> decoded = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            JsonNode image = golden.get("inputs").get(i);
            BufferedImage png = new BufferedImage(input.width(), input.height(), BufferedImage.TYPE_BYTE_GRAY);
            for (int p = 0; p < input.pixelsPerImage(); p++) {
                long pixel = Math.round((image.get(p).asDouble() * input.std(0) + input.mean(0)) * 255);
                png.getRaster().setSample(p % input.width(), p / input.width(), 0, (int) pixel);
            }
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            ImageIO.write(png, "png", bytes);
            float[] tensor = decoder.decode(ImageDecoder.PNG, bytes.toByteArray(), null, null, null);
            for (int p = 0; p < tensor.length; p++) {
                assertEquals(image.get(p).asDouble(), tensor[p], 1e-4, "image " + i + " pixel " + p);
            }
            decoded.add(tensor);
        }

        CollectorRegistry registry = new CollectorRegistry();
        try (E3Model model = E3Model.open(bundle, ExecutionOptions.builder().intraOpThreads(1).build());
                DynamicBatcher<float[], float[][]> batcher = DynamicBatcher.<float[], float[][]>builder(images -> {
                    float[] stacked = new float[images.size() * input.pixelsPerImage()];
                    for (int i = 0; i < images.size(); i++) {
                        System.arraycopy(images.get(i), 0, stacked, i * input.pixelsPerImage(), input.pixelsPerImage());
                    }
                    return Arrays.asList(model.memberLogits(stacked, images.size()));
                }).name("e3").maxBatchSize(4).maxDelay(Duration.ofMillis(50)).registry(registry).build()) {
            List<CompletableFuture<float[][]>> results = new ArrayList<>();
            for (float[] tensor : decoded) {
                results.add(batcher.submit(tensor));
            }
            double worst = 0;
            for (int i = 0; i < n; i++) {
                float[][] logits = results.get(i).get(60, TimeUnit.SECONDS);
                JsonNode want = golden.get("member_logits").get(i);
                assertEquals(model.ensembleSize(), logits.length);
                for (int m = 0; m < logits.length; m++) {
                    for (int c = 0; c < logits[m].length; c++) {
                        worst = Math.max(worst, Math.abs(logits[m][c] - want.get(m).get(c).asDouble()));
                    }
                }
            }
            assertTrue(worst <= LOGIT_TOLERANCE, "max |batched ORT - PyTorch| = " + worst);
            assertEquals(n, registry.getSampleValue(BatcherMetrics.BATCH_SIZE + "_sum",
                    new String[] {BatcherMetrics.LABEL}, new String[] {"e3"}));
        }
    }
}
