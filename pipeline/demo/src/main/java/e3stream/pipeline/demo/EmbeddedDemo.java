package e3stream.pipeline.demo;

import java.nio.file.Files;
import e3stream.pipeline.internal.FlinkSettings;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import com.fasterxml.jackson.databind.JsonNode;
import e3stream.pipeline.E3StreamJob;
import e3stream.pipeline.E3StreamOptions;
import e3stream.pipeline.embedded.EmbeddedKafka;
import e3stream.pipeline.embedded.ImageEvents;
import e3stream.pipeline.internal.events.Json;
import e3stream.runtime.session.SharedSessions;
import e3stream.pipeline.internal.metrics.MetricsServer;
import e3stream.pipeline.internal.metrics.PortRange;
import e3stream.pipeline.internal.metrics.PipelineMetrics;
import e3stream.runtime.data.IdxReader;
import e3stream.runtime.data.ImageSet;
import e3stream.runtime.data.Corruption;
import e3stream.runtime.data.Corruptions;
import e3stream.runtime.model.BundleException;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * README command 1: an in-process KRaft Kafka broker, a Flink MiniCluster and the E3 Stream job on the shipped
 * bundle, fed with Fashion-MNIST test images as PNG events in phases (clean; corrupted with rising severity;
 * out-of-distribution MNIST digits mixed in; clean again), with labels published after a delay; then, with model
 * control on, three model phases on clean images: a second bundle shadow-scored beside the active one, then promoted
 * to decide, then rolled back, each started by a command on the control topic. Prints one line per closed window
 * (events/s, review rate, ECE, PSI, estimated vs realised accuracy; under it, while a shadow runs, the two models
 * side by side), each command's answer, and a summary per phase and of the two models, serves Prometheus metrics,
 * and exits (or, with {@code --forever}, keeps replaying clean images until Ctrl-C).
 *
 * <p>Options: {@code --rate N} events/s (150), {@code --phase-size N} images per phase (1200), {@code --window S}
 * seconds (4), {@code --label-delay MS} (1500), {@code --metrics-port P} (9464; a range FROM-TO takes its first free port; 0 = none), {@code --bundle DIR}
 * (models/e3), {@code --shadow-bundle DIR} (models/de-vmoe; {@code none}: no model phases), {@code --data DIR} (data),
 * {@code --parallelism N} (2), {@code --forever}.
 */
public final class EmbeddedDemo {

    private record Phase(String name, long start, long end) { }

    private final Map<String, String> flags;
    /** Finished phases (written by the replay thread, read by the printer). */
    private final List<Phase> phases = new CopyOnWriteArrayList<>();
    /** The phase being sent now, if any. */
    private volatile Phase running;
    private final Map<Long, JsonNode> drift = new TreeMap<>();
    private final Map<Long, JsonNode> calibration = new TreeMap<>();
    private final Map<Long, JsonNode> shadowCalibration = new TreeMap<>();
    private final java.util.Set<Long> shadowPrinted = new java.util.HashSet<>();
    private final AtomicBoolean stop = new AtomicBoolean();

    private EmbeddedDemo(Map<String, String> flags) {
        this.flags = flags;
    }

    static final String USAGE = "usage: EmbeddedDemo [--rate N] [--phase-size N] [--window SECONDS] [--label-delay MS] "
            + "[--metrics-port P|FROM-TO] [--bundle DIR] [--shadow-bundle DIR|none] [--data DIR] [--parallelism N] "
            + "[--forever]";
    private static final java.util.Set<String> VALUE_FLAGS = java.util.Set.of("rate", "phase-size", "window",
            "label-delay", "metrics-port", "bundle", "shadow-bundle", "data", "parallelism");

