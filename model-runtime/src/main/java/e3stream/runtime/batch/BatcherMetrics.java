package e3stream.runtime.batch;

import io.prometheus.client.Collector;
import io.prometheus.client.CollectorRegistry;
import io.prometheus.client.Counter;
import io.prometheus.client.GaugeMetricFamily;
import io.prometheus.client.Histogram;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.WeakHashMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.IntSupplier;

/**
 * The Prometheus collectors of every {@link DynamicBatcher} on one {@link CollectorRegistry} (names from
 * docs/design.md, "Metrics"), each series labelled {@value #LABEL} = the batcher's name:
 * <ul>
 *   <li>{@value #BATCH_SIZE} histogram: requests per batch run (buckets 1, 2, 4, ..., 1024);
 *   <li>{@value #INFERENCE_SECONDS} histogram: wall time of one batch function call;
 *   <li>{@value #QUEUE_WAIT_SECONDS} histogram: per request, from submission to the start of its batch;
 *   <li>{@value #QUEUE_DEPTH} gauge: requests waiting (not yet in a running batch), read at scrape time;
 *   <li>{@value #REJECTED_TOTAL} counter: requests refused because the queue was full;
 *   <li>{@value #FAILED_BATCHES_TOTAL} counter: batches whose function threw or returned the wrong number of results;
 *   <li>{@value #STALLS_TOTAL} counter: batchers closed because their worker stalled (stall timeout).
 * </ul>
 * The collectors are registered once per registry ({@link #on(CollectorRegistry)} returns the same instance for the
 * same registry), so several batchers, and tests with their own registries, do not collide. Batchers that share a
 * name share their series (histograms and counters add up; the queue depth is the sum over the live batchers).
 *
 * <p>Thread-safe.
 */
public final class BatcherMetrics {

    public static final String LABEL = "model";
    public static final String BATCH_SIZE = "e3_inference_batch_size";
    public static final String INFERENCE_SECONDS = "e3_inference_seconds";
    public static final String QUEUE_WAIT_SECONDS = "e3_queue_wait_seconds";
    public static final String QUEUE_DEPTH = "e3_inference_queue_depth";
    public static final String REJECTED_TOTAL = "e3_inference_rejected_total";
    public static final String FAILED_BATCHES_TOTAL = "e3_inference_failed_batches_total";
    public static final String STALLS_TOTAL = "e3_inference_stalls_total";

