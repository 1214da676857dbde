package e3stream.runtime.bench;

import ai.onnxruntime.OrtEnvironment;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import e3stream.runtime.batch.BatchFunction;
import e3stream.runtime.batch.DynamicBatcher;
import e3stream.runtime.model.E3Model;
import e3stream.runtime.model.ExecutionOptions;
import e3stream.runtime.model.ModelBundle;
import e3stream.runtime.model.ModelOutput.ImageOutput;
import e3stream.runtime.session.ModelSession;
import io.prometheus.client.CollectorRegistry;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;

/**
 * Measures the {@link DynamicBatcher} in front of one ONNX Runtime session on a real model bundle, side by side with
 * calling the same session directly, and prints Markdown tables (for BENCHMARKS.md).
 *
 * <pre>
 * ./mvnw -q -pl model-runtime test-compile exec:java -Dexec.classpathScope=test \
 *     -Dexec.mainClass=e3stream.runtime.bench.BatcherBenchmark -Dexec.args="--bundle models/e3"
 * </pre>
 *
 * <ol>
 *   <li><b>Throughput</b>: {@code --callers} threads (default 64) each submit one image and wait for its result, in a
 *       loop, through a batcher with {@code --batch} (default 32) and {@code --delay-ms} (default 2); versus one
 *       thread calling the session directly with batches of {@code --batch} images. Both call the same
 *       {@code runBatch} (stack the images, one {@code session.run}, split the result) on the same session, one call
 *       at a time, so the ratio is the cost of batching itself (queueing, hand-offs, futures, batches that start
 *       before they are full). The two alternate in {@code --rounds} (default 5) windows of {@code --window}
 *       (default 5) seconds, so background load hits both alike. Reported three ways: images per wall-clock second
 *       (on a shared machine this is mostly how much CPU the scheduler gives each path); CPU time per image of the
 *       compute thread (the direct loop's thread vs the batcher's worker, whose whole cycle per batch is counted:
 *       batching logic, model call, completing the futures) — the critical path, so their ratio is the throughput
 *       ratio when that thread has a core; and images per CPU second of the whole process (callers included).
 *       A third closed loop whose batch function skips the model measures the batcher's own cost per request.
 *   <li><b>Queue wait vs max delay</b>: for each of {@code --delays-ms} (default 0,1,2,5,10), the same saturated
 *       closed loop and an open loop at {@code --light-rate} requests/s (default 200; arrivals at fixed intervals,
 *       not waiting for results); the wait of each request, from submission to the start of its batch, is measured
 *       exactly (not from histogram buckets).
 * </ol>
 * {@code --intra-op-threads} defaults to 1: the session then computes on the calling thread (the direct loop or the
 * batcher's worker) with no spinning thread pool, so both paths use exactly one compute thread and their CPU time is
 * comparable; 0 means ONNX Runtime's default. The model is the bundle's {@link E3Model} (sha256-verified, validated
 * against model.json); the images are golden.json's (real, normalised test images), cycled.
 */
public final class BatcherBenchmark {

    private final E3Model model;
    private final BatchFunction<float[], ImageOutput> modelBatch;
    private final int imageSize;
    private final float[][] images;

    /** One request: an image and when it was submitted (for the exact queue wait). */
    private record Request(float[] image, long submittedNanos) {}

    private BatcherBenchmark(Path bundleDir, int intraOpThreads) throws IOException {
        ModelBundle bundle = ModelBundle.load(bundleDir);
        imageSize = bundle.manifest().input().pixelsPerImage();
        Path goldenPath = bundle.goldenPath().orElseThrow(() -> new IllegalArgumentException(
                "bundle " + bundleDir + " has no " + ModelBundle.GOLDEN_FILE + " to take benchmark images from"));
        JsonNode golden = new ObjectMapper().readTree(goldenPath.toFile()).path("inputs");
        images = new float[golden.size()][imageSize];
        for (int i = 0; i < images.length; i++) {
            for (int k = 0; k < imageSize; k++) {
                images[i][k] = (float) golden.get(i).get(k).asDouble();
            }
        }
        model = E3Model.open(bundle, ExecutionOptions.builder().intraOpThreads(intraOpThreads).build());
        modelBatch = ModelSession.batchFunction(model);
    }

