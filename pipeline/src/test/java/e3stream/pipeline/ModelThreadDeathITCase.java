package e3stream.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import e3stream.pipeline.testutils.KafkaIO;
import e3stream.pipeline.testutils.RunningJob;
import e3stream.pipeline.testutils.SharedKafka;
import e3stream.runtime.session.SharedSessions;
import org.apache.flink.api.common.JobStatus;
import org.junit.jupiter.api.Test;

/**
 * The model's batcher thread dies mid-stream (interrupted, the one fault of it a test can cause from outside): the
 * tasks waiting on it fail, Flink restarts them from the checkpoint, the broken session is replaced rather than handed
 * out again, and every event is still decided exactly once.
 */
class ModelThreadDeathITCase {

    @Test
    void aDeadBatcherIsReplacedAfterTheRestartAndTheStreamKeepsMoving() throws Exception {
        String prefix = "thread-death-";
        SharedKafka.createTopics(prefix);
        E3StreamJobITCase.kafka = SharedKafka.get();
        Map<String, byte[]> all = E3StreamJobITCase.pngs(800);
        Map<String, byte[]> first = new LinkedHashMap<>();
        Map<String, byte[]> second = new LinkedHashMap<>();
        all.forEach((id, png) -> (first.size() < 400 ? first : second).put(id, png));
        List<String> outputs = List.of(prefix + "predictions", prefix + "review", prefix + "images-dlq");
        String servers = SharedKafka.get().bootstrapServers();

        try (RunningJob job = RunningJob.start(E3StreamJobITCase.options(prefix, Map.of()))) {
            int sent = E3StreamJobITCase.produce(prefix + "images", first, List.of(), 1_700_000_000_000L);
            KafkaIO.readUntil(servers, outputs, r -> r.size() >= first.size(), Duration.ofMinutes(10), Duration.ZERO);
            int loadsBefore = SharedSessions.jvm().loads();

            List<Thread> workers = new ArrayList<>();
            for (Thread t : Thread.getAllStackTraces().keySet()) {
                if (t.getName().startsWith("e3-batcher-")) {
                    workers.add(t);
                }
            }
            assertFalse(workers.isEmpty(), "the shared session's batcher thread is running");
            workers.forEach(Thread::interrupt);
            for (Thread t : workers) {
                t.join(10_000);
                assertFalse(t.isAlive(), "the interrupted batcher thread " + t.getName() + " stopped");
            }

            sent += E3StreamJobITCase.produce(prefix + "images", second, List.of(), 1_700_000_100_000L);
            List<KafkaIO.Read> reads = KafkaIO.readUntil(servers, outputs, r -> r.size() >= all.size(),
                    Duration.ofMinutes(10), Duration.ofSeconds(5));
            E3StreamJobITCase.assertExactlyOnce(prefix, reads, all, List.of());
            assertEquals(sent, reads.size());
            assertTrue(SharedSessions.jvm().loads() > loadsBefore, "the broken session was replaced by a new one");
            assertEquals(JobStatus.RUNNING, job.status());
        }
    }
}
