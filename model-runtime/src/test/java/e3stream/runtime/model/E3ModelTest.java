package e3stream.runtime.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import e3stream.runtime.testutils.RepoFiles;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class E3ModelTest {
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static ModelBundle bundle;
    private static E3Model model;

    @TempDir
    Path temp;

    @BeforeAll
    static void open() {
        bundle = ModelBundle.load(RepoFiles.bundle("e3"));
        model = E3Model.open(bundle, ExecutionOptions.builder().intraOpThreads(1).build());
    }

    @AfterAll
    static void close() {
        model.close();
    }

    private static float[] randomImages(int batch, long seed) {
        Random r = new Random(seed);
        float[] x = new float[batch * 784];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) r.nextGaussian();
        }
        return x;
    }

    @Test
    void opensFromAThreadWithASmallStack() throws Exception {
        // ONNX Runtime 1.29 overflowed a 1 MiB native stack while creating the session (SIGSEGV, the JVM gone):
        // a caller with a small stack, such as a stream task thread, must still be able to open a model.
        E3Model[] opened = new E3Model[1];
        Throwable[] failed = new Throwable[1];
        Thread caller = new Thread(null, () -> {
            try {
                opened[0] = E3Model.open(bundle, ExecutionOptions.cpu());
            } catch (Throwable t) {
                failed[0] = t;
            }
        }, "small-stack", 512 << 10);
        caller.start();
        caller.join();
        assertEquals(null, failed[0]);
        try (E3Model m = opened[0]) {
            assertEquals(3, m.memberLogits(randomImages(3, 2), 3).length);
        }
    }

    @Test
    void returnsOneRowOfLogitsPerImageAndMember() {
        float[][][] logits = model.memberLogits(randomImages(5, 1), 5);
        assertEquals(5, logits.length);
        assertEquals(bundle.manifest().architecture().ensembleSize(), logits[0].length);
        assertEquals(bundle.manifest().classes().size(), logits[0][0].length);
        assertEquals(ExecutionOptions.Device.CPU, model.device());
        // E3 members route through different expert groups, so their logits differ.
        assertTrue(logits[0][0][0] != logits[0][1][0]);
    }

    @Test
    void batchingDoesNotChangeAnImagesLogits() {
        float[] images = randomImages(4, 2);
        float[][][] batch = model.memberLogits(images, 4);
        float[] third = new float[784];
        System.arraycopy(images, 2 * 784, third, 0, 784);
        float[][][] single = model.memberLogits(third, 1);
        for (int m = 0; m < model.ensembleSize(); m++) {
            for (int c = 0; c < model.numClasses(); c++) {
                assertEquals(single[0][m][c], batch[2][m][c], 1e-4);
            }
        }
    }

    @Test
    void concurrentCallersGetTheSameAnswersAsSequentialOnes() throws Exception {
        List<float[]> inputs = new ArrayList<>();
        List<float[][][]> expected = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            inputs.add(randomImages(3, 100 + i));
            expected.add(model.memberLogits(inputs.get(i), 3));
        }
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<float[][][]>> futures = new ArrayList<>();
            for (int round = 0; round < 3; round++) {
                for (float[] in : inputs) {
                    futures.add(pool.submit(() -> model.memberLogits(in, 3)));
                }
            }
            for (int i = 0; i < futures.size(); i++) {
                float[][][] got = futures.get(i).get();
                float[][][] want = expected.get(i % inputs.size());
                for (int b = 0; b < 3; b++) {
                    for (int m = 0; m < model.ensembleSize(); m++) {
                        assertArrayEquals(want[b][m], got[b][m]);
                    }
                }
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void rejectsAnInputOfTheWrongSizeNamingTheExpectedShape() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> model.memberLogits(new float[784 * 2 + 1], 2));
        assertTrue(e.getMessage().contains("expects 2 x 784 = 1568 floats for a batch of 2 images [2,1,28,28], got "
                + "1569"), e.getMessage());
    }

    @Test
    void refusesUseAfterClose() {
        E3Model other = E3Model.open(bundle, ExecutionOptions.cpu());
        other.close();
        other.close();
        ModelException e = assertThrows(ModelException.class, () -> other.memberLogits(new float[784], 1));
        assertTrue(e.getMessage().contains("is closed"), e.getMessage());
    }

    @Test
    void cudaRequestedWithoutCudaFailsStartUpWithAClearMessage() {
        // This machine's ONNX Runtime is the CPU build: it has no CUDA execution provider.
        ExecutionOptions cuda = ExecutionOptions.builder().device(ExecutionOptions.Device.CUDA).cudaDeviceId(0).build();
        ModelException e = assertThrows(ModelException.class, () -> E3Model.open(bundle, cuda));
        String name = bundle.manifest().name() + " " + bundle.manifest().version();
        assertTrue(e.getMessage().startsWith("CUDA device 0 was requested for model " + name + " but cannot be used: "),
                e.getMessage());
        assertTrue(e.getMessage().contains("allowCpuFallback(true)"), e.getMessage());
        assertTrue(e.getMessage().contains("-Pgpu"), e.getMessage());
    }

    @Test
    void cudaWithExplicitCpuFallbackRunsOnTheCpuAndSaysWhy() {
        ExecutionOptions cuda = ExecutionOptions.builder().device(ExecutionOptions.Device.CUDA)
                .allowCpuFallback(true).build();
        float[] images = randomImages(2, 3);
        try (E3Model fallback = E3Model.open(bundle, cuda)) {
            assertEquals(ExecutionOptions.Device.CPU, fallback.device());
            assertTrue(fallback.fallbackReason().orElseThrow().contains("CUDA"));
            float[][][] got = fallback.memberLogits(images, 2);
            float[][][] want = model.memberLogits(images, 2);
            for (int b = 0; b < 2; b++) {
                for (int m = 0; m < model.ensembleSize(); m++) {
                    assertArrayEquals(want[b][m], got[b][m], 1e-5f);
                }
            }
        }
    }

    @Test
    void refusesAManifestWhoseInputNameDisagreesWithTheGraph() throws IOException {
        Path copy = RepoFiles.copyBundle("e3", temp.resolve("e3"));
        ObjectNode json = (ObjectNode) MAPPER.readTree(copy.resolve("model.json").toFile());
        ((ObjectNode) json.get("input")).put("name", "pixels");
        MAPPER.writeValue(copy.resolve("model.json").toFile(), json);
        BundleException e = assertThrows(BundleException.class,
                () -> E3Model.open(ModelBundle.load(copy), ExecutionOptions.cpu()));
        assertTrue(e.getMessage().contains("the ONNX graph has inputs [images] but model.json declares one input "
                + "'pixels'"), e.getMessage());
    }

    @Test
    void refusesAManifestWhoseEnsembleSizeDisagreesWithTheGraphsOutput() throws IOException {
        Path copy = RepoFiles.copyBundle("e3", temp.resolve("e3"));
        ObjectNode json = (ObjectNode) MAPPER.readTree(copy.resolve("model.json").toFile());
        int members = json.get("architecture").get("ensemble_size").asInt();
        ((ObjectNode) json.get("architecture")).put("ensemble_size", members * 2);
        MAPPER.writeValue(copy.resolve("model.json").toFile(), json);
        BundleException e = assertThrows(BundleException.class,
                () -> E3Model.open(ModelBundle.load(copy), ExecutionOptions.cpu()));
        assertTrue(e.getMessage().contains("output 'member_logits' has shape [?," + members + ",10] but model.json "
                + "implies [?," + members * 2 + ",10]"), e.getMessage());
    }
}
