package e3stream.pipeline.inference;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import e3stream.runtime.batch.DynamicBatcher;
import e3stream.runtime.model.BundleManifest;
import e3stream.runtime.model.E3Model;
import e3stream.runtime.model.ModelBundle;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A lease on the JVM-wide model session: one {@link E3Model} per bundle and device per JVM, behind one
 * {@link DynamicBatcher}, shared by every inference subtask of every job in this JVM, so batches fill even when each
 * subtask sees a trickle.
 *
 * <pre>{@code
 * try (SharedModel model = SharedModel.acquire(spec)) {
 *     CompletableFuture<float[][]> memberLogits = model.submit(tensor);
 * }
 * }</pre>
 *
 * <p>Reference counted: the session loads on the first {@link #acquire} and is closed {@code idleRelease} after the
 * last lease is closed, unless acquired again meanwhile, so a task restart in the same JVM (Flink failover: all tasks
 * close, then open again) reuses the loaded session. {@link #loads()} counts loads, for tests.
 *
 * <p>Thread-safety: {@link #acquire} and {@link #close} are synchronised on the class; {@link #submit} is thread-safe
 * (the batcher's). The batcher's worker thread is the only caller of the session. Futures complete on that thread.
 */
public final class SharedModel implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(SharedModel.class);
    private static final Map<String, Entry> ENTRIES = new HashMap<>();
    private static final AtomicInteger LOADS = new AtomicInteger();
    private static final ScheduledExecutorService RELEASER = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "e3-model-releaser");
        t.setDaemon(true);
        return t;
    });

    private final Entry entry;
    private boolean closed;

    private SharedModel(Entry entry) {
        this.entry = entry;
    }

    /** Leases the session for {@code spec}, loading it if this JVM has none. */
    public static SharedModel acquire(ModelSpec spec) {
        synchronized (SharedModel.class) {
            Entry entry = ENTRIES.get(spec.sessionKey());
            if (entry == null) {
                entry = Entry.load(spec);
                ENTRIES.put(spec.sessionKey(), entry);
            } else if (entry.pendingRelease != null) {
                entry.pendingRelease.cancel(false);
                entry.pendingRelease = null;
            }
            if (!entry.spec.equals(spec)) {
                LOG.warn("model session {} is shared and keeps the batching settings it was opened with ({}); "
                        + "ignoring {}", spec.sessionKey(), entry.spec, spec);
            }
            entry.leases++;
            return new SharedModel(entry);
        }
    }

    /** Member logits {@code [M][C]} of one normalised CHW image. */
    public CompletableFuture<float[][]> submit(float[] image) {
        return entry.batcher.submit(image);
    }

    public BundleManifest manifest() {
        return entry.model.manifest();
    }

    /** How many sessions this JVM has loaded so far. */
    public static int loads() {
        return LOADS.get();
    }

    /** Closes idle sessions now (tests and the embedded demo). */
    public static void releaseIdleNow() {
        synchronized (SharedModel.class) {
            for (Entry entry : new ArrayList<>(ENTRIES.values())) {
                if (entry.leases == 0) {
                    if (entry.pendingRelease != null) {
                        entry.pendingRelease.cancel(false);
                    }
                    entry.closeNow();
                }
            }
        }
    }

    @Override
    public void close() {
        synchronized (SharedModel.class) {
            if (closed) {
                return;
            }
            closed = true;
            entry.leases--;
            if (entry.leases == 0) {
                long delayMs = entry.spec.idleRelease().toMillis();
                entry.pendingRelease = RELEASER.schedule(() -> {
                    synchronized (SharedModel.class) {
                        if (entry.leases == 0 && ENTRIES.get(entry.key) == entry) {
                            entry.closeNow();
                        }
                    }
                }, delayMs, TimeUnit.MILLISECONDS);
            }
        }
    }

    private static final class Entry {
        final String key;
        final ModelSpec spec;
        final E3Model model;
        final DynamicBatcher<float[], float[][]> batcher;
        int leases;
        ScheduledFuture<?> pendingRelease;

        private Entry(ModelSpec spec, E3Model model, DynamicBatcher<float[], float[][]> batcher) {
            this.key = spec.sessionKey();
            this.spec = spec;
            this.model = model;
            this.batcher = batcher;
        }

        static Entry load(ModelSpec spec) {
            ModelBundle bundle = ModelBundle.load(Path.of(spec.bundle()));
            E3Model model = E3Model.open(bundle, spec.executionOptions());
            int size = model.manifest().input().channels() * model.manifest().input().height()
                    * model.manifest().input().width();
            DynamicBatcher<float[], float[][]> batcher;
            try {
                batcher = DynamicBatcher.<float[], float[][]>builder(images -> runBatch(model, images, size))
                        .name(model.manifest().name())
                        .maxBatchSize(spec.maxBatchSize())
                        .maxDelay(spec.maxDelay())
                        .queueCapacity(spec.queueCapacity())
                        .build();
            } catch (RuntimeException e) {
                model.close();
                throw e;
            }
            LOADS.incrementAndGet();
            LOG.info("loaded model session {} ({} {}) for this JVM", spec.sessionKey(), model.manifest().name(),
                    model.manifest().version());
            return new Entry(spec, model, batcher);
        }

        private static List<float[][]> runBatch(E3Model model, List<float[]> images, int size) {
            float[] stacked = new float[images.size() * size];
            for (int i = 0; i < images.size(); i++) {
                System.arraycopy(images.get(i), 0, stacked, i * size, size);
            }
            float[][][] logits = model.memberLogits(stacked, images.size());
            List<float[][]> out = new ArrayList<>(logits.length);
            for (float[][] l : logits) {
                out.add(l);
            }
            return out;
        }

        void closeNow() {
            ENTRIES.remove(key);
            try {
                batcher.close();
            } finally {
                model.close();
            }
            LOG.info("closed idle model session {}", key);
        }
    }
}
