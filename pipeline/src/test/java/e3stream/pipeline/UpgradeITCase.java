package e3stream.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import e3stream.pipeline.testutils.KafkaIO;
import e3stream.pipeline.testutils.RunningJob;
import e3stream.pipeline.testutils.SharedKafka;
import e3stream.pipeline.testutils.TestData;
import org.apache.flink.api.common.JobStatus;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Upgrading the model with a savepoint (issue 11, item 1): stop the job with a savepoint, start it from there with
 * another bundle (the operators keep their uids), and every input still ends in exactly one output, decided by the
 * model that ran when it arrived.
 */
class UpgradeITCase {

    @Test
    void stopWithSavepointAndRestartWithAnotherBundleDecidesEveryEventOnce(@TempDir Path dir) throws Exception {
        String prefix = "upgrade-";
        SharedKafka.createTopics(prefix);
        E3StreamJobITCase.kafka = SharedKafka.get();
        String servers = SharedKafka.get().bootstrapServers();
        Map<String, byte[]> all = E3StreamJobITCase.pngs(600);
        Map<String, byte[]> before = new LinkedHashMap<>();
        Map<String, byte[]> after = new LinkedHashMap<>();
        all.forEach((id, png) -> (before.size() < 300 ? before : after).put(id, png));
        List<String> outputs = List.of(prefix + "predictions", prefix + "review", prefix + "images-dlq");
        Map<String, String> checkpoints = Map.of("checkpoint.dir", dir.resolve("checkpoints").toUri().toString());

        String savepoint;
        try (RunningJob job = RunningJob.start(E3StreamJobITCase.options(prefix, checkpoints))) {
            E3StreamJobITCase.produce(prefix + "images", before, List.of(), 1_700_000_000_000L);
            KafkaIO.readUntil(servers, outputs, r -> r.size() >= before.size(), Duration.ofMinutes(10), Duration.ZERO);
            // The job's MiniCluster shuts down once the job has stopped: the savepoint's path is what remains.
            savepoint = job.stopWithSavepoint(dir.resolve("savepoints").toUri().toString());
            assertTrue(java.nio.file.Files.isRegularFile(Path.of(java.net.URI.create(savepoint)).resolve("_metadata")),
                    "savepoint written: " + savepoint);
        }
        Map<String, String> upgraded = new HashMap<>(checkpoints);
        upgraded.put("model.bundle", TestData.repoRoot().resolve("models/de-vmoe").toString());
        try (RunningJob job = RunningJob.fromSavepoint(E3StreamJobITCase.options(prefix, upgraded), savepoint)) {
            E3StreamJobITCase.produce(prefix + "images", after, List.of(), 1_700_000_100_000L);
            List<KafkaIO.Read> reads = KafkaIO.readUntil(servers, outputs, r -> r.size() >= all.size(),
                    Duration.ofMinutes(10), Duration.ofSeconds(5));
            assertEquals(JobStatus.RUNNING, job.status());

            Map<String, List<String>> modelsById = new HashMap<>();
            for (KafkaIO.Read r : reads) {
                modelsById.computeIfAbsent(r.json().path("id").asText(), k -> new ArrayList<>())
                        .add(r.json().path("model").path("name").asText());
            }
            assertEquals(all.keySet(), modelsById.keySet(), "every input has an output, and nothing else does");
            List<String> wrong = new ArrayList<>();
            modelsById.forEach((id, models) -> {
                String expected = before.containsKey(id) ? "e3" : "de-vmoe";
                if (!models.equals(List.of(expected))) {
                    wrong.add(id + " -> " + models + " (expected once by " + expected + ")");
                }
            });
            assertEquals(List.of(), wrong, "each event decided exactly once, by the model running when it came");
            assertTrue(reads.size() == all.size(), "no extra records: " + reads.size());
        }
    }
}