    /** Exit codes as bin/e3stream documents them: 0 done, 1 failed (an exception), 2 bad configuration. */
    public static void main(String[] args) throws Exception {
        Map<String, String> flags = new LinkedHashMap<>();
        for (int i = 0; i < args.length; i++) {
            String name = args[i].startsWith("--") ? args[i].substring(2) : null;
            if (args[i].equals("--help") || args[i].equals("-h")) {
                System.out.println(USAGE);
                System.exit(0);
            } else if ("forever".equals(name)) {
                flags.put("forever", "true");
            } else if (VALUE_FLAGS.contains(name) && i + 1 < args.length) {
                flags.put(name, args[++i]);
            } else {
                System.err.println("demo: " + (VALUE_FLAGS.contains(name) ? "option " + args[i] + " needs a value"
                        : "unknown option '" + args[i] + "'"));
                System.err.println(USAGE);
                System.exit(2);
            }
        }
        try {
            new EmbeddedDemo(flags).run();
        } catch (IllegalArgumentException | BundleException e) {
            // Flags, data files and the bundle are checked before the replay starts.
            System.err.println("demo: bad configuration: " + e.getMessage());
            System.exit(2);
        }
        System.exit(0);
    }

    private int intFlag(String name, int fallback) {
        String v = flag(name, Integer.toString(fallback));
        try {
            return Integer.parseInt(v);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--" + name + " needs an integer, got '" + v + "'");
        }
    }

    private String flag(String name, String fallback) {
        return flags.getOrDefault(name, fallback);
    }

    private Path repoPath(String relative) {
        Path p = Path.of(relative);
        if (p.isAbsolute() || Files.exists(p)) {
            return p;
        }
        String root = System.getProperty("e3.repo.root");
        return root == null ? p : Path.of(root).resolve(relative);
    }

