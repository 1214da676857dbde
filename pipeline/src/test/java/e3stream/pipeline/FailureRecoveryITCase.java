package e3stream.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import e3stream.pipeline.embedded.ImageEvents;
import e3stream.pipeline.internal.inference.DecodedImage;
import e3stream.runtime.session.SharedSessions;
import e3stream.pipeline.internal.metrics.PipelineMetrics;
import e3stream.pipeline.testutils.KafkaIO;
import e3stream.pipeline.testutils.RunningJob;
import e3stream.pipeline.testutils.SharedKafka;
import org.apache.flink.api.common.functions.RichMapFunction;
import org.apache.flink.api.common.state.CheckpointListener;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

/**
 * A task failure mid-stream: the job restarts from its last checkpoint, outputs stay exactly once, the model stays
 * loaded, and labels still join and close their calibration window afterwards; with the heap state backend and with
 * the changelog state backend ({@code checkpoint.changelog}).
 */
class FailureRecoveryITCase {

    /** Throws once, on the first image after the test arms it; counts completed checkpoints. Static: one JVM. */
    static final class FailOnce extends RichMapFunction<DecodedImage, DecodedImage> implements CheckpointListener {
        static final AtomicBoolean ARMED = new AtomicBoolean();
        static final AtomicBoolean FAILED = new AtomicBoolean();
        static final AtomicInteger CHECKPOINTS = new AtomicInteger();

        @Override
        public DecodedImage map(DecodedImage image) {
            if (ARMED.get() && FAILED.compareAndSet(false, true)) {
                throw new IllegalStateException("injected failure (test) at image " + image.id);
            }
            return image;
        }

        @Override
        public void notifyCheckpointComplete(long checkpointId) {
            CHECKPOINTS.incrementAndGet();
        }
    }

    /** With {@code checkpoint.changelog} the restore reads the state from the changelog as well. */
    @ParameterizedTest(name = "checkpoint.changelog {0}")
    @ValueSource(booleans = {false, true})
    void restartsFromTheCheckpointWithoutLosingOrRepeatingAnEventOrReloadingTheModel(boolean changelog,
                                                                                     @TempDir Path checkpoints)
            throws Exception {
        String prefix = changelog ? "fail-changelog-" : "fail-";
        FailOnce.ARMED.set(false);
        FailOnce.FAILED.set(false);
        FailOnce.CHECKPOINTS.set(0);
        SharedKafka.createTopics(prefix);
        E3StreamJobITCase.kafka = SharedKafka.get();
        Map<String, byte[]> all = E3StreamJobITCase.pngs(1200);
        Map<String, byte[]> first = new LinkedHashMap<>();
        Map<String, byte[]> second = new LinkedHashMap<>();
        all.forEach((id, png) -> (first.size() < 600 ? first : second).put(id, png));
        List<Object[]> bad = E3StreamJobITCase.malformed();
        List<Object[]> badFirst = new ArrayList<>(bad.subList(0, bad.size() / 2));
        List<Object[]> badSecond = new ArrayList<>(bad.subList(bad.size() / 2, bad.size()));
        List<String> outputs = List.of(prefix + "predictions", prefix + "review", prefix + "images-dlq");

        try (RunningJob job = RunningJob.start(E3StreamJobITCase.options(prefix,
                        Map.of("checkpoint.dir", checkpoints.toUri().toString(),
                                "checkpoint.changelog", String.valueOf(changelog),
                                // the labels below come while the images are idle, as delayed labels do
                                "windows.idleness", "1 s")),
                s -> s.map(new FailOnce()).name("fail-once"))) {
            int sent = E3StreamJobITCase.produce(prefix + "images", first, badFirst, 1_700_000_000_000L);
            // Everything of the first half committed means at least one checkpoint completed.
            KafkaIO.readUntil(SharedKafka.get().bootstrapServers(), outputs, r -> r.size() >= first.size() + badFirst.size(),
                    Duration.ofMinutes(10), Duration.ZERO);
            int loadsBeforeFailure = SharedSessions.jvm().loads();
            assertTrue(FailOnce.CHECKPOINTS.get() >= 1, "a checkpoint completed before the failure");
            try (Stream<Path> files = Files.walk(checkpoints)) {
                assertTrue(files.anyMatch(f -> f.getFileName().toString().equals("_metadata")),
                        "checkpoints are written to checkpoint.dir");
            }
            if (changelog) {
                try (Stream<Path> files = Files.walk(checkpoints.resolve("changelog"))) {
                    assertTrue(files.anyMatch(Files::isRegularFile), "state changes are logged under checkpoint.dir");
                }
            }
            FailOnce.ARMED.set(true);
            sent += E3StreamJobITCase.produce(prefix + "images", second, badSecond, 1_700_000_100_000L);

            List<KafkaIO.Read> reads = KafkaIO.readUntil(SharedKafka.get().bootstrapServers(), outputs,
                    r -> r.size() >= all.size() + bad.size(), Duration.ofMinutes(10), Duration.ofSeconds(5));
            assertTrue(FailOnce.FAILED.get(), "the injected failure happened");
            E3StreamJobITCase.assertExactlyOnce(prefix, reads, all, bad);
            assertEquals(sent, reads.size());
            assertEquals(loadsBeforeFailure, SharedSessions.jvm().loads(), "the restarted tasks reused the loaded model session");

            // After the restart the event-time machinery still works: labels for the second half join the
            // predictions waiting in (restored) state, and a later image closes their window.
            double joinedBefore = PipelineMetrics.get().labelsJoined.get();
            String servers = SharedKafka.get().bootstrapServers();
            try (KafkaProducer<byte[], byte[]> producer = KafkaIO.producer(servers)) {
                int i = 0;
                for (String id : second.keySet()) {
                    KafkaIO.send(producer, prefix + "labels", id, ImageEvents.labelEvent(id, E3StreamJobITCase.fashion()
                            .label(first.size() + i), 1_700_000_100_000L + i), 1_700_000_100_000L + i);
                    i++;
                }
                KafkaIO.flush(producer);
                long deadline = System.nanoTime() + Duration.ofMinutes(5).toNanos();
                while (PipelineMetrics.get().labelsJoined.get() - joinedBefore < second.size() && System.nanoTime() < deadline) {
                    Thread.sleep(200);
                }
                long closing = 1_700_000_200_000L;
                KafkaIO.send(producer, prefix + "images", "fail-closing", ImageEvents.imageEvent("fail-closing", closing,
                        "test", "image/png", E3StreamJobITCase.png(0)), closing);
                KafkaIO.flush(producer);
            }
            List<KafkaIO.Read> calibration = KafkaIO.readUntil(servers, List.of(prefix + "calibration"),
                    r -> r.stream().anyMatch(x -> "calibration".equals(x.json().path("kind").asText())
                            && x.json().path("window").path("start").asLong() == 1_700_000_100_000L),
                    Duration.ofMinutes(5), Duration.ZERO);
            JsonNode window = CalibrationITCase.only(calibration, "calibration", 1_700_000_100_000L);
            assertEquals(second.size(), window.get("count").asLong(), "every label of the second half counted");
        }
    }
}
