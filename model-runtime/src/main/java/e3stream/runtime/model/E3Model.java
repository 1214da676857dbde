package e3stream.runtime.model;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtProvider;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import ai.onnxruntime.ValueInfo;
import java.nio.FloatBuffer;
import java.util.Arrays;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.locks.ReadWriteLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One ONNX Runtime session running a verified {@link ModelBundle}: normalised images in, per-member logits out.
 *
 * <p>Opening validates the graph against model.json: exactly one input named {@code input.name} of float32
 * {@code [?, C, H, W]} and an output {@code output.name} of float32 {@code [?, M, classes]}; a one-image probe run
 * checks the concrete output shape, since exported graphs often leave M symbolic.
 *
 * <p>Thread-safety: {@link #memberLogits} may be called from many threads at once (ONNX Runtime sessions are
 * thread-safe for {@code run}). {@link #close()} waits for running calls to finish; calls after close fail with
 * {@link ModelException}. The caller that opened the model owns it and closes it.
 *
 * <pre>{@code
 * try (E3Model model = E3Model.open(ModelBundle.load(dir), ExecutionOptions.cpu())) {
 *     float[][][] logits = model.memberLogits(images, batch); // [B][M][C]
 * }
 * }</pre>
 */
public final class E3Model implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(E3Model.class);

    /**
     * The optional second output: the members' combined feature log density, float32 [B] (docs/design.md, "The model
     * bundle").
     */
    public static final String DENSITY_OUTPUT = "feature_log_density";

    private final ModelBundle bundle;
    private final BundleManifest manifest;
    private final OrtEnvironment env;
    private final OrtSession session;
    private final ExecutionOptions.Device device;
    private final String fallbackReason;
    private final int members;
    private final int classes;
    private final int pixels;
    private boolean hasDensity; // set once by validateGraph, before the model is handed out
    private final ReadWriteLock lock = new ReentrantReadWriteLock();
    private boolean closed;

    private E3Model(ModelBundle bundle, OrtEnvironment env, OrtSession session, ExecutionOptions.Device device,
                    String fallbackReason) {
        this.bundle = bundle;
        this.manifest = bundle.manifest();
        this.env = env;
        this.session = session;
        this.device = device;
        this.fallbackReason = fallbackReason;
        this.members = manifest.architecture().ensembleSize();
        this.classes = manifest.classes().size();
        this.pixels = manifest.input().pixelsPerImage();
    }

    /**
     * Starts a session for the bundle with the given execution options and validates it against model.json.
     *
     * @throws ModelException when the requested device cannot be used (and CPU fallback was not allowed) or ONNX
     *                        Runtime cannot load the graph
     * @throws BundleException when the graph's inputs/outputs disagree with model.json
     */
    public static E3Model open(ModelBundle bundle, ExecutionOptions options) {
        return onLargeStack(() -> openHere(bundle, options));
    }

    private static E3Model openHere(ModelBundle bundle, ExecutionOptions options) {
        BundleManifest m = bundle.manifest();
        String what = m.name() + " " + m.version();
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        ExecutionOptions.Device device = options.device();
        String fallbackReason = null;
        OrtSession session = null;
        if (device == ExecutionOptions.Device.CUDA) {
            try {
                session = createSession(env, bundle, options, true);
            } catch (CudaUnavailable e) {
                String message = "CUDA device " + options.cudaDeviceId() + " was requested for model " + what
                        + " but cannot be used: " + e.getMessage();
                if (!options.allowCpuFallback()) {
                    throw new ModelException(message + ". Run with the onnxruntime_gpu build (Maven profile -Pgpu) on "
                            + "a machine with CUDA 12 and cuDNN 9, request the CPU device, or allow CPU fallback "
                            + "explicitly (ExecutionOptions.builder().allowCpuFallback(true))", e.getCause());
                }
                LOG.warn("{}; running on the CPU because CPU fallback was allowed", message);
                fallbackReason = e.getMessage();
                device = ExecutionOptions.Device.CPU;
            }
        }
        if (session == null) {
            try {
                session = createSession(env, bundle, options, false);
            } catch (CudaUnavailable e) {
                throw new IllegalStateException("unreachable: CPU sessions do not touch CUDA", e);
            }
        }
        E3Model model = new E3Model(bundle, env, session, device, fallbackReason);
        try {
            model.validateGraph();
            model.probe();
        } catch (RuntimeException e) {
            model.close();
            throw e;
        }
        return model;
    }

    /** CUDA could not be enabled; the message says why. */
    private static final class CudaUnavailable extends Exception {
        private static final long serialVersionUID = 1L;

        CudaUnavailable(String message, Throwable cause) {
            super(message, cause);
        }
    }

    private static OrtSession createSession(OrtEnvironment env, ModelBundle bundle, ExecutionOptions options,
                                            boolean cuda) throws CudaUnavailable {
        String what = bundle.manifest().name() + " " + bundle.manifest().version();
        try (OrtSession.SessionOptions so = new OrtSession.SessionOptions()) {
            if (options.intraOpThreads() > 0) {
                so.setIntraOpNumThreads(options.intraOpThreads());
            }
            if (!options.intraOpSpinning()) {
                so.addConfigEntry("session.intra_op.allow_spinning", "0");
            }
            if (cuda) {
                if (!OrtEnvironment.getAvailableProviders().contains(OrtProvider.CUDA)) {
                    throw (new CudaUnavailable("this ONNX Runtime build has no CUDA execution provider "
                            + "(available: " + OrtEnvironment.getAvailableProviders() + ")", null));
                }
                try {
                    so.addCUDA(options.cudaDeviceId());
                } catch (OrtException e) {
                    throw (new CudaUnavailable("enabling the CUDA execution provider failed: " + e.getMessage(), e));
                }
            }
            try {
                return env.createSession(bundle.onnxPath().toString(), so);
            } catch (OrtException e) {
                if (cuda) {
                    throw (new CudaUnavailable("creating a CUDA session failed: " + e.getMessage(), e));
                }
                throw new ModelException("ONNX Runtime cannot load " + bundle.onnxPath() + " of model " + what + ": "
                        + e.getMessage() + "; re-export the bundle", e);
            }
        } catch (OrtException e) {
            throw new ModelException("ONNX Runtime session options for model " + what + " failed: " + e.getMessage(), e);
        }
    }

    /** Native stack for opening a model: ONNX Runtime 1.29 needs more than a default 1 MiB Java thread stack. */
    private static final long OPEN_STACK_BYTES = 16L << 20;

    /**
     * Runs {@code open} on a short-lived thread of its own with a 16 MiB stack, owned and joined here. Creating the
     * session and its first run (the probe) with ONNX Runtime 1.29 overflowed the native stack of a default-sized
     * (1 MiB) Java thread: the embedded demo's JVM died of SIGSEGV, without an hs_err file, while opening models/e3
     * (1.23.2 did not); on a thread with a 4 MiB stack or more it succeeds, and later runs need no such stack.
     */
    private static E3Model onLargeStack(java.util.function.Supplier<E3Model> open) {
        E3Model[] model = new E3Model[1];
        Throwable[] failure = new Throwable[1];
        Thread opener = new Thread(null, () -> {
            try {
                model[0] = open.get();
            } catch (RuntimeException | Error e) {
                failure[0] = e;
            }
        }, "e3-model-open", OPEN_STACK_BYTES);
        opener.setDaemon(true);
        opener.start();
        boolean interrupted = false;
        while (true) {
            try {
                opener.join();
                break;
            } catch (InterruptedException e) {
                interrupted = true; // native code is opening the model: wait for it, then restore the flag
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        if (failure[0] instanceof RuntimeException e) {
            throw e;
        } else if (failure[0] instanceof Error e) {
            throw e;
        }
        return model[0];
    }

    private void validateGraph() {
        String where = "model " + manifest.name() + " " + manifest.version() + " (" + bundle.onnxPath() + ")";
        InputSpec in = manifest.input();
        try {
            Map<String, NodeInfo> inputs = session.getInputInfo();
            if (inputs.size() != 1 || !inputs.containsKey(in.name())) {
                throw new BundleException(where + ": the ONNX graph has inputs " + inputs.keySet()
                        + " but model.json declares one input '" + in.name() + "'; re-export the bundle");
            }
            checkTensor(where, "input", in.name(), inputs.get(in.name()).getInfo(),
                    new long[] {-1, in.channels(), in.height(), in.width()});
            Map<String, NodeInfo> outputs = session.getOutputInfo();
            if (!outputs.containsKey(manifest.outputName())) {
                throw new BundleException(where + ": the ONNX graph has outputs " + outputs.keySet()
                        + " but model.json declares output '" + manifest.outputName() + "'; re-export the bundle");
            }
            checkTensor(where, "output", manifest.outputName(), outputs.get(manifest.outputName()).getInfo(),
                    new long[] {-1, members, classes});
            hasDensity = outputs.containsKey(DENSITY_OUTPUT);
            if (hasDensity) {
                checkTensor(where, "output", DENSITY_OUTPUT, outputs.get(DENSITY_OUTPUT).getInfo(), new long[] {-1});
            }
        } catch (OrtException e) {
            throw new ModelException(where + ": cannot read the graph's inputs/outputs: " + e.getMessage(), e);
        }
    }

    /** Checks type and rank, and each dimension the graph fixes; -1 in {@code expected} means "any". */
    private static void checkTensor(String where, String role, String name, ValueInfo info, long[] expected) {
        if (!(info instanceof TensorInfo tensor) || tensor.type != OnnxJavaType.FLOAT) {
            throw new BundleException(where + ": " + role + " '" + name + "' is " + info + ", expected a float32 tensor");
        }
        long[] shape = tensor.getShape();
        boolean ok = shape.length == expected.length;
        for (int i = 0; ok && i < shape.length; i++) {
            ok = shape[i] < 0 || expected[i] < 0 || shape[i] == expected[i];
        }
        if (!ok) {
            throw new BundleException(where + ": " + role + " '" + name + "' has shape " + describe(shape)
                    + " but model.json implies " + describe(expected) + "; re-export the bundle or fix model.json");
        }
    }

    private static String describe(long[] shape) {
        StringBuilder sb = new StringBuilder("[");
        for (int i = 0; i < shape.length; i++) {
            sb.append(i > 0 ? "," : "").append(shape[i] < 0 ? "?" : Long.toString(shape[i]));
        }
        return sb.append(']').toString();
    }

    /** Runs one zero image to check the concrete output shape (M and classes are often symbolic in the graph). */
    private void probe() {
        memberLogits(new float[pixels], 1);
    }

    /**
     * Runs the model on a batch.
     *
     * @param images    {@code batchSize * C * H * W} normalised floats, NCHW (see {@link InputSpec})
     * @param batchSize images in the batch, >= 1
     * @return raw member logits {@code [batchSize][M][classes]} (before temperature)
     * @throws IllegalArgumentException when {@code images} does not hold exactly {@code batchSize} images
     * @throws ModelException           when ONNX Runtime fails or the model is closed
     */
    public float[][][] memberLogits(float[] images, int batchSize) {
        return run(images, batchSize).memberLogits();
    }

    /**
     * Runs the model on a batch: member logits and, when the graph has the optional {@value #DENSITY_OUTPUT}
     * output, each image's feature log density.
     *
     * @see #memberLogits(float[], int) for the arguments and failures
     */
    public ModelOutput run(float[] images, int batchSize) {
        if (batchSize < 1) {
            throw new IllegalArgumentException("batchSize must be >= 1, got " + batchSize);
        }
        if (images == null || images.length != (long) batchSize * pixels) {
            throw new IllegalArgumentException("model " + manifest.name() + " " + manifest.version() + " expects "
                    + batchSize + " x " + pixels + " = " + (long) batchSize * pixels + " floats for a batch of "
                    + batchSize + " images " + describe(inputShape(batchSize)) + ", got "
                    + (images == null ? "null" : images.length));
        }
        long[] shape = inputShape(batchSize);
        lock.readLock().lock();
        try {
            if (closed) {
                throw new ModelException("model " + manifest.name() + " " + manifest.version()
                        + " is closed; open a new E3Model");
            }
            try (OnnxTensor input = OnnxTensor.createTensor(env, FloatBuffer.wrap(images), shape);
                 OrtSession.Result result = session.run(Map.of(manifest.input().name(), input))) {
                Optional<OnnxValue> value = result.get(manifest.outputName());
                if (value.isEmpty() || !(value.get() instanceof OnnxTensor out)) {
                    throw new ModelException(context(shape) + ": the run returned no tensor '" + manifest.outputName()
                            + "'");
                }
                long[] outShape = out.getInfo().getShape();
                if (outShape.length != 3 || outShape[0] != batchSize || outShape[1] != members
                        || outShape[2] != classes) {
                    throw new BundleException(context(shape) + ": output '" + manifest.outputName() + "' has shape "
                            + Arrays.toString(outShape) + " but model.json implies [" + batchSize + "," + members + ","
                            + classes + "] (ensemble_size " + members + ", " + classes + " classes); re-export the "
                            + "bundle or fix model.json");
                }
                FloatBuffer flat = out.getFloatBuffer();
                float[][][] logits = new float[batchSize][members][classes];
                for (int b = 0; b < batchSize; b++) {
                    for (int m = 0; m < members; m++) {
                        flat.get(logits[b][m]);
                    }
                }
                float[] density = null;
                if (hasDensity) {
                    Optional<OnnxValue> d = result.get(DENSITY_OUTPUT);
                    if (d.isEmpty() || !(d.get() instanceof OnnxTensor dt) || dt.getInfo().getShape().length != 1
                            || dt.getInfo().getShape()[0] != batchSize) {
                        throw new ModelException(context(shape) + ": output '" + DENSITY_OUTPUT + "' is missing or "
                                + "not [" + batchSize + "]");
                    }
                    density = new float[batchSize];
                    dt.getFloatBuffer().get(density);
                }
                return new ModelOutput(logits, density);
            } catch (OrtException e) {
                throw new ModelException(context(shape) + ": ONNX Runtime failed: " + e.getMessage(), e);
            }
        } finally {
            lock.readLock().unlock();
        }
    }

    private long[] inputShape(int batchSize) {
        InputSpec in = manifest.input();
        return new long[] {batchSize, in.channels(), in.height(), in.width()};
    }

    private String context(long[] shape) {
        return "model " + manifest.name() + " " + manifest.version() + " on " + device + ", input '"
                + manifest.input().name() + "' " + Arrays.toString(shape);
    }

    public BundleManifest manifest() {
        return manifest;
    }

    public ModelBundle bundle() {
        return bundle;
    }

    /** Whether the graph has the optional {@value #DENSITY_OUTPUT} output. */
    public boolean hasFeatureLogDensity() {
        return hasDensity;
    }

    /** M: members whose logits each image gets. */
    public int ensembleSize() {
        return members;
    }

    public int numClasses() {
        return classes;
    }

    /** The device the session really runs on (CPU after an allowed fallback). */
    public ExecutionOptions.Device device() {
        return device;
    }

    /** Why CUDA was not used although requested, when the model fell back to the CPU. */
    public Optional<String> fallbackReason() {
        return Optional.ofNullable(fallbackReason);
    }

    /** Closes the session; waits for calls in progress. Idempotent. */
    @Override
    public void close() {
        lock.writeLock().lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
            session.close();
        } catch (OrtException e) {
            throw new ModelException("closing the session of model " + manifest.name() + " failed: " + e.getMessage(),
                    e);
        } finally {
            lock.writeLock().unlock();
        }
    }

    @Override
    public String toString() {
        return "E3Model[" + manifest.name() + " " + manifest.version() + " on " + device + ", M=" + members + "]";
    }
}