    /** The one batch computation both paths use: the stream's own (ModelSession's) stack, run and split. */
    private List<float[][]> runBatch(List<Request> batch) {
        List<float[]> inputs = new ArrayList<>(batch.size());
        for (Request r : batch) {
            inputs.add(r.image());
        }
        try {
            List<float[][]> logits = new ArrayList<>(inputs.size());
            for (ImageOutput out : modelBatch.apply(inputs)) {
                logits.add(out.memberLogits());
            }
            return logits;
        } catch (RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    // ---------------------------------------------------------------- measurements

    /** Throughput (images per wall second) and efficiency (images per CPU second of this whole process). */
    private record Measured(double throughput, double perCpuSecond, double computeThreadCpuUsPerImage) {}

    private static final java.lang.management.ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

    private static final com.sun.management.OperatingSystemMXBean OS =
            (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();

    /** One thread calling runBatch with full batches for the window. */
    private Measured direct(int batchSize, double windowS) {
        List<Request> batch = new ArrayList<>();
        for (int i = 0; i < batchSize; i++) {
            batch.add(new Request(images[i % images.length], 0));
        }
        long end = System.nanoTime() + (long) (windowS * 1e9);
        long cpu0 = OS.getProcessCpuTime();
        long thread0 = THREADS.getCurrentThreadCpuTime();
        long start = System.nanoTime();
        long done = 0;
        long now;
        do {
            runBatch(batch);
            done += batchSize;
            now = System.nanoTime();
        } while (now < end);
        long cpu = OS.getProcessCpuTime() - cpu0;
        long threadCpu = THREADS.getCurrentThreadCpuTime() - thread0;
        return new Measured(done / ((now - start) / 1e9), done / (cpu / 1e9), threadCpu / 1e3 / done);
    }

    /** What one batched run saw. */
    private record Batched(double throughput, double perCpuSecond, double meanBatch, long[] waitsNanos, long failed,
            double workerCpuUsPerRequest) {}

    /** Records exact waits and batch sizes, from the worker thread only, while {@code measuring}. */
    private final class Recorder {
        final AtomicBoolean measuring = new AtomicBoolean();
        /** Skip the model: measures the batcher's own cost per request. */
        final boolean noModel;

        double workerCpuUsPerRequest() {
            return requestsBeforeLatest == 0 ? Double.NaN : (workerCpuLatest - workerCpuFirst) / 1e3 / requestsBeforeLatest;
        }
        long[] waits = new long[1 << 16];
        int count;
        long batches;
        long batchedRequests;
        /** Worker-thread CPU time at the start of the first and latest measured batch, and requests in between. */
        long workerCpuFirst = -1;
        long workerCpuLatest;
        long requestsBeforeLatest;

        Recorder(boolean noModel) {
            this.noModel = noModel;
        }

        List<float[][]> apply(List<Request> batch) {
            long start = System.nanoTime();
            if (measuring.get()) {
                // the worker's whole cycle per batch (waiting logic, model, completing futures) lies between two starts
                workerCpuLatest = THREADS.getCurrentThreadCpuTime();
                if (workerCpuFirst < 0) {
                    workerCpuFirst = workerCpuLatest;
                }
                requestsBeforeLatest = batchedRequests;
                batches++;
                batchedRequests += batch.size();
                for (Request r : batch) {
                    if (count == waits.length) {
                        waits = Arrays.copyOf(waits, waits.length * 2);
                    }
                    waits[count++] = start - r.submittedNanos();
                }
            }
            return noModel ? Collections.nCopies(batch.size(), NO_LOGITS) : runBatch(batch);
        }
    }

    private static final float[][] NO_LOGITS = new float[0][];

    private DynamicBatcher<Request, float[][]> batcher(Recorder recorder, int batchSize, double delayMs, int callers) {
        return DynamicBatcher.<Request, float[][]>builder(recorder::apply).name("bench")
                .maxBatchSize(batchSize).maxDelay(Duration.ofNanos((long) (delayMs * 1e6)))
                .queueCapacity(Math.max(4 * callers, batchSize)).registry(new CollectorRegistry()).build();
    }

    /** {@code callers} threads in a closed loop (submit, wait, repeat) for warm-up + window. */
    private Batched closedLoop(int callers, int batchSize, double delayMs, double windowS, double warmupS)
            throws InterruptedException {
        return closedLoop(callers, batchSize, delayMs, windowS, warmupS, false);
    }

    private Batched closedLoop(int callers, int batchSize, double delayMs, double windowS, double warmupS,
            boolean noModel) throws InterruptedException {
        Recorder recorder = new Recorder(noModel);
        LongAdder completed = new LongAdder();
        LongAdder rejected = new LongAdder();
        AtomicBoolean stop = new AtomicBoolean();
        try (DynamicBatcher<Request, float[][]> batcher = batcher(recorder, batchSize, delayMs, callers)) {
            List<Thread> threads = new ArrayList<>();
            for (int c = 0; c < callers; c++) {
                float[] image = images[c % images.length];
                Thread t = new Thread(() -> {
                    while (!stop.get()) {
                        try {
                            batcher.submit(new Request(image, System.nanoTime())).get();
                            completed.increment();
                        } catch (InterruptedException e) {
                            return;
                        } catch (Exception e) {
                            rejected.increment();
                        }
                    }
                }, "caller-" + c);
                t.setDaemon(true);
                threads.add(t);
                t.start();
            }
            sleep(warmupS);
            long c0 = completed.sum();
            long cpu0 = OS.getProcessCpuTime();
            long t0 = System.nanoTime();
            recorder.measuring.set(true);
            sleep(windowS);
            recorder.measuring.set(false);
            long c1 = completed.sum();
            long t1 = System.nanoTime();
            long cpu = OS.getProcessCpuTime() - cpu0;
            stop.set(true);
            for (Thread t : threads) {
                t.join(TimeUnit.SECONDS.toMillis(30));
            }
            batcher.close(); // joins the worker: its recorder writes happen-before the reads below
            return new Batched((c1 - c0) / ((t1 - t0) / 1e9), (c1 - c0) / (cpu / 1e9),
                    (double) recorder.batchedRequests / recorder.batches, Arrays.copyOf(recorder.waits, recorder.count),
                    rejected.sum(), recorder.workerCpuUsPerRequest());
        }
    }

    /** Arrivals at a fixed rate, not waiting for results (open loop), for warm-up + window. */
    private Batched openLoop(double ratePerS, int batchSize, double delayMs, double windowS, double warmupS)
            throws InterruptedException {
        Recorder recorder = new Recorder(false);
        LongAdder completed = new LongAdder();
        LongAdder rejected = new LongAdder();
        long interval = (long) (1e9 / ratePerS);
        try (DynamicBatcher<Request, float[][]> batcher = batcher(recorder, batchSize, delayMs, 64)) {
            long start = System.nanoTime();
            long measureFrom = start + (long) (warmupS * 1e9);
            long end = measureFrom + (long) (windowS * 1e9);
            long next = start;
            long c0 = -1;
            long cpu0 = 0;
            int i = 0;
            while (true) {
                long now = System.nanoTime();
                if (now >= end) {
                    break;
                }
                if (c0 < 0 && now >= measureFrom) {
                    c0 = completed.sum();
                    cpu0 = OS.getProcessCpuTime();
                    recorder.measuring.set(true);
                }
                if (now < next) {
                    LockSupport.parkNanos(next - now);
                    continue;
                }
                CompletableFuture<float[][]> f = batcher.submit(new Request(images[i++ % images.length], now));
                f.whenComplete((v, e) -> (e == null ? completed : rejected).increment());
                next += interval;
            }
            recorder.measuring.set(false);
            long c1 = completed.sum();
            long cpu = OS.getProcessCpuTime() - cpu0;
            // let the last arrivals finish, so close() fails none of them
            long submitted = i;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (completed.sum() + rejected.sum() < submitted && System.nanoTime() < deadline) {
                Thread.sleep(1);
            }
            batcher.close();
            return new Batched((c1 - c0) / windowS, (c1 - c0) / (cpu / 1e9),
                    (double) recorder.batchedRequests / recorder.batches, Arrays.copyOf(recorder.waits, recorder.count),
                    rejected.sum(), recorder.workerCpuUsPerRequest());
        }
    }

    private static double median(double[] values) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        int n = sorted.length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }

    private static double percentileMs(long[] nanos, double p) {
        if (nanos.length == 0) {
            return Double.NaN;
        }
        long[] sorted = nanos.clone();
        Arrays.sort(sorted);
        int rank = (int) Math.ceil(p / 100.0 * sorted.length); // nearest-rank
        return sorted[Math.max(0, rank - 1)] / 1e6;
    }

    private static void sleep(double seconds) throws InterruptedException {
        Thread.sleep((long) (seconds * 1000));
    }

    // ---------------------------------------------------------------- main

    public static void main(String[] args) throws Exception {
        Map<String, String> opts = parse(args);
        Path bundle = resolveBundle(opts.getOrDefault("bundle", "models/e3"));
        int callers = Integer.parseInt(opts.getOrDefault("callers", "64"));
        int batch = Integer.parseInt(opts.getOrDefault("batch", "32"));
        double delayMs = Double.parseDouble(opts.getOrDefault("delay-ms", "2"));
        double window = Double.parseDouble(opts.getOrDefault("window", "5"));
        int rounds = Integer.parseInt(opts.getOrDefault("rounds", "5"));
        double warmup = Double.parseDouble(opts.getOrDefault("warmup", "1"));
        double lightRate = Double.parseDouble(opts.getOrDefault("light-rate", "200"));
        int threads = Integer.parseInt(opts.getOrDefault("intra-op-threads", "1"));
        double[] delays = Arrays.stream(opts.getOrDefault("delays-ms", "0,1,2,5,10").split(","))
                .mapToDouble(Double::parseDouble).toArray();

        BatcherBenchmark bench = new BatcherBenchmark(bundle, threads);
        StringBuilder out = new StringBuilder();
        out.append("Run ").append(Instant.now()).append(" | bundle ").append(bundle.getFileName()).append(" | ")
                .append(machine()).append('\n');
        out.append("Options: callers=").append(callers).append(" batch=").append(batch).append(" delay-ms=")
                .append(delayMs).append(" window=").append(window).append("s rounds=").append(rounds)
                .append(" warmup=").append(warmup).append("s light-rate=").append(lightRate)
                .append("/s intra-op-threads=").append(threads == 0 ? "ORT default" : threads).append('\n');
        out.append("Other processes: ").append(otherLoad()).append("\n\n");
        System.out.print(out);

        // warm-up of the session and JIT for both paths
        bench.direct(batch, warmup);
        bench.closedLoop(callers, batch, delayMs, warmup, warmup);

        // 1. throughput, alternating windows
        double directSum = 0;
        double batchedSum = 0;
        double directCpuSum = 0;
        double batchedCpuSum = 0;
        double directThreadSum = 0;
        double workerSum = 0;
        double[] wallRatios = new double[rounds];
        double[] cpuRatios = new double[rounds];
        double[] threadRatios = new double[rounds];
        StringBuilder table = new StringBuilder("| round | direct (images/s) | batched, " + callers
                + " callers (images/s) | wall ratio | direct: compute thread (CPU-us/image)"
                + " | batched: worker thread (CPU-us/request) | compute-thread ratio | process images/CPU-s ratio"
                + " | mean batch |\n|---|---|---|---|---|---|---|---|---|\n");
        for (int r = 1; r <= rounds; r++) {
            Measured d = bench.direct(batch, window);
            Batched b = bench.closedLoop(callers, batch, delayMs, window, warmup);
            directSum += d.throughput();
            batchedSum += b.throughput();
            directCpuSum += d.perCpuSecond();
            batchedCpuSum += b.perCpuSecond();
            directThreadSum += d.computeThreadCpuUsPerImage();
            workerSum += b.workerCpuUsPerRequest();
            wallRatios[r - 1] = b.throughput() / d.throughput();
            cpuRatios[r - 1] = b.perCpuSecond() / d.perCpuSecond();
            threadRatios[r - 1] = d.computeThreadCpuUsPerImage() / b.workerCpuUsPerRequest();
            String line = String.format(Locale.ROOT, "| %d | %.0f | %.0f | %.3f | %.1f | %.1f | %.3f | %.3f | %.1f |%n",
                    r, d.throughput(), b.throughput(), wallRatios[r - 1], d.computeThreadCpuUsPerImage(),
                    b.workerCpuUsPerRequest(), threadRatios[r - 1], cpuRatios[r - 1], b.meanBatch());
            table.append(line);
            System.out.print("round " + line);
        }
        table.append(String.format(Locale.ROOT,
                "| **all rounds** | %.0f | %.0f | **%.3f** | %.1f | %.1f | **%.3f** | **%.3f** | |%n",
                directSum / rounds, batchedSum / rounds, batchedSum / directSum, directThreadSum / rounds,
                workerSum / rounds, directThreadSum / workerSum, batchedCpuSum / directCpuSum));
        table.append(String.format(Locale.ROOT, "| **median of rounds** | | | **%.3f** | | | **%.3f** | **%.3f** | |%n",
                median(wallRatios), median(threadRatios), median(cpuRatios)));

        // batcher machinery alone: the same closed loop with a batch function that skips the model
        Batched machinery = bench.closedLoop(callers, batch, delayMs, window, warmup, true);
        String overhead = String.format(Locale.ROOT, "Batcher machinery alone (batch function skips the model, same %d"
                + " callers, batch %d): %.0f requests/s; worker thread %.2f CPU-us per request (the critical path);"
                + " whole process %.1f CPU-us per request (callers' submit and wake-up included). The model call itself"
                + " costs %.1f CPU-us per image on the direct path (mean of rounds).%n", callers, batch,
                machinery.throughput(), machinery.workerCpuUsPerRequest(), 1e6 / machinery.perCpuSecond(),
                directThreadSum / rounds);
        System.out.print(overhead);

        // 2. queue wait vs max delay
        StringBuilder waits = new StringBuilder("| max delay (ms) | load | throughput (req/s) | mean batch"
                + " | queue wait p50 (ms) | queue wait p99 (ms) | rejected or failed |\n|---|---|---|---|---|---|---|\n");
        for (double d : delays) {
            Batched sat = bench.closedLoop(callers, batch, d, window, warmup);
            Batched light = bench.openLoop(lightRate, batch, d, window, warmup);
            for (Object[] row : new Object[][] {{callers + " callers, closed loop", sat},
                    {String.format(Locale.ROOT, "%.0f req/s, open loop", lightRate), light}}) {
                Batched b = (Batched) row[1];
                String line = String.format(Locale.ROOT, "| %s | %s | %.0f | %.1f | %.2f | %.2f | %d |%n",
                        fmt(d), row[0], b.throughput(), b.meanBatch(), percentileMs(b.waitsNanos(), 50),
                        percentileMs(b.waitsNanos(), 99), b.failed());
                waits.append(line);
                System.out.print("delay " + line);
            }
        }
        System.out.println();
        System.out.println("Throughput, batch size " + batch + ", max delay " + fmt(delayMs) + " ms:");
        System.out.println();
        System.out.print(table);
        System.out.println();
        System.out.print(overhead);
        System.out.println();
        System.out.println("Queue wait vs max delay, max batch size " + batch + ":");
        System.out.println();
        System.out.print(waits);
        System.out.println();
        System.out.println("Other processes at the end: " + otherLoad());
        bench.model.close();
    }

    private static String fmt(double d) {
        return d == Math.rint(d) ? String.valueOf((long) d) : String.valueOf(d);
    }

    private static String machine() {
        return Runtime.getRuntime().availableProcessors() + " CPUs, " + System.getProperty("os.name") + " "
                + System.getProperty("os.arch") + ", Java " + System.getProperty("java.version") + ", ONNX Runtime "
                + OrtEnvironment.getEnvironment().getVersion();
    }

    /** Load average and any training process, so a report says honestly what else was running. */
    private static String otherLoad() {
        double load = ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
        long training = ProcessHandle.allProcesses()
                .filter(p -> p.info().commandLine().orElse("").contains("train.py")).count();
        return String.format(Locale.ROOT, "load average %.1f, %d training process(es) (train.py) running", load,
                training);
    }

    private static Path resolveBundle(String value) {
        Path p = Path.of(value);
        if (!p.isAbsolute() && !Files.isDirectory(p)) {
            // under `mvn -pl model-runtime exec:java` the working directory may be the module; try the repo root
            String root = System.getProperty("maven.multiModuleProjectDirectory", System.getProperty("e3.repo.root"));
            if (root != null && Files.isDirectory(Path.of(root).resolve(value))) {
                p = Path.of(root).resolve(value);
            }
        }
        if (!Files.isRegularFile(p.resolve("model.onnx"))) {
            throw new IllegalArgumentException("no model bundle at " + p.toAbsolutePath()
                    + " (expected model.onnx, model.json, golden.json); pass --bundle <dir>");
        }
        return p;
    }

    private static Map<String, String> parse(String[] args) {
        Map<String, String> opts = new LinkedHashMap<>();
        List<String> known = List.of("bundle", "callers", "batch", "delay-ms", "window", "rounds", "warmup",
                "light-rate", "intra-op-threads", "delays-ms");
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (!a.startsWith("--") || i + 1 >= args.length) {
                throw new IllegalArgumentException("expected --option value pairs, got '" + a + "'; options: " + known);
            }
            String key = a.substring(2);
            if (!known.contains(key)) {
                throw new IllegalArgumentException("unknown option --" + key + "; options: " + known);
            }
            opts.put(key, args[++i]);
        }
        return opts;
    }
}
