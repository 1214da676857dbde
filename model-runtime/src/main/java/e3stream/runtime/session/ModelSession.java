package e3stream.runtime.session;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.UnaryOperator;

import e3stream.runtime.batch.BatchFunction;
import e3stream.runtime.batch.DynamicBatcher;
import e3stream.runtime.model.BundleManifest;
import e3stream.runtime.model.E3Model;
import e3stream.runtime.model.ModelBundle;
import e3stream.runtime.model.ModelOutput;
import e3stream.runtime.model.ModelOutput.ImageOutput;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A loaded model behind its dynamic batcher: the bundle is loaded and verified once, one ONNX Runtime session
 * ({@link E3Model}) runs it, and one {@link DynamicBatcher} forms batches in front of it.
 *
 * <pre>{@code
 * try (ModelSession session = ModelSession.open(spec)) {
 *     Scorer scorer = session.scorer(TriageOverrides.NONE);
 *     CompletableFuture<Scored> scored = session.score(tensor, scorer);
 * }
 * }</pre>
 *
 * <p>Ownership: the session owns the E3Model (native ONNX Runtime session) and the batcher (its worker thread, the
 * only thread that runs the model); {@link #close()} closes the batcher first, then the model. Futures complete on the
 * batcher's worker thread. Thread-safe. Usually shared through {@link SharedSessions}.
 */
public final class ModelSession implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(ModelSession.class);

    private final SessionSpec spec;
    private final E3Model model;
    private final DynamicBatcher<float[], ImageOutput> batcher;

    private ModelSession(SessionSpec spec, E3Model model, DynamicBatcher<float[], ImageOutput> batcher) {
        this.spec = spec;
        this.model = model;
        this.batcher = batcher;
    }

    /**
     * Loads the bundle (verified against the description's sha256), opens it on the spec's device and starts the
     * batcher.
     *
     * @throws e3stream.runtime.model.BundleException when the bundle is missing, invalid or not the described one
     * @throws e3stream.runtime.model.ModelException  when ONNX Runtime cannot run it on the requested device
     */
    public static ModelSession open(SessionSpec spec) {
        return open(spec, UnaryOperator.identity());
    }

    /** As {@link #open(SessionSpec)}, with the model's batch function wrapped (tests make it hang). */
    static ModelSession open(SessionSpec spec,
                             UnaryOperator<BatchFunction<float[], ImageOutput>> wrap) {
        ModelBundle bundle = spec.bundle().loadVerified();
        E3Model model = E3Model.open(bundle, spec.executionOptions());
        try {
            DynamicBatcher<float[], ImageOutput> batcher = DynamicBatcher.builder(wrap.apply(batchFunction(model)))
                    .name(model.manifest().name())
                    .maxBatchSize(spec.maxBatchSize())
                    .maxDelay(spec.maxDelay())
                    .queueCapacity(spec.queueCapacity())
                    .stallTimeout(spec.stallTimeout())
                    .build();
            LOG.info("opened model session {} on {} (batches of up to {}, {} ms delay)", bundle.manifest().name()
                    + " " + bundle.manifest().version(), model.device(), spec.maxBatchSize(), spec.maxDelay().toMillis());
            return new ModelSession(spec, model, batcher);
        } catch (RuntimeException e) {
            model.close();
            throw e;
        }
    }

    /**
     * The batch function of a model: stacks the images' CHW tensors into one NCHW batch, runs it and returns each
     * image's output (member logits {@code [M][C]}, feature log density when the bundle has it). The one place
     * tensors are stacked for the model.
     */
    public static BatchFunction<float[], ImageOutput> batchFunction(E3Model model) {
        int size = model.manifest().input().pixelsPerImage();
        return images -> {
            float[] stacked = new float[images.size() * size];
            for (int i = 0; i < images.size(); i++) {
                System.arraycopy(images.get(i), 0, stacked, i * size, size);
            }
            ModelOutput output = model.run(stacked, images.size());
            List<ImageOutput> out = new ArrayList<>(output.batchSize());
            for (int b = 0; b < output.batchSize(); b++) {
                out.add(output.image(b));
            }
            return out;
        };
    }

    /** A scorer for this session's bundle with a job's triage overrides. */
    public Scorer scorer(TriageOverrides overrides) {
        return Scorer.of(model.manifest(), overrides);
    }

    /** The model output of one normalised CHW image, once its batch has run. */
    public CompletableFuture<ImageOutput> run(float[] image) {
        return batcher.submit(image);
    }

    /** Member logits {@code [M][C]} of one normalised CHW image, once its batch has run. */
    public CompletableFuture<float[][]> memberLogits(float[] image) {
        return batcher.submit(image).thenApply(ImageOutput::memberLogits);
    }

    /** One normalised CHW image, batched, run and scored (scoring runs on the batcher's thread: it is cheap). */
    public CompletableFuture<Scored> score(float[] image, Scorer scorer) {
        return batcher.submit(image).thenApply(scorer::score);
    }

    public BundleManifest manifest() {
        return model.manifest();
    }

    public SessionSpec spec() {
        return spec;
    }

    /**
     * Whether this session still serves requests: its batcher is open, its worker thread alive and not hung (no
     * batch finished within the spec's stall timeout while images waited).
     */
    public boolean isHealthy() {
        return batcher.isServing();
    }

    /** For tests in this package that break the batcher on purpose. */
    DynamicBatcher<float[], ImageOutput> batcher() {
        return batcher;
    }

    /**
     * Closes the batcher (failing what still waits), then the ONNX Runtime session; when the batcher's worker is still
     * inside the model (hung, or past the shutdown timeout), the session is closed once it returns, never under it.
     */
    @Override
    public void close() {
        try {
            batcher.close();
        } finally {
            if (!batcher.workerStopped()) {
                LOG.warn("model session {} closed while its batcher's worker still runs a batch: its ONNX Runtime "
                        + "session stays open until the worker returns", model.manifest().name());
            }
            batcher.afterWorker(model::close);
        }
    }
}
