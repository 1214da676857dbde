package e3stream.runtime.batch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.prometheus.client.CollectorRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class DynamicBatcherTest {

    /** Generous bound for anything that should happen "promptly"; never the quantity under test. */
    private static final long PROMPTLY_S = 10;

    private final CollectorRegistry registry = new CollectorRegistry();
    private final List<DynamicBatcher<?, ?>> batchers = new ArrayList<>();
    private final CountDownLatch release = new CountDownLatch(1);

    @AfterEach
    void closeAll() {
        release.countDown();
        batchers.forEach(DynamicBatcher::close);
    }

    private <I, O> DynamicBatcher<I, O> track(DynamicBatcher<I, O> batcher) {
        batchers.add(batcher);
        return batcher;
    }

    private double sample(String name, String model) {
        Double v = registry.getSampleValue(name, new String[] {BatcherMetrics.LABEL}, new String[] {model});
        return v == null ? Double.NaN : v;
    }

    private static Throwable failureOf(CompletableFuture<?> future) throws InterruptedException {
        ExecutionException e = assertThrows(ExecutionException.class, () -> future.get(PROMPTLY_S, TimeUnit.SECONDS));
        return e.getCause();
    }

    @Test
    void concurrentRequestsAreGroupedIntoFullBatchesAndEachGetsItsOwnResult() throws Exception {
        List<Integer> sizes = Collections.synchronizedList(new ArrayList<>());
        // maxDelay far beyond the test: a batch can only start once 8 requests are waiting
        DynamicBatcher<Integer, Integer> batcher = track(DynamicBatcher.<Integer, Integer>builder(inputs -> {
            sizes.add(inputs.size());
            return inputs.stream().map(i -> i * 2).toList();
        }).name("fill").maxBatchSize(8).maxDelay(Duration.ofMinutes(5)).queueCapacity(64).registry(registry).build());

        ExecutorService callers = Executors.newFixedThreadPool(64);
        try {
            List<Future<Integer>> results = new ArrayList<>();
            for (int i = 0; i < 64; i++) {
                int input = i;
                results.add(callers.submit(() -> batcher.submit(input).get(PROMPTLY_S, TimeUnit.SECONDS)));
            }
            for (int i = 0; i < 64; i++) {
                assertEquals(2 * i, results.get(i).get(PROMPTLY_S, TimeUnit.SECONDS));
            }
        } finally {
            callers.shutdownNow();
        }

        assertEquals(List.of(8, 8, 8, 8, 8, 8, 8, 8), sizes);
        assertEquals(8, sample(BatcherMetrics.BATCH_SIZE + "_count", "fill"));
        assertEquals(64, sample(BatcherMetrics.BATCH_SIZE + "_sum", "fill"));
        assertEquals(8, sample(BatcherMetrics.INFERENCE_SECONDS + "_count", "fill"));
        assertEquals(64, sample(BatcherMetrics.QUEUE_WAIT_SECONDS + "_count", "fill"));
        assertEquals(0, sample(BatcherMetrics.REJECTED_TOTAL, "fill"));
        assertEquals(0, sample(BatcherMetrics.QUEUE_DEPTH, "fill"));
        // the 8-bucket holds all batches, the 4-bucket none
        assertEquals(8, registry.getSampleValue(BatcherMetrics.BATCH_SIZE + "_bucket",
                new String[] {BatcherMetrics.LABEL, "le"}, new String[] {"fill", "8.0"}));
        assertEquals(0, registry.getSampleValue(BatcherMetrics.BATCH_SIZE + "_bucket",
                new String[] {BatcherMetrics.LABEL, "le"}, new String[] {"fill", "4.0"}));
    }

    @Test
    void sustainedLoadNeverExceedsMaxBatchSizeAndServesEveryRequestOnce() throws Exception {
        List<Integer> sizes = Collections.synchronizedList(new ArrayList<>());
        DynamicBatcher<Integer, Integer> batcher = track(DynamicBatcher.<Integer, Integer>builder(inputs -> {
            sizes.add(inputs.size());
            Thread.sleep(1); // a backlog builds while a batch runs
            return inputs.stream().map(i -> -i).toList();
        }).name("load").maxBatchSize(16).maxDelay(Duration.ofMillis(1)).queueCapacity(1000).registry(registry)
                .build());

        int callers = 32;
        int perCaller = 50;
        ExecutorService pool = Executors.newFixedThreadPool(callers);
        try {
            List<Future<?>> done = new ArrayList<>();
            for (int c = 0; c < callers; c++) {
                int base = c * perCaller;
                done.add(pool.submit(() -> {
                    for (int k = base; k < base + perCaller; k++) {
                        assertEquals(-k, batcher.submit(k).get(PROMPTLY_S, TimeUnit.SECONDS));
                    }
                    return null;
                }));
            }
            for (Future<?> f : done) {
                f.get(60, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }
        int total = sizes.stream().mapToInt(Integer::intValue).sum();
        assertEquals(callers * perCaller, total);
        assertTrue(sizes.stream().allMatch(s -> s >= 1 && s <= 16), "batch sizes " + sizes);
        assertTrue(sizes.stream().anyMatch(s -> s > 1), "32 concurrent callers never shared a batch: " + sizes);
        assertEquals(sizes.size(), sample(BatcherMetrics.BATCH_SIZE + "_count", "load"));
        assertEquals(total, sample(BatcherMetrics.BATCH_SIZE + "_sum", "load"));
        assertEquals(total, sample(BatcherMetrics.QUEUE_WAIT_SECONDS + "_count", "load"));
    }

    @Test
    void loneRequestRunsAloneOnceMaxDelayHasPassed() throws Exception {
        List<List<String>> batches = Collections.synchronizedList(new ArrayList<>());
        DynamicBatcher<String, String> batcher = track(DynamicBatcher.<String, String>builder(inputs -> {
            batches.add(List.copyOf(inputs));
            return inputs.stream().map(String::toUpperCase).toList();
        }).name("lone").maxBatchSize(8).maxDelay(Duration.ofMillis(200)).registry(registry).build());

        long start = System.nanoTime();
        String result = batcher.submit("a").get(PROMPTLY_S, TimeUnit.SECONDS);
        long elapsedMs = (System.nanoTime() - start) / 1_000_000;

        assertEquals("A", result);
        assertEquals(List.of(List.of("a")), batches);
        assertTrue(elapsedMs >= 200, "completed after " + elapsedMs + " ms, before maxDelay of 200 ms");
        double waited = sample(BatcherMetrics.QUEUE_WAIT_SECONDS + "_sum", "lone");
        assertTrue(waited >= 0.2 && waited < PROMPTLY_S, "queue wait recorded as " + waited + " s");
    }

    @Test
    void zeroMaxDelayRunsWhateverIsWaitingAtOnce() throws Exception {
        DynamicBatcher<Integer, Integer> batcher = track(DynamicBatcher.<Integer, Integer>builder(inputs -> inputs)
                .name("eager").maxBatchSize(64).maxDelay(Duration.ZERO).registry(registry).build());
        assertEquals(7, batcher.submit(7).get(PROMPTLY_S, TimeUnit.SECONDS));
    }

    @Test
    void fullQueueRejectsAtOnceAndCountsTheRejection() throws Exception {
        CountDownLatch entered = new CountDownLatch(1);
        DynamicBatcher<Integer, Integer> batcher = track(DynamicBatcher.<Integer, Integer>builder(inputs -> {
            entered.countDown();
            release.await();
            return inputs;
        }).name("full").maxBatchSize(1).maxDelay(Duration.ZERO).queueCapacity(2).registry(registry).build());

        CompletableFuture<Integer> running = batcher.submit(1);
        assertTrue(entered.await(PROMPTLY_S, TimeUnit.SECONDS));
        CompletableFuture<Integer> second = batcher.submit(2);
        CompletableFuture<Integer> third = batcher.submit(3);
        assertEquals(2, batcher.queueDepth());
        assertEquals(2, sample(BatcherMetrics.QUEUE_DEPTH, "full"));

        CompletableFuture<Integer> rejected = batcher.submit(4);

        assertTrue(rejected.isCompletedExceptionally(), "the rejection is immediate");
        Throwable cause = failureOf(rejected);
        assertInstanceOf(BatcherFullException.class, cause);
        assertTrue(cause.getMessage().contains("'full' queue is full (2 requests waiting)"), cause.getMessage());
        assertEquals(1, sample(BatcherMetrics.REJECTED_TOTAL, "full"));

        release.countDown();
        assertEquals(1, running.get(PROMPTLY_S, TimeUnit.SECONDS));
        assertEquals(2, second.get(PROMPTLY_S, TimeUnit.SECONDS));
        assertEquals(3, third.get(PROMPTLY_S, TimeUnit.SECONDS));
        assertEquals(3, sample(BatcherMetrics.BATCH_SIZE + "_sum", "full"));
    }

    @Test
    void closeFailsWaitingAndStuckRequestsPromptlyInsteadOfHanging() throws Exception {
        CountDownLatch entered = new CountDownLatch(1);
        DynamicBatcher<Integer, Integer> batcher = track(DynamicBatcher.<Integer, Integer>builder(inputs -> {
            entered.countDown();
            release.await(); // a batch that does not finish before close gives up on it
            return inputs;
        }).name("stuck").maxBatchSize(1).maxDelay(Duration.ZERO).shutdownTimeout(Duration.ofMillis(100))
                .registry(registry).build());
        CompletableFuture<Integer> running = batcher.submit(1);
        assertTrue(entered.await(PROMPTLY_S, TimeUnit.SECONDS));
        CompletableFuture<Integer> waiting = batcher.submit(2);

        CompletableFuture<Void> closing = CompletableFuture.runAsync(batcher::close);
        closing.get(PROMPTLY_S, TimeUnit.SECONDS);

        Throwable waitingCause = failureOf(waiting);
        assertInstanceOf(BatcherClosedException.class, waitingCause);
        assertTrue(waitingCause.getMessage().contains("closed before this request was run"),
                waitingCause.getMessage());
        Throwable runningCause = failureOf(running);
        assertInstanceOf(BatcherClosedException.class, runningCause);
        assertTrue(runningCause.getMessage().contains("shutdown timeout of 100 ms"), runningCause.getMessage());
        Throwable late = failureOf(batcher.submit(3));
        assertInstanceOf(BatcherClosedException.class, late);
        assertEquals(0, batcher.queueDepth());
    }

    @Test
    void closeLetsTheRunningBatchFinishWithinTheShutdownTimeout() throws Exception {
        CountDownLatch entered = new CountDownLatch(1);
        DynamicBatcher<Integer, Integer> batcher = track(DynamicBatcher.<Integer, Integer>builder(inputs -> {
            entered.countDown();
            Thread.sleep(200);
            return inputs;
        }).name("finish").maxBatchSize(1).maxDelay(Duration.ZERO).registry(registry).build());
        CompletableFuture<Integer> running = batcher.submit(1);
        assertTrue(entered.await(PROMPTLY_S, TimeUnit.SECONDS));
        CompletableFuture<Integer> waiting = batcher.submit(2);

        batcher.close();

        assertTrue(running.isDone(), "close returned before the running batch finished");
        assertEquals(1, running.get());
        assertInstanceOf(BatcherClosedException.class, failureOf(waiting));
        batcher.close(); // idempotent
    }

    @Test
    void closeFromACallbackOnTheWorkerThreadDoesNotDeadlock() throws Exception {
        DynamicBatcher<Integer, Integer> batcher = track(DynamicBatcher.<Integer, Integer>builder(inputs -> inputs)
                .name("self").maxBatchSize(4).maxDelay(Duration.ZERO).registry(registry).build());
        CompletableFuture<Integer> closedInCallback = batcher.submit(1).whenComplete((v, e) -> batcher.close());
        assertEquals(1, closedInCallback.get(PROMPTLY_S, TimeUnit.SECONDS));
        assertInstanceOf(BatcherClosedException.class, failureOf(batcher.submit(2)));
    }

    @Test
    void failingBatchFailsEachOfItsRequestsWithTheCauseAndTheBatcherKeepsServing() throws Exception {
        IllegalArgumentException boom = new IllegalArgumentException("bad tensor");
        DynamicBatcher<Integer, Integer> batcher = track(DynamicBatcher.<Integer, Integer>builder(inputs -> {
            if (inputs.contains(-1)) {
                throw boom;
            }
            return inputs;
        }).name("boom").maxBatchSize(3).maxDelay(Duration.ofMinutes(5)).registry(registry).build());

        List<CompletableFuture<Integer>> poisoned = List.of(batcher.submit(1), batcher.submit(-1), batcher.submit(3));
        for (CompletableFuture<Integer> f : poisoned) {
            BatchFailedException e = assertInstanceOf(BatchFailedException.class, failureOf(f));
            assertSame(boom, e.getCause());
            assertEquals(3, e.batchSize());
            assertTrue(e.getMessage().contains("bad tensor"), e.getMessage());
        }
        List<CompletableFuture<Integer>> healthy = List.of(batcher.submit(4), batcher.submit(5), batcher.submit(6));
        assertEquals(List.of(4, 5, 6), List.of(healthy.get(0).get(PROMPTLY_S, TimeUnit.SECONDS),
                healthy.get(1).get(PROMPTLY_S, TimeUnit.SECONDS), healthy.get(2).get(PROMPTLY_S, TimeUnit.SECONDS)));
        assertEquals(1, sample(BatcherMetrics.FAILED_BATCHES_TOTAL, "boom"));
        assertEquals(2, sample(BatcherMetrics.BATCH_SIZE + "_count", "boom"));
    }

    @Test
    void batchFunctionReturningTheWrongNumberOfResultsFailsTheBatch() throws Exception {
        DynamicBatcher<Integer, Integer> batcher = track(DynamicBatcher.<Integer, Integer>builder(
                inputs -> inputs.subList(0, 1)).name("short").maxBatchSize(2).maxDelay(Duration.ofMinutes(5))
                .registry(registry).build());
        CompletableFuture<Integer> a = batcher.submit(1);
        CompletableFuture<Integer> b = batcher.submit(2);
        for (CompletableFuture<Integer> f : List.of(a, b)) {
            BatchFailedException e = assertInstanceOf(BatchFailedException.class, failureOf(f));
            assertTrue(e.getMessage().contains("returned 1 results for 2 inputs"), e.getMessage());
            assertNull(e.getCause());
        }
    }

    @Test
    void batchersWithDifferentNamesShareOneRegistryWithSeparateSeries() throws Exception {
        DynamicBatcher<Integer, Integer> a = track(DynamicBatcher.<Integer, Integer>builder(inputs -> inputs)
                .name("model-a").maxBatchSize(1).maxDelay(Duration.ZERO).registry(registry).build());
        DynamicBatcher<Integer, Integer> b = track(DynamicBatcher.<Integer, Integer>builder(inputs -> inputs)
                .name("model-b").maxBatchSize(1).maxDelay(Duration.ZERO).registry(registry).build());
        a.submit(1).get(PROMPTLY_S, TimeUnit.SECONDS);
        b.submit(1).get(PROMPTLY_S, TimeUnit.SECONDS);
        b.submit(2).get(PROMPTLY_S, TimeUnit.SECONDS);

        assertEquals(1, sample(BatcherMetrics.BATCH_SIZE + "_count", "model-a"));
        assertEquals(2, sample(BatcherMetrics.BATCH_SIZE + "_count", "model-b"));
        assertSame(BatcherMetrics.on(registry), BatcherMetrics.on(registry));
    }

    /** A batch function stuck in native code: interrupts do not end it, only the test's release does. */
    private void hangUntilReleased() {
        while (true) {
            try {
                release.await();
                return;
            } catch (InterruptedException e) {
                // ignored, as a native call would
            }
        }
    }

    @Test
    void aHungWorkerClosesTheBatcherAsStalledAndFailsEveryPendingRequest() throws Exception {
        CountDownLatch entered = new CountDownLatch(1);
        DynamicBatcher<Integer, Integer> batcher = track(DynamicBatcher.<Integer, Integer>builder(inputs -> {
            entered.countDown();
            hangUntilReleased();
            return inputs;
        }).name("hung").maxBatchSize(1).maxDelay(Duration.ZERO).stallTimeout(Duration.ofMillis(300))
                .registry(registry).build());
        CompletableFuture<Integer> running = batcher.submit(1);
        assertTrue(entered.await(PROMPTLY_S, TimeUnit.SECONDS));
        CompletableFuture<Integer> waiting = batcher.submit(2);
        assertTrue(batcher.isServing(), "within its stall timeout the worker is merely slow");

        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(PROMPTLY_S);
        while (batcher.isServing() && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertFalse(batcher.isServing(), "a worker without progress for the stall timeout is not serving");
        assertTrue(batcher.stalled().contains("2 requests were pending"), batcher.stalled());
        for (CompletableFuture<Integer> pending : List.of(running, waiting, batcher.submit(3))) {
            Throwable cause = failureOf(pending);
            assertInstanceOf(BatcherClosedException.class, cause);
            assertTrue(cause.getMessage().contains("closed as stalled"), cause.getMessage());
        }
        assertEquals(1, registry.getSampleValue(BatcherMetrics.STALLS_TOTAL, new String[] {BatcherMetrics.LABEL},
                new String[] {"hung"}));

        // Closing does not wait for the hung worker, and cleanup waits for it to return.
        CompletableFuture.runAsync(batcher::close).get(PROMPTLY_S, TimeUnit.SECONDS);
        CountDownLatch cleanedUp = new CountDownLatch(1);
        batcher.afterWorker(cleanedUp::countDown);
        assertFalse(batcher.workerStopped());
        assertEquals(1, cleanedUp.getCount(), "nothing the worker uses is freed while it is still inside");
        release.countDown();
        assertTrue(cleanedUp.await(PROMPTLY_S, TimeUnit.SECONDS), "cleanup runs once the worker returns");
        assertTrue(batcher.workerStopped());
    }

    @Test
    void aSlowButProgressingWorkerAndAnIdleOneAreNotStalled() throws Exception {
        DynamicBatcher<Integer, Integer> batcher = track(DynamicBatcher.<Integer, Integer>builder(inputs -> {
            Thread.sleep(50);
            return inputs;
        }).name("slow").maxBatchSize(1).maxDelay(Duration.ZERO).queueCapacity(64)
                .stallTimeout(Duration.ofSeconds(1)).registry(registry).build());
        // 40 batches of 50 ms queued at once: the last waits 2 s, twice the stall timeout, but a batch finishes
        // every 50 ms
        List<CompletableFuture<Integer>> results = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            results.add(batcher.submit(i));
        }
        for (int i = 0; i < 40; i++) {
            assertEquals(i, results.get(i).get(PROMPTLY_S, TimeUnit.SECONDS));
            assertTrue(batcher.isServing());
        }
        Thread.sleep(1500); // idle longer than the stall timeout: no request pending, so no stall
        assertTrue(batcher.isServing());
        assertEquals(7, batcher.submit(7).get(PROMPTLY_S, TimeUnit.SECONDS));
        assertNull(batcher.stalled());
    }

    @Test
    void builderRejectsInconsistentOptionsNamingThem() {
        IllegalStateException tooSmall = assertThrows(IllegalStateException.class,
                () -> DynamicBatcher.<Integer, Integer>builder(inputs -> inputs).name("x").maxBatchSize(64)
                        .queueCapacity(8).registry(registry).build());
        assertTrue(tooSmall.getMessage().contains("queueCapacity (8)") && tooSmall.getMessage()
                .contains("maxBatchSize (64)"), tooSmall.getMessage());
        assertThrows(IllegalStateException.class,
                () -> DynamicBatcher.<Integer, Integer>builder(inputs -> inputs).registry(registry).build());
        assertThrows(IllegalArgumentException.class,
                () -> DynamicBatcher.<Integer, Integer>builder(inputs -> inputs).maxDelay(Duration.ofMillis(-1)));
        assertThrows(IllegalArgumentException.class,
                () -> DynamicBatcher.<Integer, Integer>builder(inputs -> inputs).maxBatchSize(0));
        assertThrows(IllegalArgumentException.class,
                () -> DynamicBatcher.<Integer, Integer>builder(inputs -> inputs).stallTimeout(Duration.ofMillis(-1)));
    }
}
