package e3stream.pipeline.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import e3stream.pipeline.embedded.EmbeddedKafka;

/**
 * The benchmark's Kafka broker: the embedded KRaft broker in the harness's own JVM (the default, as the demo runs it),
 * or, with {@code -Dbench.broker=process}, the same broker in a JVM of its own, so that the job's heap and
 * collections are not the broker's (as on a cluster, where the broker runs elsewhere). Owned by the harness's main
 * thread; closing it stops the broker (and its process).
 */
interface BenchBroker extends AutoCloseable {

    String bootstrapServers();

    /** Creates the topics on this broker, wherever it runs (by its address). */
    default void createTopics(int partitions, String... topics) {
        EmbeddedKafka.createTopics(bootstrapServers(), partitions, topics);
    }

    @Override
    void close() throws Exception;

    /** The broker -Dbench.broker asks for: "jvm" (default) or "process" (JVM options from -Dbench.broker-jvm-opts). */
    static BenchBroker start() throws Exception {
        String where = System.getProperty("bench.broker", "jvm");
        switch (where) {
            case "jvm":
                EmbeddedKafka kafka = EmbeddedKafka.start();
                return new BenchBroker() {
                    @Override
                    public String bootstrapServers() {
                        return kafka.bootstrapServers();
                    }

                    @Override
                    public void close() {
                        kafka.close();
                    }
                };
            case "process":
                return ChildJvm.start();
            default:
                throw new IllegalArgumentException("-Dbench.broker is jvm or process, not " + where);
        }
    }

    /** The embedded broker in a child JVM ({@link ChildJvm#main}); it stops when this closes its standard input. */
    final class ChildJvm implements BenchBroker {
        private final Process process;
        private final String bootstrapServers;

        private ChildJvm(Process process, String bootstrapServers) {
            this.process = process;
            this.bootstrapServers = bootstrapServers;
        }

        static ChildJvm start() throws IOException, InterruptedException {
            Path address = Files.createTempFile("bench-broker", ".address");
            Path log = Files.createTempFile("bench-broker", ".log");
            List<String> command = new ArrayList<>(List.of(
                    Path.of(System.getProperty("java.home"), "bin", "java").toString()));
            for (String option : System.getProperty("bench.broker-jvm-opts", "").split(" ")) {
                if (!option.isBlank()) {
                    command.add(option);
                }
            }
            command.addAll(List.of("-cp", System.getProperty("java.class.path"), ChildJvm.class.getName(),
                    address.toString()));
            Process process = new ProcessBuilder(command).redirectErrorStream(true)
                    .redirectOutput(log.toFile()).start();
            long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
            while (Files.size(address) == 0) {
                if (!process.isAlive() || System.nanoTime() > deadline) {
                    process.destroyForcibly();
                    throw new IllegalStateException("the broker process did not start; see " + log);
                }
                Thread.sleep(100);
            }
            String servers = Files.readString(address, StandardCharsets.UTF_8).trim();
            System.out.println("broker in a process of its own (pid " + process.pid() + ", log " + log + "): " + servers);
            return new ChildJvm(process, servers);
        }

        @Override
        public String bootstrapServers() {
            return bootstrapServers;
        }

        @Override
        public void close() throws IOException, InterruptedException {
            process.getOutputStream().close(); // the child's cue to stop
            if (!process.waitFor(60, java.util.concurrent.TimeUnit.SECONDS)) {
                process.destroyForcibly();
            }
        }

        /** The child: starts the broker, writes its address to the file {@code args[0]}, runs until stdin closes. */
        public static void main(String[] args) throws Exception {
            try (EmbeddedKafka kafka = EmbeddedKafka.start()) {
                Path tmp = Path.of(args[0] + ".tmp");
                Files.writeString(tmp, kafka.bootstrapServers(), StandardCharsets.UTF_8);
                Files.move(tmp, Path.of(args[0]), java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                        java.nio.file.StandardCopyOption.ATOMIC_MOVE);
                while (System.in.read() >= 0) {
                    // until the harness closes the pipe (or exits)
                }
            }
            System.exit(0);
        }
    }
}
