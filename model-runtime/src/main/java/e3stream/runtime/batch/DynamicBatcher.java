package e3stream.runtime.batch;

import io.prometheus.client.CollectorRegistry;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Collects single requests from many threads into batches for one {@link BatchFunction} (e.g. one ONNX Runtime
 * session) and completes each request's future with its own result.
 *
 * <pre>{@code
 * try (DynamicBatcher<float[], float[][]> batcher = DynamicBatcher.builder(model::runBatch)
 *         .name("e3").maxBatchSize(32).maxDelay(Duration.ofMillis(5)).queueCapacity(4096).build()) {
 *     CompletableFuture<float[][]> logits = batcher.submit(image);
 * }
 * }</pre>
 *
 * <h2>Batching rule</h2>
 * A batch starts as soon as {@code maxBatchSize} requests are waiting, or when the oldest waiting request has waited
 * {@code maxDelay}, whichever comes first; it takes up to {@code maxBatchSize} requests in submission order. Under a
 * backlog batches are therefore full and start back to back; a lone request waits about {@code maxDelay}
 * ({@code maxDelay} 0 runs whatever is waiting at once).
 *
 * <h2>Threads and ownership</h2>
 * Each batcher owns one daemon worker thread ({@code e3-batcher-<name>}), started by {@link Builder#build()}; it is
 * the only thread that calls the batch function, one batch at a time. The batcher does not own what the function
 * uses (e.g. the ONNX Runtime session): close the batcher first, then the session. {@link #submit} is thread-safe and
 * never blocks on inference. Futures are completed on the worker thread, so dependent stages attached with the
 * non-async {@code thenApply}/{@code whenComplete} also run there and delay the next batch; attach heavy work with
 * the {@code ...Async} variants.
 *
 * <h2>Failures</h2>
 * <ul>
 *   <li>Queue full ({@code queueCapacity} requests waiting, not counting the running batch): the returned future
 *       fails at once with {@link BatcherFullException}, counted in {@value BatcherMetrics#REJECTED_TOTAL}.
 *   <li>The batch function throws or returns the wrong number of results: every future of that batch fails with a
 *       {@link BatchFailedException} (cause: what it threw); the batcher keeps serving.
 *   <li>{@link #close()}: new submissions and waiting requests fail with {@link BatcherClosedException}; the running
 *       batch may finish within {@code shutdownTimeout}, after which its futures fail too, so close never hangs.
 *   <li>Stalled worker (with {@code stallTimeout} set): requests are pending and no batch has finished for
 *       {@code maxDelay + stallTimeout} (the batch function hangs, e.g. in native code). The next {@link #submit}
 *       or {@link #isServing} notices it and closes the batcher: every pending request fails with
 *       {@link BatcherClosedException}, the worker is interrupted (a hang in native code ignores that; the thread is
 *       left behind), and {@link #isServing} is false from then on, so its owner replaces it rather than reusing a
 *       worker that never answers. {@link #afterWorker} runs cleanup once the worker has really returned.
 * </ul>
 *
 * <p>Metrics: {@link BatcherMetrics}, labelled with {@link #name()}, on the builder's registry.
 *
 * @param <I> one request's input
 * @param <O> one request's result
 */
public final class DynamicBatcher<I, O> implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(DynamicBatcher.class);

    /** Default of {@link Builder#maxBatchSize(int)}: the one source of this default (the job's option reads it). */
    public static final int DEFAULT_MAX_BATCH_SIZE = 32;

    /** Default of {@link Builder#maxDelay(Duration)}: the one source of this default (the job's option reads it). */
    public static final Duration DEFAULT_MAX_DELAY = Duration.ofMillis(5);

    /** Default of {@link Builder#queueCapacity(int)}: the one source of this default (the job's option reads it). */
    public static final int DEFAULT_QUEUE_CAPACITY = 4096;

    /** Default of {@link Builder#shutdownTimeout(Duration)}. */
    public static final Duration DEFAULT_SHUTDOWN_TIMEOUT = Duration.ofSeconds(30);

    private final String name;
    private final int maxBatchSize;
    private final Duration maxDelay;
    private final long maxDelayNanos;
    private final int queueCapacity;
    private final Duration shutdownTimeout;
    /** 0: never considered stalled. */
    private final long stallNanos;
    private final BatchFunction<I, O> function;
    private final BatcherMetrics.Child metrics;
    private final Thread worker;

    private final ReentrantLock lock = new ReentrantLock();
    /** Signalled when the queue becomes non-empty, when it reaches maxBatchSize, and on close. */
    private final Condition ready = lock.newCondition();
    private final ArrayDeque<Request<I, O>> queue = new ArrayDeque<>(); // guarded by lock
    private boolean closed; // guarded by lock
    private volatile int depth; // queue.size(), readable without the lock (metrics, queueDepth())
    private volatile List<Request<I, O>> running = List.of(); // the batch being run, for close()
    /** Since when requests have been pending without a batch finishing: the start of the wait for progress. */
    private long waitingSinceNanos; // guarded by lock
    private String stalled; // guarded by lock; why the batcher was closed as stalled, null while it was not
    /** Completed by the worker thread as the very last thing it does. */
    private final CompletableFuture<Void> workerStopped = new CompletableFuture<>();

    private record Request<I, O>(I input, CompletableFuture<O> future, long enqueuedNanos) {}

    private DynamicBatcher(Builder<I, O> b) {
        this.name = b.name;
        this.maxBatchSize = b.maxBatchSize;
        this.maxDelay = b.maxDelay;
        this.maxDelayNanos = b.maxDelay.toNanos();
        this.queueCapacity = b.queueCapacity;
        this.shutdownTimeout = b.shutdownTimeout;
        this.stallNanos = b.stallTimeout.isZero() ? 0 : b.maxDelay.plus(b.stallTimeout).toNanos();
        this.function = b.function;
        this.metrics = BatcherMetrics.on(b.registry).child(name, () -> depth);
        this.worker = new Thread(this::runWorker, "e3-batcher-" + name);
        this.worker.setDaemon(true);
    }

    /** @param function computes one batch; called from the worker thread only */
    public static <I, O> Builder<I, O> builder(BatchFunction<I, O> function) {
        return new Builder<>(function);
    }

    /**
     * Queues one request. Never blocks on inference.
     *
     * @return a future completed with this input's result, or failed with {@link BatcherFullException},
     *     {@link BatcherClosedException} or {@link BatchFailedException}
     * @throws NullPointerException if {@code input} is null
     */
    public CompletableFuture<O> submit(I input) {
        Objects.requireNonNull(input, "input");
        CompletableFuture<O> future = new CompletableFuture<>();
        boolean isClosed;
        boolean full = false;
        String closedWhy = "is closed and accepts no new requests";
        List<Request<I, O>> stalledRequests;
        lock.lock();
        try {
            long now = System.nanoTime();
            stalledRequests = closeIfStalled(now);
            isClosed = closed;
            if (stalled != null) {
                closedWhy = "was closed as stalled (" + stalled + ")";
            }
            if (!isClosed) {
                if (queue.size() >= queueCapacity) {
                    full = true;
                } else {
                    if (queue.isEmpty() && running.isEmpty()) {
                        waitingSinceNanos = now; // an idle worker gets work: its wait for progress starts now
                    }
                    queue.addLast(new Request<>(input, future, now));
                    int size = queue.size();
                    depth = size;
                    if (size == 1 || size == maxBatchSize) {
                        ready.signal();
                    }
                }
            }
        } finally {
            lock.unlock();
        }
        if (stalledRequests != null) {
            failStalled(stalledRequests);
        }
        if (isClosed) {
            future.completeExceptionally(new BatcherClosedException("batcher '" + name + "' " + closedWhy));
        } else if (full) {
            metrics.rejected();
            future.completeExceptionally(new BatcherFullException("batcher '" + name + "' queue is full ("
                    + queueCapacity + " requests waiting); retry later, slow down, or raise queueCapacity"));
        }
        return future;
    }

    /**
     * Whether the batcher still serves requests: not closed, its worker thread alive (a worker that died of an
     * Error closes the batcher) and not stalled (which closes it, see the class comment). When false, its owner
     * should replace it.
     */
    public boolean isServing() {
        List<Request<I, O>> stalledRequests;
        boolean serving;
        lock.lock();
        try {
            stalledRequests = closeIfStalled(System.nanoTime());
            serving = !closed && worker.isAlive();
        } finally {
            lock.unlock();
        }
        if (stalledRequests != null) {
            failStalled(stalledRequests);
        }
        return serving;
    }

    /**
     * Closes the batcher, under the lock, when its worker has stalled (see the class comment).
     *
     * @return the requests to fail outside the lock ({@link #failStalled}), or null when it has not stalled now
     */
    private List<Request<I, O>> closeIfStalled(long now) {
        if (closed || stallNanos == 0 || (queue.isEmpty() && running.isEmpty())
                || now - waitingSinceNanos <= stallNanos) {
            return null;
        }
        List<Request<I, O>> pending = new ArrayList<>(running);
        pending.addAll(queue);
        stalled = "no batch finished for " + (now - waitingSinceNanos) / 1_000_000 + " ms while " + pending.size()
                + " requests were pending; stall timeout " + stallNanos / 1_000_000 + " ms including the max delay";
        closed = true;
        queue.clear();
        depth = 0;
        ready.signalAll();
        return pending;
    }

    private void failStalled(List<Request<I, O>> pending) {
        String why = stalled();
        LOG.error("Batcher '{}' stalled: {}. Closing it so that its owner replaces it; its worker thread {} is "
                + "interrupted, and left behind if it does not return", name, why, worker.getName());
        metrics.stalled();
        fail(pending, "batcher '" + name + "' was closed as stalled (" + why + ")");
        worker.interrupt();
    }

    /** Why the batcher was closed as stalled; null when it was not. */
    public String stalled() {
        lock.lock();
        try {
            return stalled;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Runs {@code action} once the worker thread has returned: at once (on this thread) when it already has, else on
     * the worker thread as it exits. For what the batch function uses and must not be freed under a running batch
     * (a native session) when {@link #close()} returned with the worker still inside it (stalled, or past the
     * shutdown timeout). Never runs if the worker never returns. What it throws is logged.
     */
    public void afterWorker(Runnable action) {
        workerStopped.thenRun(action).exceptionally(e -> {
            LOG.warn("Batcher '{}': cleanup after its worker returned failed", name, e);
            return null;
        });
    }

    /** Whether the worker thread has returned (not merely been asked to). */
    public boolean workerStopped() {
        return workerStopped.isDone();
    }

    /** Requests waiting for a batch (not counting the running batch). */
    public int queueDepth() {
        return depth;
    }

    public String name() {
        return name;
    }

    public int maxBatchSize() {
        return maxBatchSize;
    }

    public Duration maxDelay() {
        return maxDelay;
    }

    public int queueCapacity() {
        return queueCapacity;
    }

    /**
     * Stops accepting requests, fails the waiting ones with {@link BatcherClosedException}, lets the running batch
     * finish for up to {@code shutdownTimeout} (failing its futures if it does not) and returns. Idempotent; safe to
     * call from any thread, including from a future's callback on the worker thread (then it does not wait).
     */
    @Override
    public void close() {
        List<Request<I, O>> waiting;
        boolean wasStalled;
        lock.lock();
        try {
            closed = true;
            wasStalled = stalled != null;
            waiting = new ArrayList<>(queue);
            queue.clear();
            depth = 0;
            ready.signalAll();
        } finally {
            lock.unlock();
        }
        fail(waiting, "batcher '" + name + "' was closed before this request was run");
        // A stalled worker is not waited for: it has had its stall timeout, and whoever replaces the batcher closes
        // it and must not hang on it.
        if (Thread.currentThread() != worker && !wasStalled) {
            try {
                worker.join(Math.max(1, shutdownTimeout.toMillis()));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            if (worker.isAlive()) {
                fail(running, "batcher '" + name + "' was closed while this request's batch was still running after"
                        + " the shutdown timeout of " + shutdownTimeout.toMillis() + " ms");
            }
        }
        metrics.close();
    }

    private void fail(List<Request<I, O>> requests, String message) {
        for (Request<I, O> r : requests) {
            r.future().completeExceptionally(new BatcherClosedException(message));
        }
    }

    private void runWorker() {
        try {
            List<Request<I, O>> batch;
            while ((batch = nextBatch()) != null) {
                run(batch);
            }
        } catch (InterruptedException e) {
            LOG.warn("Batcher '{}' worker interrupted; closing the batcher", name);
        } catch (RuntimeException | Error e) {
            LOG.error("Batcher '{}' worker failed; closing the batcher", name, e);
            fail(running, "batcher '" + name + "' worker failed: " + e);
            throw e;
        } finally {
            // Whatever stopped the worker, nobody may wait for it in vain.
            lock.lock();
            List<Request<I, O>> waiting;
            try {
                closed = true;
                waiting = new ArrayList<>(queue);
                queue.clear();
                depth = 0;
            } finally {
                lock.unlock();
            }
            fail(waiting, "batcher '" + name + "' stopped before this request was run");
            workerStopped.complete(null);
        }
    }

    /** Waits for the next batch per the batching rule; null once closed. */
    private List<Request<I, O>> nextBatch() throws InterruptedException {
        lock.lock();
        try {
            while (queue.isEmpty() && !closed) {
                ready.await();
            }
            if (closed) {
                return null;
            }
            long deadline = queue.peekFirst().enqueuedNanos() + maxDelayNanos;
            while (queue.size() < maxBatchSize && !closed) {
                long remaining = deadline - System.nanoTime();
                if (remaining <= 0) {
                    break;
                }
                ready.awaitNanos(remaining);
            }
            if (closed) {
                return null;
            }
            int n = Math.min(queue.size(), maxBatchSize);
            List<Request<I, O>> batch = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                batch.add(queue.pollFirst());
            }
            depth = queue.size();
            running = batch;
            return batch;
        } finally {
            lock.unlock();
        }
    }

    private void run(List<Request<I, O>> batch) {
        int n = batch.size();
        long start = System.nanoTime();
        List<I> inputs = new ArrayList<>(n);
        for (Request<I, O> r : batch) {
            metrics.queueWait(start - r.enqueuedNanos());
            inputs.add(r.input());
        }
        List<O> outputs = null;
        Throwable failure = null;
        try {
            outputs = function.apply(Collections.unmodifiableList(inputs));
        } catch (Exception | LinkageError | AssertionError e) {
            failure = e; // a failing batch must not stop the batcher; VirtualMachineErrors still do
        }
        metrics.batchRun(n, System.nanoTime() - start);
        if (failure == null && (outputs == null || outputs.size() != n)) {
            metrics.failedBatch();
            String message = "batch function of batcher '" + name + "' returned "
                    + (outputs == null ? "null" : outputs.size() + " results") + " for " + n + " inputs";
            LOG.warn(message);
            for (Request<I, O> r : batch) {
                r.future().completeExceptionally(new BatchFailedException(message, n, null));
            }
        } else if (failure != null) {
            metrics.failedBatch();
            LOG.warn("Batch of {} requests failed in batcher '{}'", n, name, failure);
            String message = "batch of " + n + " requests failed in batcher '" + name + "': " + failure;
            for (Request<I, O> r : batch) {
                r.future().completeExceptionally(new BatchFailedException(message, n, failure));
            }
        } else {
            for (int i = 0; i < n; i++) {
                batch.get(i).future().complete(outputs.get(i));
            }
        }
        lock.lock();
        try {
            running = List.of();
            waitingSinceNanos = System.nanoTime(); // progress: the wait for the next batch starts now
        } finally {
            lock.unlock();
        }
    }

    /**
     * Every rule of the batching settings, single and between settings: the one place they are written.
     * {@link Builder} applies them, and so does whoever must know before building a batcher that it will accept the
     * settings (a job checks its configuration with it at start-up, through {@code SessionSpec}).
     *
     * @throws IllegalArgumentException naming the setting that breaks a rule
     */
    public static void checkSettings(int maxBatchSize, Duration maxDelay, int queueCapacity) {
        checkMaxBatchSize(maxBatchSize);
        checkMaxDelay(maxDelay);
        checkQueueCapacity(queueCapacity);
        if (queueCapacity < maxBatchSize) {
            throw new IllegalArgumentException("queueCapacity (" + queueCapacity + ") must be >= maxBatchSize ("
                    + maxBatchSize + "), or batches could never fill");
        }
    }

    private static void checkMaxBatchSize(int maxBatchSize) {
        if (maxBatchSize < 1) {
            throw new IllegalArgumentException("maxBatchSize must be positive, found " + maxBatchSize);
        }
    }

    private static void checkMaxDelay(Duration maxDelay) {
        Objects.requireNonNull(maxDelay, "maxDelay");
        if (maxDelay.isNegative()) {
            throw new IllegalArgumentException("maxDelay must not be negative, found " + maxDelay);
        }
    }

    private static void checkQueueCapacity(int queueCapacity) {
        if (queueCapacity < 1) {
            throw new IllegalArgumentException("queueCapacity must be positive, found " + queueCapacity);
        }
    }

    /** Builder; single options are checked at the setter, rules between options in {@link #build()}. */
    public static final class Builder<I, O> {
        private final BatchFunction<I, O> function;
        private String name;
        private int maxBatchSize = DEFAULT_MAX_BATCH_SIZE;
        private Duration maxDelay = DEFAULT_MAX_DELAY;
        private int queueCapacity = DEFAULT_QUEUE_CAPACITY;
        private Duration shutdownTimeout = DEFAULT_SHUTDOWN_TIMEOUT;
        private Duration stallTimeout = Duration.ZERO;
        private CollectorRegistry registry = CollectorRegistry.defaultRegistry;

        private Builder(BatchFunction<I, O> function) {
            this.function = Objects.requireNonNull(function, "function");
        }

        /** Required: the {@value BatcherMetrics#LABEL} label of the metrics and the worker thread's name suffix. */
        public Builder<I, O> name(String name) {
            if (name == null || name.isBlank()) {
                throw new IllegalArgumentException("name must be non-blank, got '" + name + "'");
            }
            this.name = name;
            return this;
        }

        /** Most requests per batch (default {@value #DEFAULT_MAX_BATCH_SIZE}). */
        public Builder<I, O> maxBatchSize(int maxBatchSize) {
            checkMaxBatchSize(maxBatchSize);
            this.maxBatchSize = maxBatchSize;
            return this;
        }

        /**
         * Longest the oldest waiting request waits for its batch to fill (default {@link #DEFAULT_MAX_DELAY}, 5 ms;
         * 0 = never wait).
         */
        public Builder<I, O> maxDelay(Duration maxDelay) {
            checkMaxDelay(maxDelay);
            this.maxDelay = maxDelay;
            return this;
        }

        /**
         * Most requests waiting (not counting the running batch) before submissions are rejected (default
         * {@value #DEFAULT_QUEUE_CAPACITY}); at least {@code maxBatchSize}.
         */
        public Builder<I, O> queueCapacity(int queueCapacity) {
            checkQueueCapacity(queueCapacity);
            this.queueCapacity = queueCapacity;
            return this;
        }

        /** How long {@link DynamicBatcher#close()} lets the running batch finish (default 30 s). */
        public Builder<I, O> shutdownTimeout(Duration shutdownTimeout) {
            Objects.requireNonNull(shutdownTimeout, "shutdownTimeout");
            if (shutdownTimeout.isNegative()) {
                throw new IllegalArgumentException("shutdownTimeout must be >= 0, got " + shutdownTimeout);
            }
            this.shutdownTimeout = shutdownTimeout;
            return this;
        }

        /**
         * How long pending requests may go without a batch finishing (beyond {@code maxDelay}) before the worker
         * counts as stalled and the batcher closes itself (see the class comment); 0 (the default): never.
         */
        public Builder<I, O> stallTimeout(Duration stallTimeout) {
            Objects.requireNonNull(stallTimeout, "stallTimeout");
            if (stallTimeout.isNegative()) {
                throw new IllegalArgumentException("stallTimeout must be >= 0, got " + stallTimeout);
            }
            this.stallTimeout = stallTimeout;
            return this;
        }

        /** Where the metrics go (default {@link CollectorRegistry#defaultRegistry}). */
        public Builder<I, O> registry(CollectorRegistry registry) {
            this.registry = Objects.requireNonNull(registry, "registry");
            return this;
        }

        /** Validates the options, registers the metrics and starts the worker thread. */
        public DynamicBatcher<I, O> build() {
            if (name == null) {
                throw new IllegalStateException("name is required (it labels the metrics and the worker thread)");
            }
            try {
                checkSettings(maxBatchSize, maxDelay, queueCapacity);
            } catch (IllegalArgumentException e) {
                throw new IllegalStateException(e.getMessage(), e);
            }
            DynamicBatcher<I, O> batcher = new DynamicBatcher<>(this);
            batcher.worker.start();
            return batcher;
        }
    }
}