    private void run() throws Exception {
        int rate = intFlag("rate", 150);
        int phaseSize = intFlag("phase-size", 1200);
        int windowSeconds = intFlag("window", 4);
        long labelDelay = intFlag("label-delay", 1500);
        PortRange metricsPorts;
        try {
            metricsPorts = PortRange.parse(flag("metrics-port", "9464"));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--metrics-port: " + e.getMessage(), e);
        }
        boolean forever = flags.containsKey("forever");
        Path bundle = repoPath(flag("bundle", "models/e3"));
        String shadowFlag = flag("shadow-bundle", "models/de-vmoe");
        // Commands name bundles as the job's TaskManagers see them: an absolute path.
        Path shadowBundle = shadowFlag.equals("none") ? null : repoPath(shadowFlag).toAbsolutePath().normalize();
        Path data = repoPath(flag("data", "data"));

        ImageSet fashion = IdxReader.read("fashion-mnist-test-2000", data.resolve("fashion-mnist-test-2000-images-idx3-ubyte.gz"),
                data.resolve("fashion-mnist-test-2000-labels-idx1-ubyte.gz"));
        ImageSet digits = IdxReader.read("mnist-500", data.resolve("mnist-500-images-idx3-ubyte.gz"),
                data.resolve("mnist-500-labels-idx1-ubyte.gz"));

        // What runs and for how long, before anything starts: clean, corrupted (5 severities of phaseSize/5), OOD-mixed
        // (phaseSize/2 clean + as many MNIST digits) and clean-again phases, then a tail that closes the last windows.
        // With a shadow bundle, three model phases of phaseSize/2 clean images each: shadow, promoted, rolled-back.
        int modelPhaseSize = Math.max(1, phaseSize / 2);
        long events = 4L * phaseSize + (shadowBundle == null ? 0 : 3L * modelPhaseSize);
        long seconds = events / Math.max(1, rate) + (labelDelay + 3500 + 2000L * windowSeconds) / 1000;
        System.out.printf(Locale.ROOT, "E3 Stream demo: the E3 job on %s in a Flink MiniCluster with an in-process Kafka "
                + "broker; replays about %d events at %d/s (clean, corrupted, OOD-mixed, clean-again%s) %s, one row per "
                + "%d s window, then a summary.%n", bundle.getFileName(), events, rate,
                shadowBundle == null ? "" : "; then " + shadowBundle.getFileName() + " shadow-scored, promoted, rolled back",
                forever ? "and then clean images until Ctrl-C" : "for about " + seconds + " s after start-up",
                windowSeconds);
        try (EmbeddedKafka kafka = EmbeddedKafka.start()) {
            kafka.createTopics(2, "images", "labels", "predictions", "review", "images-dlq", "calibration", "shadow");
            kafka.createTopics(1, "control", "control-results"); // one partition: commands keep their order
            int port = MetricsServer.ensureStarted(metricsPorts);
            Map<String, String> opts = new LinkedHashMap<>();
            opts.put("kafka.bootstrap-servers", kafka.bootstrapServers());
            opts.put("model.bundle", bundle.toString());
            opts.put("job.parallelism", flag("parallelism", "2"));
            opts.put("checkpoint.interval", "1 s");
            opts.put("windows.size", windowSeconds + " s");
            opts.put("windows.max-out-of-orderness", "500 ms");
            opts.put("windows.idleness", "1 s");
            opts.put("labels.max-delay", (labelDelay + 2500) + " ms");
            opts.put("labels.ttl", "1 min");
            opts.put("metrics.port", metricsPorts.toString());
            opts.put("model.control", Boolean.toString(shadowBundle != null));
            E3StreamOptions options = E3StreamOptions.of(opts);
            StreamExecutionEnvironment env = StreamExecutionEnvironment.createLocalEnvironment(
                    options.get(E3StreamOptions.PARALLELISM), FlinkSettings.localConfiguration(options));
            E3StreamJob.build(env, options);
            JobClient job = env.executeAsync("e3stream-demo");
            System.out.printf("broker %s, job %s, Prometheus metrics: %s%n", kafka.bootstrapServers(), job.getJobID(),
                    port > 0 ? "http://localhost:" + port + "/metrics" : "off");
            System.out.printf("model %s, %d events/s, windows of %d s, labels %d ms after their image%n%n",
                    bundle, rate, windowSeconds, labelDelay);
            // est.acc: mean calibrated confidence; ATC: thresholded confidence, unfamiliar items counted wrong.
            System.out.println("phase      window    events  ev/s  review  PSI(conf) PSI(MI)  PSI(dens)  est.acc  ATC    "
                    + "accuracy  ECE     NLL");

            Thread printer = new Thread(() -> consume(kafka.bootstrapServers(), windowSeconds), "demo-printer");
            printer.setDaemon(true);
            printer.start();
            Runtime.getRuntime().addShutdownHook(new Thread(() -> stop.set(true)));

            try (KafkaProducer<byte[], byte[]> producer = EmbeddedKafka.producer(kafka.bootstrapServers())) {
                LabelSender labels = new LabelSender(producer, labelDelay);
                labels.start();
                Replayer replay = new Replayer(producer, labels, rate);
                // The corrupted images are made before any is sent, so the phases keep to the replay rate.
                ImageSet base = fashion.first(Math.min(phaseSize, fashion.count()));
                Corruption[] kinds = {Corruption.GAUSSIAN_NOISE, Corruption.GAUSSIAN_BLUR, Corruption.CONTRAST,
                        Corruption.ROTATION, Corruption.PIXELATE};
                int per = Math.max(1, phaseSize / 5);
                List<ImageSet> corruptedBySeverity = new ArrayList<>();
                for (int severity = 1; severity <= 5; severity++) {
                    int[] idx = new int[per];
                    for (int i = 0; i < per; i++) {
                        idx[i] = ((severity - 1) * per + i) % base.count();
                    }
                    corruptedBySeverity.add(Corruptions.apply(base.select("slice", idx), kinds[severity - 1], severity,
                            Corruptions.DEFAULT_SEED + severity));
                }
                // Phases last a whole number of windows at the default flags: starting on a window boundary, each
                // window then holds one phase, and the table reads phase by phase.
                replay.startAtWindowBoundary(windowSeconds * 1000L);
                replay.phase("clean", fashion.first(phaseSize), null, 0);
                long startCorrupted = System.currentTimeMillis();
                running = new Phase("corrupted", startCorrupted, Long.MAX_VALUE);
                for (int severity = 1; severity <= 5 && !stop.get(); severity++) {
                    replay.send("corrupt-s" + severity + "-" + kinds[severity - 1].id(), corruptedBySeverity.get(severity - 1),
                            null, 0);
                }
                phases.add(new Phase("corrupted", startCorrupted, System.currentTimeMillis()));
                ImageSet rest = fashion.select("rest", range(fashion.count() - Math.min(phaseSize, fashion.count()) / 2,
                        fashion.count()));
                replay.phase("ood-mixed", rest, digits, 1);
                replay.phase("clean-again", fashion.first(phaseSize), null, 0);
                if (shadowBundle != null) {
                    // Model phases: each command takes effect at one point of the stream; its answer is printed.
                    ImageSet clean = fashion.first(modelPhaseSize);
                    command(producer, "demo-shadow", "{\"id\": \"demo-shadow\", \"command\": \"shadow\", \"bundle\": "
                            + Json.MAPPER.writeValueAsString(shadowBundle.toString()) + ", \"share\": 1.0}");
                    replay.phase("shadow", clean, null, 0);
                    command(producer, "demo-promote", "{\"id\": \"demo-promote\", \"command\": \"promote\"}");
                    replay.phase("promoted", clean, null, 0);
                    command(producer, "demo-rollback", "{\"id\": \"demo-rollback\", \"command\": \"rollback\"}");
                    replay.phase("rolled-back", clean, null, 0);
                }
                while (forever && !stop.get()) {
                    replay.phase("clean-again", fashion, null, 0);
                }
                long productionEnd = System.currentTimeMillis();
                running = new Phase("tail", productionEnd, Long.MAX_VALUE);
                // A trickle of clean images moves event time past the last windows, so they close.
                replay.rate(Math.max(10, rate / 5));
                long tailUntil = productionEnd + labelDelay + 2500 + 2L * windowSeconds * 1000 + 1000;
                while (System.currentTimeMillis() < tailUntil && !stop.get()) {
                    replay.send("tail", fashion.first(50), null, 0, tailUntil);
                }
                phases.add(new Phase("tail", productionEnd, System.currentTimeMillis()));
                labels.drain();
                // Wait (at most 5 min: the job may lag on a busy machine) for the last phase's windows.
                long deadline = System.currentTimeMillis() + 300_000;
                while (!stop.get() && System.currentTimeMillis() < deadline && lastCalibrationEnd() < productionEnd - 1000L * windowSeconds) {
                    Thread.sleep(500);
                }
            }
            stop.set(true);
            job.cancel().get();
            printer.join(5000);
            summary(windowSeconds);
        } finally {
            MetricsServer.stop();
            SharedSessions.jvm().releaseIdleNow();
        }
    }