    private static final double[] BATCH_SIZE_BUCKETS = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024};
    // From sub-millisecond CPU batches of a small model to multi-second stalls.
    private static final double[] INFERENCE_BUCKETS =
            {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
    private static final double[] QUEUE_WAIT_BUCKETS =
            {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

    private static final Map<CollectorRegistry, BatcherMetrics> PER_REGISTRY = new WeakHashMap<>();

    private final Histogram batchSize;
    private final Histogram inferenceSeconds;
    private final Histogram queueWaitSeconds;
    private final Counter rejected;
    private final Counter failedBatches;
    private final Counter stalls;
    private final QueueDepthCollector queueDepth;

    private BatcherMetrics(CollectorRegistry registry) {
        batchSize = Histogram.build(BATCH_SIZE, "Requests per batch run by the dynamic batcher.")
                .labelNames(LABEL).buckets(BATCH_SIZE_BUCKETS).create();
        inferenceSeconds = Histogram.build(INFERENCE_SECONDS, "Wall time of one batch inference call, in seconds.")
                .labelNames(LABEL).buckets(INFERENCE_BUCKETS).create();
        queueWaitSeconds = Histogram.build(QUEUE_WAIT_SECONDS,
                        "Time a request waited in the batcher queue before its batch started, in seconds.")
                .labelNames(LABEL).buckets(QUEUE_WAIT_BUCKETS).create();
        rejected = Counter.build(REJECTED_TOTAL, "Requests refused because the batcher queue was full.")
                .labelNames(LABEL).create();
        failedBatches = Counter.build(FAILED_BATCHES_TOTAL,
                        "Batches whose inference failed; every request of such a batch failed.")
                .labelNames(LABEL).create();
        stalls = Counter.build(STALLS_TOTAL, "Batchers closed because no batch finished within their stall timeout "
                        + "while requests were pending (a hung model worker); each is replaced by a new one.")
                .labelNames(LABEL).create();
        queueDepth = new QueueDepthCollector();
        // Register all or nothing, so a name clash leaves the registry as it was.
        List<Collector> registered = new ArrayList<>();
        try {
            for (Collector c : List.of(batchSize, inferenceSeconds, queueWaitSeconds, rejected, failedBatches,
                    stalls, queueDepth)) {
                registry.register(c);
                registered.add(c);
            }
        } catch (IllegalArgumentException e) {
            registered.forEach(registry::unregister);
            throw new IllegalArgumentException("cannot register the batcher metrics: " + e.getMessage()
                    + "; another component registered a collector with one of these names on this registry", e);
        }
    }

    /** The batcher collectors of {@code registry}, registering them on first use. */
    public static BatcherMetrics on(CollectorRegistry registry) {
        Objects.requireNonNull(registry, "registry");
        synchronized (PER_REGISTRY) {
            return PER_REGISTRY.computeIfAbsent(registry, BatcherMetrics::new);
        }
    }

    /** The series of one batcher; {@code depth} is read at scrape time until {@link Child#close()}. */
    Child child(String model, IntSupplier depth) {
        return new Child(model, depth);
    }

    /** One batcher's view of the collectors. Thread-safe. */
    final class Child implements AutoCloseable {
        private final Histogram.Child batchSize;
        private final Histogram.Child inferenceSeconds;
        private final Histogram.Child queueWaitSeconds;
        private final Counter.Child rejected;
        private final Counter.Child failedBatches;
        private final Counter.Child stalls;
        private final String model;
        private final IntSupplier depth;

        private Child(String model, IntSupplier depth) {
            this.model = model;
            this.depth = depth;
            this.batchSize = BatcherMetrics.this.batchSize.labels(model);
            this.inferenceSeconds = BatcherMetrics.this.inferenceSeconds.labels(model);
            this.queueWaitSeconds = BatcherMetrics.this.queueWaitSeconds.labels(model);
            this.rejected = BatcherMetrics.this.rejected.labels(model);
            this.failedBatches = BatcherMetrics.this.failedBatches.labels(model);
            this.stalls = BatcherMetrics.this.stalls.labels(model);
            queueDepth.add(model, depth);
        }

        void batchRun(int size, long nanos) {
            batchSize.observe(size);
            inferenceSeconds.observe(nanos / 1e9);
        }

        void queueWait(long nanos) {
            queueWaitSeconds.observe(nanos / 1e9);
        }

        void rejected() {
            rejected.inc();
        }

        void failedBatch() {
            failedBatches.inc();
        }

        void stalled() {
            stalls.inc();
        }

        @Override
        public void close() {
            queueDepth.remove(model, depth);
        }
    }

    /** Sums, at scrape time, the queue sizes of the live batchers of each name. */
    private static final class QueueDepthCollector extends Collector implements Collector.Describable {
        private final Map<String, List<IntSupplier>> sources = new ConcurrentHashMap<>();

        void add(String model, IntSupplier depth) {
            sources.computeIfAbsent(model, k -> new CopyOnWriteArrayList<>()).add(depth);
        }

        void remove(String model, IntSupplier depth) {
            List<IntSupplier> list = sources.get(model);
            if (list != null) {
                list.remove(depth); // the name keeps a series, at 0, once its last batcher has closed
            }
        }

        @Override
        public List<MetricFamilySamples> collect() {
            GaugeMetricFamily family = family();
            sources.forEach((model, list) -> {
                long sum = 0;
                for (IntSupplier s : list) {
                    sum += s.getAsInt();
                }
                family.addMetric(List.of(model), sum);
            });
            return List.of(family);
        }

        @Override
        public List<MetricFamilySamples> describe() {
            return List.of(family());
        }

        private static GaugeMetricFamily family() {
            return new GaugeMetricFamily(QUEUE_DEPTH, "Requests waiting in the batcher queue.", List.of(LABEL));
        }
    }
}
