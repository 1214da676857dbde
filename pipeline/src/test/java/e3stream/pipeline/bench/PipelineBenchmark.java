package e3stream.pipeline.bench;

import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;

import e3stream.pipeline.E3StreamOptions;
import e3stream.pipeline.embedded.ImageEvents;
import e3stream.runtime.session.SharedSessions;
import e3stream.pipeline.testutils.KafkaIO;
import e3stream.pipeline.testutils.RunningJob;
import e3stream.pipeline.testutils.TestData;
import e3stream.runtime.data.ImageSet;
import e3stream.runtime.decode.DecodeLimits;
import e3stream.runtime.decode.ImageDecoder;
import e3stream.runtime.model.E3Model;
import e3stream.runtime.model.ExecutionOptions;
import e3stream.runtime.model.ModelBundle;
import org.apache.flink.configuration.Configuration;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * The pipeline benchmark (BENCHMARKS.md, section "Pipeline"), all in one JVM and one run:
 * <ol>
 *   <li>raw model throughput: {@link E3Model#memberLogits} on batches of {@code inference.max-batch-size}, ONNX
 *       Runtime's default threads with and without idle spinning; the better of the two is "raw";</li>
 *   <li>end-to-end throughput: N PNG events already in Kafka, the job from its first to its last output visible to
 *       a read_committed consumer, in EXACTLY_ONCE and AT_LEAST_ONCE mode for each model thread setting
 *       (model.intra-op-threads / model.intra-op-spinning, fourth argument, default {@code 0/on,0/off,1/off}), two
 *       rounds alternating;</li>
 *   <li>end-to-end latency (send time to visible to a read_committed consumer) at half the highest measured
 *       exactly-once throughput, with that run's thread setting, at-least-once and exactly-once at each checkpoint
 *       interval of the third argument (default {@code 1 s,200 ms}), for each {@code job.buffer-timeout} of the
 *       fifth argument (default {@code 100 ms,10 ms}) and each {@code checkpoint.unaligned} of the sixth (default
 *       {@code false}); at-least-once at each checkpoint interval of the seventh (default {@code 1 s}); all of these for
 *       each {@code checkpoint.changelog} setting of the eighth (default {@code false,true}).</li>
 * </ol>
 * With {@code -Dbench.variants} (see {@link #variants()}) every throughput and latency run is made once per set of
 * job options, the sets alternating innermost. With {@code -Dbench.broker=process} the broker runs in a JVM of its
 * own ({@link BenchBroker}); by default it shares the harness's JVM with the job.
 * Command (BENCHMARKS.md): {@code ./mvnw -q -pl pipeline -am install -DskipTests && ./mvnw -q -pl pipeline
 * test-compile -Dskip.python.tests && ./mvnw -q -pl pipeline exec:exec -Dexec.executable=java
 * -Dexec.classpathScope=test -Dexec.args="-classpath %classpath e3stream.pipeline.bench.PipelineBenchmark 30000 20"}
 * (events per throughput run, seconds per latency run). Prints the load average before and after: a figure taken
 * on a busy machine says so.
 */
public final class PipelineBenchmark {

    private static final int WARMUP_SECONDS = Integer.getInteger("bench.warmup-seconds", 25);
    /**
     * Latency runs so far: numbers each run's topics, so that a setting listed twice (e.g. {@code '1 s,1 s,1 s'}: the
     * run-to-run spread of one setting in one JVM) gets topics and a trace file of its own.
     */
    private static final java.util.concurrent.atomic.AtomicInteger LATENCY_RUNS = new java.util.concurrent.atomic.AtomicInteger();

    /**
     * -Dbench.variants="key=value;key=value|key=value": sets of job options compared side by side in one JVM. Each
     * throughput and latency run is made once per set, the sets alternating innermost, so that a comparison of two
     * settings sees the same minutes of this VM's moving speed (one JVM after another differed by a quarter in
     * throughput). A key {@code flink:<key>} is a Flink setting of that set's runs (as {@code -Dbench.flink}).
     * Without it, one empty set.
     */
    static List<Map<String, String>> variants() {
        List<Map<String, String>> variants = new ArrayList<>();
        for (String variant : System.getProperty("bench.variants", "").split("\\|", -1)) {
            variants.add(parseSettings(variant));
        }
        return variants;
    }

    /** The job options of the variant being run (options() adds them after -Dbench.options). */
    private static Map<String, String> variant = Map.of();

    /** " [key=value, ...]" naming the variant in a result line when there are several, else "". */
    private static String variantLabel(List<Map<String, String>> variants) {
        return variants.size() > 1 ? " [" + (variant.isEmpty() ? "defaults" : variant.toString()) + "]" : "";
    }

    public static void main(String[] args) throws Exception {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 30000;
        int latencySeconds = args.length > 1 ? Integer.parseInt(args[1]) : 20;
        // Checkpoint intervals at which exactly-once latency is measured (what a user trades for checkpoint cost).
        List<String> intervals = List.of((args.length > 2 ? args[2] : "1 s,200 ms").split(","));
        // Model thread settings compared end to end, each "threads/spinning": model.intra-op-threads (0 = ONNX
        // Runtime's default, one per core) and model.intra-op-spinning (on = ONNX Runtime's default).
        List<String> threadSettings = List.of((args.length > 3 ? args[3] : "0/on,0/off,1/off").split(","));
        // job.buffer-timeout settings at which latency is measured (100 ms is Flink's default).
        List<String> bufferTimeouts = List.of((args.length > 4 ? args[4] : "100 ms,10 ms").split(","));
        // checkpoint.unaligned settings at which latency is measured.
        List<String> unalignedSettings = List.of((args.length > 5 ? args[5] : "false").split(","));
        // Checkpoint intervals of the at-least-once latency runs (checkpoints do not gate its outputs; a long interval
        // shows what the checkpoints themselves add to its tail).
        List<String> atLeastOnceIntervals = List.of((args.length > 6 ? args[6] : "1 s").split(","));
        // checkpoint.changelog settings at which latency is measured (the eighth argument, default both).
        List<String> changelogSettings = List.of((args.length > 7 ? args[7] : "false,true").split(","));
        ImageSet set = TestData.fashionTest();
        List<byte[]> pngs = new ArrayList<>();
        for (int i = 0; i < set.count(); i++) {
            pngs.add(ImageEvents.png(set.imageBytes(i), set.height(), set.width()));
        }
        System.out.printf(Locale.ROOT, "%d cores, load average %.2f%n", Runtime.getRuntime().availableProcessors(),
                ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
        int batch = 32;
        // The bare model at its best: ONNX Runtime's default threads, with and without idle spinning.
        double rawSpinning = rawThroughput(pngs, batch, Duration.ofSeconds(10), true);
        double rawSleeping = rawThroughput(pngs, batch, Duration.ofSeconds(10), false);
        double raw = Math.max(rawSpinning, rawSleeping);
        System.out.printf(Locale.ROOT, "raw model throughput (batch %d, 1 session, default threads): %.0f images/s "
                + "spinning, %.0f images/s sleeping; raw = %.0f%n", batch, rawSpinning, rawSleeping, raw);

        try (BenchBroker kafka = BenchBroker.start()) {
            // Two rounds, the modes and thread settings alternating: the first job in a JVM also pays for JIT warm-up.
            double e2e = 0;
            double bestAtLeastOnce = 0;
            String best = threadSettings.get(0).trim();
            // -Dbench.latency-rate=N: latency runs only, at N events/s (experiments on the latency tail).
            Integer fixedRate = Integer.getInteger("bench.latency-rate");
            List<Map<String, String>> variants = variants();
            for (int round = 1; round <= (fixedRate == null ? 2 : 1); round++) { // with a fixed rate, round 1 warms up
                for (String threads : threadSettings) {
                    for (E3StreamOptions.Delivery mode : E3StreamOptions.Delivery.values()) {
                        for (int v = 0; v < variants.size(); v++) {
                            variant = variants.get(v);
                            double t = throughput(kafka, pngs, n, mode, round, threads.trim(), v);
                            System.out.printf(Locale.ROOT, "end-to-end throughput (%s, intra-op threads/spinning %s, %d "
                                    + "events, round %d): %.0f events/s = %.2f x raw%s%n", mode, threads.trim(), n, round, t,
                                    t / raw, variantLabel(variants));
                            if (mode == E3StreamOptions.Delivery.AT_LEAST_ONCE) {
                                bestAtLeastOnce = Math.max(bestAtLeastOnce, t);
                            }
                            if (mode == E3StreamOptions.Delivery.EXACTLY_ONCE && t > e2e) {
                                e2e = t;
                                best = threads.trim();
                            }
                        }
                    }
                }
            }
            if (fixedRate == null) {
                // The bare model again, after the throughput runs: on this VM its speed moves between minutes (one
                // run measured 3,839 images/s before and the pipeline then ran at 4,386 events/s), so the ratios
                // are taken against the better of the two measurements.
                double rawAfter = Math.max(rawThroughput(pngs, batch, Duration.ofSeconds(10), true),
                        rawThroughput(pngs, batch, Duration.ofSeconds(10), false));
                double bestRaw = Math.max(raw, rawAfter);
                System.out.printf(Locale.ROOT, "raw model throughput after the throughput runs: %.0f images/s; "
                        + "best raw = %.0f; best end to end: exactly-once %.2f x, at-least-once %.2f x best raw%n",
                        rawAfter, bestRaw, e2e / bestRaw, bestAtLeastOnce / bestRaw);
            }
            int rate = fixedRate != null ? fixedRate : (int) Math.max(1, e2e / 2);
            System.out.printf(Locale.ROOT, "latency runs: intra-op threads/spinning %s, half the best exactly-once "
                    + "throughput%n", best);
            for (String changelogSetting : changelogSettings) {
                String changelog = changelogSetting.trim();
                for (String unalignedSetting : unalignedSettings) {
                    String unaligned = unalignedSetting.trim();
                    for (String bufferTimeout : bufferTimeouts) {
                        String bt = bufferTimeout.trim();
                        for (Map.Entry<E3StreamOptions.Delivery, List<String>> run : List.of(
                                Map.entry(E3StreamOptions.Delivery.AT_LEAST_ONCE, atLeastOnceIntervals),
                                Map.entry(E3StreamOptions.Delivery.EXACTLY_ONCE, intervals))) {
                            for (String interval : run.getValue()) {
                                if (interval.isBlank()) {
                                    continue; // an empty list of intervals skips that mode
                                }
                                for (Map<String, String> v : variants) {
                                    variant = v;
                                    // a variant's own checkpoint.changelog wins (options() adds it last): name that one
                                    String changelogOfRun = v.getOrDefault("checkpoint.changelog", changelog);
                                    double[] p = latency(kafka, pngs, run.getKey(), rate, latencySeconds, interval.trim(), best,
                                            bt, unaligned, changelogOfRun);
                                    System.out.printf(Locale.ROOT, "latency at %d events/s, %s, job.buffer-timeout %s, "
                                            + "checkpoint.unaligned %s, checkpoint.changelog %s, checkpoint.interval %s: p50 "
                                            + "%.0f ms, p99 %.0f ms (%d events, run %d); JVM CPU %.2f of %d cores, %.0f us per "
                                            + "event%s%n", rate, run.getKey(), bt, unaligned, changelogOfRun, interval.trim(),
                                            p[0], p[1], (long) p[2], LATENCY_RUNS.get(), p[3],
                                            Runtime.getRuntime().availableProcessors(), p[3] * 1e6 / rate,
                                            variantLabel(variants));
                                }
                            }
                        }
                    }
                }
            }
        }
        SharedSessions.jvm().releaseIdleNow();
        System.out.printf(Locale.ROOT, "load average at the end %.2f%n",
                ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
        System.exit(0);
    }

    static double rawThroughput(List<byte[]> pngs, int batch, Duration duration, boolean spinning)
            throws Exception {
        ModelBundle bundle = ModelBundle.load(TestData.bundle());
        ImageDecoder decoder = ImageDecoder.forInput(bundle.manifest().input(), DecodeLimits.defaults());
        int size = decoder.tensorSize();
        float[] stacked = new float[batch * size];
        for (int i = 0; i < batch; i++) {
            System.arraycopy(decoder.decode(ImageDecoder.PNG, pngs.get(i), null, null, null), 0, stacked, i * size, size);
        }
        try (E3Model model = E3Model.open(bundle, ExecutionOptions.builder().intraOpSpinning(spinning).build())) {
            for (int i = 0; i < 20; i++) {
                model.memberLogits(stacked, batch);
            }
            long images = 0;
            long start = System.nanoTime();
            long end = start + duration.toNanos();
            while (System.nanoTime() < end) {
                model.memberLogits(stacked, batch);
                images += batch;
            }
            return images / ((System.nanoTime() - start) / 1e9);
        }
    }

    static E3StreamOptions options(BenchBroker kafka, String prefix, E3StreamOptions.Delivery mode,
                                   String checkpointInterval, String threads, String bufferTimeout) {
        return options(kafka, prefix, mode, checkpointInterval, threads, bufferTimeout, "false", "false");
    }

    static E3StreamOptions options(BenchBroker kafka, String prefix, E3StreamOptions.Delivery mode,
                                   String checkpointInterval, String threads, String bufferTimeout, String unaligned,
                                   String changelog) {
        Map<String, String> m = new LinkedHashMap<>(KafkaIO.map(
                "kafka.bootstrap-servers", kafka.bootstrapServers(),
                "model.bundle", TestData.bundle().toString(),
                "kafka.topic.images", prefix + "images", "kafka.topic.labels", prefix + "labels",
                "kafka.topic.predictions", prefix + "predictions", "kafka.topic.review", prefix + "review",
                "kafka.topic.dlq", prefix + "images-dlq", "kafka.topic.calibration", prefix + "calibration",
                "kafka.group-id", prefix + "job", "kafka.transactional-id-prefix", prefix + "tx",
                "delivery.guarantee", mode.name(), "checkpoint.interval", checkpointInterval, "metrics.port", "0",
                "job.parallelism", "2", "inference.max-batch-size", "32", "inference.max-delay", "5 ms",
                "model.intra-op-threads", threads.split("/")[0],
                "model.intra-op-spinning", String.valueOf(threads.endsWith("/on")),
                "job.buffer-timeout", bufferTimeout, "checkpoint.unaligned", unaligned,
                "checkpoint.changelog", changelog));
        m.putAll(settings("bench.options")); // -Dbench.options: further job options for every run (experiments)
        variant.forEach((key, value) -> {
            if (!key.startsWith(FLINK_SETTING)) {
                m.put(key, value);
            }
        });
        return E3StreamOptions.of(m);
    }

    /**
     * -Dbench.flink="key=value;key=value": Flink settings of the MiniCluster, as a cluster's configuration would
     * set them (experiments, e.g. {@code state.backend.type=rocksdb;execution.checkpointing.incremental=true}).
     */
    static Configuration flinkSettings() {
        Map<String, String> flink = settings("bench.flink");
        variant.forEach((key, value) -> {
            if (key.startsWith(FLINK_SETTING)) {
                flink.put(key.substring(FLINK_SETTING.length()), value);
            }
        });
        return Configuration.fromMap(flink);
    }

    /** A variant's key with this prefix is a Flink setting of that variant's runs, as -Dbench.flink for all. */
    private static final String FLINK_SETTING = "flink:";

    /** The settings in system property {@code property}, written {@code "key=value;key=value"}; none when unset. */
    static Map<String, String> settings(String property) {
        return parseSettings(System.getProperty(property, ""));
    }

    /** "key=value;key=value" as a map, in order. */
    static Map<String, String> parseSettings(String settings) {
        Map<String, String> parsed = new LinkedHashMap<>();
        for (String setting : settings.split(";")) {
            if (!setting.isBlank()) {
                parsed.put(setting.substring(0, setting.indexOf('=')).trim(),
                        setting.substring(setting.indexOf('=') + 1).trim());
            }
        }
        return parsed;
    }

    static void createTopics(BenchBroker kafka, String prefix) {
        kafka.createTopics(2, prefix + "images", prefix + "labels", prefix + "predictions", prefix + "review",
                prefix + "images-dlq", prefix + "calibration");
    }

    static double throughput(BenchBroker kafka, List<byte[]> pngs, int n, E3StreamOptions.Delivery mode, int round,
                             String threads, int variantIndex) throws Exception {
        String prefix = "bench-tp-" + round + "-" + threads.replace('/', '-') + "-" + mode.name().toLowerCase(Locale.ROOT)
                + "-" + (variantIndex > 0 ? "v" + variantIndex + "-" : "");
        createTopics(kafka, prefix);
        try (KafkaProducer<byte[], byte[]> producer = KafkaIO.producer(kafka.bootstrapServers())) {
            // Event times 1 ms apart from now: valid for the job's timestamp window (epoch ms, not in the future).
            long base = System.currentTimeMillis() - n;
            for (int i = 0; i < n; i++) {
                String id = "tp-" + i;
                KafkaIO.send(producer, prefix + "images", id, ImageEvents.imageEvent(id, base + i, "bench", "image/png",
                        pngs.get(i % pngs.size())), System.currentTimeMillis());
            }
            KafkaIO.flush(producer);
        }
        try (RunningJob job = RunningJob.start(options(kafka, prefix, mode, "1 s", threads, "100 ms"), flinkSettings());
             KafkaConsumer<byte[], byte[]> consumer = consumer(kafka, prefix)) {
            long first = 0;
            long last = 0;
            long seen = 0;
            long deadline = System.nanoTime() + Duration.ofMinutes(15).toNanos();
            while (seen < n && System.nanoTime() < deadline) {
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(50))) {
                    refuseDeadLetter(r);
                    long now = System.nanoTime();
                    if (seen == 0) {
                        first = now;
                    }
                    last = now;
                    seen++;
                }
            }
            if (seen < n) {
                throw new IllegalStateException("only " + seen + " of " + n + " outputs arrived");
            }
            // From the first visible output to the last: excludes start-up; exactly-once outputs appear a checkpoint at
            // a time, so N must span many checkpoint intervals.
            return (seen - 1) / ((last - first) / 1e9);
        }
    }

    static double[] latency(BenchBroker kafka, List<byte[]> pngs, E3StreamOptions.Delivery mode, int rate, int seconds,
                            String checkpointInterval, String threads, String bufferTimeout, String unaligned,
                            String changelog) throws Exception {
        String prefix = "bench-lat-" + threads.replace('/', '-') + "-" + bufferTimeout.replaceAll("[^0-9a-z]", "") + "-"
                + ("true".equals(unaligned) ? "unaligned-" : "") + ("true".equals(changelog) ? "changelog-" : "")
                + mode.name().toLowerCase(Locale.ROOT) + "-"
                + checkpointInterval.replaceAll("[^0-9a-z]", "") + "-" + LATENCY_RUNS.incrementAndGet() + "-";
        createTopics(kafka, prefix);
        List<Long> latencies = new ArrayList<>();
        double cpuCores;
        // -Dbench.trace=FILE: every measured event's send time and latency (ms), one file per run (named by its topic
        // prefix): where the tail comes from.
        String traceFile = System.getProperty("bench.trace");
        java.io.PrintWriter trace = traceFile == null ? null
                : new java.io.PrintWriter(new java.io.FileWriter(traceFile + "-" + prefix + "txt"));
        try (RunningJob job = RunningJob.start(options(kafka, prefix, mode, checkpointInterval, threads, bufferTimeout,
                unaligned, changelog), flinkSettings());
             KafkaConsumer<byte[], byte[]> consumer = consumer(kafka, prefix);
             KafkaProducer<byte[], byte[]> producer = KafkaIO.producer(kafka.bootstrapServers())) {
            // Warm up until the job answers, then measure.
            // Send times by the event's sequence number, in one array: the harness shares the job's JVM and heap,
            // and a map of boxed times by id would be tens of MB of objects surviving every young collection,
            // lengthening the job's GC pauses with the harness's own bookkeeping.
            int total = rate * (seconds + WARMUP_SECONDS);
            java.util.concurrent.atomic.AtomicLongArray sentAt = new java.util.concurrent.atomic.AtomicLongArray(total);
            String run = UUID.randomUUID().toString();
            Thread sender = new Thread(() -> {
                long start = System.nanoTime();
                for (int i = 0; i < total; i++) {
                    long due = start + i * 1_000_000_000L / rate;
                    long wait = due - System.nanoTime();
                    if (wait > 0) {
                        java.util.concurrent.locks.LockSupport.parkNanos(wait);
                    }
                    String id = "lat-" + i + "-" + run;
                    long now = System.currentTimeMillis();
                    sentAt.set(i, now);
                    KafkaIO.send(producer, prefix + "images", id, ImageEvents.imageEvent(id, now, "bench", "image/png",
                            pngs.get(i % pngs.size())), now);
                }
                KafkaIO.flush(producer);
            }, "bench-sender");
            sender.start();
            // The first seconds warm up (25 by default; -Dbench.warmup-seconds): the new job's start and the backlog
            // it gathers meanwhile are not what a running job's latency is.
            long measureFrom = System.currentTimeMillis() + 1000L * WARMUP_SECONDS;
            long measureTo = measureFrom + seconds * 1000L;
            // The JVM's CPU time over the measured seconds (job, harness and, unless -Dbench.broker=process, the
            // broker): how close to the machine's capacity the rate runs, which sets how long a stall takes to clear.
            ThreadCpu cpuFrom = null;
            ThreadCpu cpuTo = null;
            while (System.currentTimeMillis() < measureTo + 5000) {
                long loopAt = System.currentTimeMillis();
                if (cpuFrom == null && loopAt >= measureFrom) {
                    cpuFrom = ThreadCpu.snapshot();
                }
                if (cpuTo == null && loopAt >= measureTo) {
                    cpuTo = ThreadCpu.snapshot();
                }
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(20))) {
                    refuseDeadLetter(r);
                    long now = System.currentTimeMillis();
                    long sent = sentAt.get(sequence(r.key()));
                    if (sent >= measureFrom && sent < measureTo) {
                        latencies.add(now - sent);
                        if (trace != null) {
                            trace.printf(Locale.ROOT, "%d %d%n", sent, now - sent);
                        }
                    }
                }
            }
            sender.join();
            cpuCores = cpuTo.coresSince(cpuFrom, seconds);
            System.out.println("  CPU by thread group over the measured seconds: " + cpuTo.coresByGroupSince(cpuFrom, seconds));
        } finally {
            if (trace != null) {
                trace.close();
            }
        }
        long[] l = latencies.stream().mapToLong(Long::longValue).sorted().toArray();
        if (l.length == 0) {
            throw new IllegalStateException("no outputs in the measured interval");
        }
        return new double[] {l[l.length / 2], l[Math.min(l.length - 1, (int) Math.ceil(l.length * 0.99) - 1)], l.length,
                cpuCores};
    }

    /** The sequence number in a latency run's event id, {@code lat-<sequence>-<run>}. */
    static int sequence(byte[] key) {
        int sequence = 0;
        for (int i = "lat-".length(); key[i] != '-'; i++) {
            sequence = sequence * 10 + (key[i] - '0');
        }
        return sequence;
    }

    /** The benchmark measures decisions: a dead letter means the harness sent something the job refuses. */
    static void refuseDeadLetter(ConsumerRecord<byte[], byte[]> r) {
        if (r.topic().endsWith("images-dlq")) {
            throw new IllegalStateException("the job dead-lettered a benchmark event: "
                    + new String(r.value(), StandardCharsets.UTF_8).substring(0, Math.min(300, r.value().length)));
        }
    }

    static KafkaConsumer<byte[], byte[]> consumer(BenchBroker kafka, String prefix) {
        Properties props = new Properties();
        props.put("bootstrap.servers", kafka.bootstrapServers());
        props.put("group.id", prefix + "bench-" + UUID.randomUUID());
        props.put("auto.offset.reset", "earliest");
        props.put("isolation.level", "read_committed");
        props.put("key.deserializer", ByteArrayDeserializer.class.getName());
        props.put("value.deserializer", ByteArrayDeserializer.class.getName());
        KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(props);
        consumer.subscribe(Arrays.asList(prefix + "predictions", prefix + "review", prefix + "images-dlq"));
        return consumer;
    }
}