    private static void command(KafkaProducer<byte[], byte[]> producer, String id, String json) {
        producer.send(new ProducerRecord<>("control", null, System.currentTimeMillis(),
                id.getBytes(java.nio.charset.StandardCharsets.UTF_8), json.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
        producer.flush();
    }

    private static int[] range(int from, int to) {
        int[] r = new int[Math.max(0, to - from)];
        for (int i = 0; i < r.length; i++) {
            r[i] = from + i;
        }
        return r;
    }

    /** Sends images at a fixed rate; each FASHION image's label goes to the label sender. */
    private final class Replayer {
        private final KafkaProducer<byte[], byte[]> producer;
        private final LabelSender labels;
        private long nanosPerEvent;
        private long next = System.nanoTime();
        private long sent;

        Replayer(KafkaProducer<byte[], byte[]> producer, LabelSender labels, int rate) {
            this.producer = producer;
            this.labels = labels;
            this.nanosPerEvent = 1_000_000_000L / Math.max(1, rate);
        }

        void startAtWindowBoundary(long windowMs) throws InterruptedException {
            Thread.sleep(windowMs - System.currentTimeMillis() % windowMs);
            next = System.nanoTime();
        }

        void rate(int perSecond) {
            nanosPerEvent = 1_000_000_000L / Math.max(1, perSecond);
        }

        void phase(String name, ImageSet images, ImageSet ood, int oodEvery) {
            long start = System.currentTimeMillis();
            running = new Phase(name, start, Long.MAX_VALUE);
            send(name, images, ood, oodEvery);
            phases.add(new Phase(name, start, System.currentTimeMillis()));
        }

        /** Sends {@code images}; with {@code ood}, one OOD digit after every {@code oodEvery} images. */
        void send(String source, ImageSet images, ImageSet ood, int oodEvery) {
            send(source, images, ood, oodEvery, Long.MAX_VALUE);
        }

        void send(String source, ImageSet images, ImageSet ood, int oodEvery, long untilMs) {
            int o = 0;
            for (int i = 0; i < images.count() && !stop.get() && System.currentTimeMillis() < untilMs; i++) {
                String id = "img-" + UUID.randomUUID();
                one(id, source, images.imageBytes(i), images.height(), images.width());
                labels.later(id, images.label(i));
                if (ood != null && (i + 1) % oodEvery == 0) {
                    one("ood-" + UUID.randomUUID(), "mnist", ood.imageBytes(o % ood.count()), ood.height(), ood.width());
                    o++;
                }
            }
        }

        private void one(String id, String source, byte[] pixels, int h, int w) {
            long wait = next - System.nanoTime();
            if (wait > 0) {
                try {
                    TimeUnit.NANOSECONDS.sleep(wait);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    stop.set(true);
                }
            }
            next = Math.max(next + nanosPerEvent, System.nanoTime() - 50 * nanosPerEvent);
            long now = System.currentTimeMillis();
            producer.send(new ProducerRecord<>("images", null, now, id.getBytes(java.nio.charset.StandardCharsets.UTF_8),
                    ImageEvents.pngEvent(id, now, source, pixels, h, w)));
            sent++;
        }
    }

    private void consume(String servers, int windowSeconds) {
        Properties props = new Properties();
        props.put("bootstrap.servers", servers);
        props.put("group.id", "demo-printer");
        props.put("auto.offset.reset", "earliest");
        props.put("isolation.level", "read_committed");
        props.put("key.deserializer", ByteArrayDeserializer.class.getName());
        props.put("value.deserializer", ByteArrayDeserializer.class.getName());
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(props)) {
            consumer.subscribe(List.of("calibration", "control-results"));
            while (!stop.get()) {
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(300))) {
                    JsonNode j;
                    try {
                        j = Json.MAPPER.readTree(r.value());
                    } catch (Exception e) {
                        continue;
                    }
                    if (r.topic().equals("control-results")) {
                        printAnswer(j);
                        continue;
                    }
                    long start = j.path("window").path("start").asLong();
                    synchronized (this) {
                        String kind = j.path("kind").asText();
                        if ("drift".equals(kind)) {
                            drift.put(start, j);
                        } else if ("shadow-calibration".equals(kind)) {
                            shadowCalibration.put(start, j);
                            printShadow(start, windowSeconds * 1000L);
                        } else {
                            calibration.put(start, j);
                            print(start, windowSeconds);
                            printShadow(start, windowSeconds * 1000L);
                        }
                    }
                }
            }
        }
    }

    private synchronized long lastCalibrationEnd() {
        long end = 0;
        for (JsonNode c : calibration.values()) {
            end = Math.max(end, c.path("window").path("end").asLong());
        }
        return end;
    }

    private void print(long start, int windowSeconds) {
        JsonNode d = drift.get(start);
        JsonNode c = calibration.get(start);
        if (d == null || c == null) {
            return;
        }
        System.out.printf(Locale.ROOT, "%-10s %s %6d %5.0f  %5.1f%%  %8.3f %8.3f  %9.3f  %7.3f  %5.3f  %8.3f  %6.3f  "
                        + "%6.3f%n",
                phaseOf(start + windowSeconds * 500L), String.format(Locale.ROOT, "%tT", start),
                d.path("count").asLong(), d.path("count").asDouble() / windowSeconds,
                100 * d.path("review_rate").asDouble(), d.path("psi").path("confidence").asDouble(),
                d.path("psi").path("mutual_information").asDouble(), densityPsi(d),
                d.path("estimated_accuracy").asDouble(),
                d.path("estimated_accuracy_atc").asDouble(Double.NaN),
                c.path("accuracy").asDouble(), c.path("ece").asDouble(), c.path("nll").asDouble());
    }

    /** PSI of the feature log density against the validation reference; NaN for a bundle without the density. */
    private static double densityPsi(JsonNode drift) {
        return drift.path("psi").path("feature_log_density").asDouble(Double.NaN);
    }

    /** One line per answer of the control topic: what the command did and which models run now. */
    private static void printAnswer(JsonNode a) {
        System.out.printf(Locale.ROOT, "control %tT: %-8s %-7s revision %d: active %s, shadow %s%s%n",
                a.path("timestamp").asLong(), a.path("command").asText("?"), a.path("status").asText(),
                a.path("revision").asLong(),
                model(a.path("active")), model(a.path("shadow")),
                a.path("reason").isNull() ? "" : " (" + a.path("reason").asText() + ")");
    }

    private static String model(JsonNode m) {
        return m.isNull() || m.isMissingNode() ? "none" : m.path("name").asText() + " " + m.path("version").asText();
    }

    /**
     * Under a window's row, once its drift, calibration and shadow-calibration records are in: the active and the
     * shadow model side by side on the events the shadow scored (review rate, mean confidence, agreement, confidence
     * PSI) and on their labels (accuracy, ECE, NLL; the active's over all the window's labelled events).
     */
    private void printShadow(long start, long windowMs) {
        JsonNode d = drift.get(start);
        JsonNode c = calibration.get(start);
        JsonNode sc = shadowCalibration.get(start);
        // Only windows of the shadow phase: a window with a switch in it mixes two active models.
        if (d == null || c == null || sc == null || !d.has("shadow") || !"shadow".equals(phaseOf(start + windowMs / 2))
                || !shadowPrinted.add(start)) {
            return;
        }
        JsonNode s = d.get("shadow");
        System.out.printf(Locale.ROOT, "  %-8s vs %-8s review %5.1f%% vs %5.1f%%  conf %.3f vs %.3f  agree %.3f  "
                        + "PSI %.3f  acc %.3f vs %.3f  ECE %.3f vs %.3f  NLL %.3f vs %.3f%n",
                s.path("active_model").path("name").asText(), s.path("model").path("name").asText(),
                100 * s.path("active_review_rate").asDouble(), 100 * s.path("shadow_review_rate").asDouble(),
                s.path("active_mean_confidence").asDouble(), s.path("shadow_mean_confidence").asDouble(),
                s.path("agreement").asDouble(), s.path("confidence_psi").asDouble(),
                c.path("accuracy").asDouble(), sc.path("accuracy").asDouble(), c.path("ece").asDouble(),
                sc.path("ece").asDouble(), c.path("nll").asDouble(), sc.path("nll").asDouble());
    }

    private String phaseOf(long t) {
        for (Phase p : phases) {
            if (t >= p.start && t <= p.end) {
                return p.name;
            }
        }
        Phase now = running;
        if (now != null && t >= now.start) {
            return now.name;
        }
        long firstStart = phases.isEmpty() ? (now == null ? Long.MAX_VALUE : now.start) : phases.get(0).start;
        return t < firstStart || phases.isEmpty() ? "warm-up" : phases.get(phases.size() - 1).name;
    }

    /** The summary of the shadow phase: both models' figures, mean over its windows with a shadow comparison. */
    private void modelsSideBySide(int windowSeconds) {
        double[] t = new double[9];
        String active = "active";
        String shadow = "shadow";
        for (Map.Entry<Long, JsonNode> e : shadowCalibration.entrySet()) {
            JsonNode d = drift.get(e.getKey());
            JsonNode c = calibration.get(e.getKey());
            if (d == null || c == null || !d.has("shadow")
                    || !"shadow".equals(phaseOf(e.getKey() + windowSeconds * 500L))) {
                continue;
            }
            JsonNode s = d.get("shadow");
            JsonNode sc = e.getValue();
            active = s.path("active_model").path("name").asText();
            shadow = s.path("model").path("name").asText();
            t[0]++;
            t[1] += s.path("active_review_rate").asDouble();
            t[2] += s.path("shadow_review_rate").asDouble();
            t[3] += c.path("accuracy").asDouble();
            t[4] += sc.path("accuracy").asDouble();
            t[5] += c.path("ece").asDouble();
            t[6] += sc.path("ece").asDouble();
            t[7] += c.path("nll").asDouble();
            t[8] += sc.path("nll").asDouble();
        }
        if (t[0] == 0) {
            return;
        }
        System.out.printf(Locale.ROOT, "%nmodels side by side while %s was shadow-scored (mean over %.0f windows):%n", shadow, t[0]);
        System.out.println("model       role    review   accuracy  ECE     NLL");
        System.out.printf(Locale.ROOT, "%-11s active  %5.1f%%  %8.3f  %6.3f  %6.3f%n", active, 100 * t[1] / t[0],
                t[3] / t[0], t[5] / t[0], t[7] / t[0]);
        System.out.printf(Locale.ROOT, "%-11s shadow  %5.1f%%  %8.3f  %6.3f  %6.3f%n", shadow, 100 * t[2] / t[0],
                t[4] / t[0], t[6] / t[0], t[8] / t[0]);
        System.out.println("(drift PSI stays measured against the configured bundle's validation reference after a "
                + "promotion: the promoted phase's PSI compares the promoted model with it)");
    }

    private synchronized void summary(int windowSeconds) {
        System.out.println();
        System.out.println("summary by phase (mean over its windows):");
        System.out.println("phase        windows  review   PSI(conf)  PSI(dens)  est.acc  ATC    accuracy  ECE");
        Map<String, double[]> sums = new LinkedHashMap<>();
        for (Map.Entry<Long, JsonNode> e : calibration.entrySet()) {
            JsonNode d = drift.get(e.getKey());
            if (d == null) {
                continue;
            }
            String phase = phaseOf((e.getKey() + e.getValue().path("window").path("end").asLong()) / 2);
            double[] s = sums.computeIfAbsent(phase, k -> new double[8]);
            s[0]++;
            s[1] += d.path("review_rate").asDouble();
            s[2] += d.path("psi").path("confidence").asDouble();
            s[3] += d.path("estimated_accuracy").asDouble();
            s[4] += e.getValue().path("accuracy").asDouble();
            s[5] += e.getValue().path("ece").asDouble();
            s[6] += d.path("estimated_accuracy_atc").asDouble(Double.NaN);
            s[7] += densityPsi(d);
        }
        sums.forEach((phase, s) -> System.out.printf(Locale.ROOT, "%-12s %7.0f  %5.1f%%  %9.3f  %9.3f  %7.3f  %5.3f  "
                        + "%8.3f  %6.3f%n", phase, s[0], 100 * s[1] / s[0], s[2] / s[0], s[7] / s[0], s[3] / s[0],
                s[6] / s[0], s[4] / s[0], s[5] / s[0]));
        modelsSideBySide(windowSeconds);
        PipelineMetrics m = PipelineMetrics.get();
        System.out.printf(Locale.ROOT, "%nevents: %.0f accepted, %.0f to review, %.0f dead letters; labels joined %.0f%n",
                m.events.labels(PipelineMetrics.ACCEPT).get(), m.events.labels(PipelineMetrics.REVIEW).get(),
                m.events.labels(PipelineMetrics.DEAD_LETTER).get(), m.labelsJoined.get());
    }
}
