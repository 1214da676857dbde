package e3stream.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeSet;
import java.util.stream.Collectors;

import e3stream.pipeline.internal.metrics.MetricsServer;
import e3stream.pipeline.testutils.KafkaIO;
import e3stream.pipeline.testutils.RunningJob;
import e3stream.pipeline.testutils.SharedKafka;
import e3stream.runtime.session.SharedSessions;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.TransactionListing;
import org.junit.jupiter.api.Test;

/**
 * What a job leaves behind in a long-lived cluster: after cancel, its class loader's release hooks close the shared
 * model session, its threads and the metrics endpoint (a session cluster's TaskManager keeps running, and a
 * resubmitted job must find the port free and load its own model); and on the broker, its exactly-once sink used a
 * small pool of transactional ids under a prefix of its own (POOLING), not a new id per checkpoint.
 */
class CancelledJobITCase {

    private static List<String> e3Threads() {
        return Thread.getAllStackTraces().keySet().stream().map(Thread::getName)
                .filter(n -> n.startsWith("e3-batcher-") || n.equals("e3-session-releaser"))
                .sorted().collect(Collectors.toList());
    }

    private static boolean listening(int port) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 1000);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    @Test
    void aCancelledJobLeavesNoSessionThreadOrPortAndItsTransactionsUseAFewIdsUnderAPrefixOfItsOwn() throws Exception {
        String prefix = "cancel-";
        SharedKafka.createTopics(prefix);
        E3StreamJobITCase.kafka = SharedKafka.get();
        MetricsServer.stop(); // an endpoint another test of this JVM started outside a job
        int port = CalibrationITCase.freePort();
        Map<String, String> values = new LinkedHashMap<>(E3StreamJobITCase.options(prefix, Map.of(
                "metrics.port", Integer.toString(port), "job.name", prefix + "job")).values());
        values.remove("kafka.transactional-id-prefix"); // the default: unique per job
        E3StreamOptions options = E3StreamOptions.of(values);
        Map<String, byte[]> pngs = E3StreamJobITCase.pngs(100);
        List<Object[]> bad = E3StreamJobITCase.malformed();

        try (RunningJob job = RunningJob.start(options)) {
            int sent = E3StreamJobITCase.produce(prefix + "images", pngs, bad, System.currentTimeMillis() - 60_000);
            List<KafkaIO.Read> reads = KafkaIO.readUntil(SharedKafka.get().bootstrapServers(),
                    List.of(prefix + "predictions", prefix + "review", prefix + "images-dlq"),
                    E3StreamJobITCase.atLeast(sent), Duration.ofMinutes(3), Duration.ofSeconds(1));
            E3StreamJobITCase.assertExactlyOnce(prefix, reads, pngs, bad);
            // Let some 10 more checkpoints (1 s apart) pass: INCREMENTING ids would use 2 new ids for each.
            Thread.sleep(10_000);
            assertTrue(SharedSessions.jvm().open() >= 1, "the model session is open while the job runs");
            assertTrue(e3Threads().stream().anyMatch(n -> n.startsWith("e3-batcher-")), e3Threads().toString());
            assertTrue(listening(port), "the job serves its metrics on " + port);
        }

        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (System.nanoTime() < deadline
                && (SharedSessions.jvm().open() > 0 || !e3Threads().isEmpty() || listening(port))) {
            Thread.sleep(200);
        }
        assertEquals(0, SharedSessions.jvm().open(), "no model session left open");
        assertEquals(List.of(), e3Threads(), "no batcher or session-release thread left");
        assertFalse(listening(port), "metrics port " + port + " is free again");

        Properties props = new Properties();
        props.put("bootstrap.servers", SharedKafka.get().bootstrapServers());
        List<String> ids = new ArrayList<>();
        try (Admin admin = Admin.create(props)) {
            for (TransactionListing t : admin.listTransactions().all().get()) {
                if (t.transactionalId().startsWith(prefix + "job-")) {
                    ids.add(t.transactionalId());
                }
            }
        }
        TreeSet<String> prefixes = new TreeSet<>();
        for (String id : ids) {
            assertTrue(id.matches("cancel-job-[0-9a-f]{8}-.+"), "job name and 8 random hex digits: " + id);
            prefixes.add(id.substring(0, "cancel-job-".length() + 8));
        }
        assertEquals(1, prefixes.size(), "one prefix for the job: " + ids);
        assertTrue(!ids.isEmpty() && ids.size() <= 8, "a pool of a few ids per sink subtask (2 subtasks), reused "
                + "across some 15 checkpoints: " + new TreeSet<>(ids));
    }
}
