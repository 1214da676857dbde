package e3stream.pipeline.bench;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.lang.management.ThreadMXBean;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * The CPU time of the JVM's Java threads at one moment, to say over a latency run where the cores went: the model
 * (the batcher's thread, which runs ONNX Runtime with one intra-op thread), Flink, the in-process broker, the Kafka
 * producers' network threads, the harness's own sender and consumer, and the JVM's threads (JIT compilers, GC: not
 * Java threads, so the process's CPU time less the Java threads').
 */
final class ThreadCpu {

    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();
    private static final com.sun.management.OperatingSystemMXBean PROCESS =
            (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
    /** The in-process KRaft broker's threads (absent with -Dbench.broker=process). */
    private static final Pattern BROKER = Pattern.compile("(data-plane-kafka|kafka-scheduler|quorum|group-coordinator"
            + "|controller|broker-|kafka-log|ExpirationReaper|raft|kafka-\\d|TxnMarker|share-|transaction-|feature-"
            + "|ThrottledChannel|BrokerLifecycle|NodeToController|metrics-meter|LogDirFailure|executor-).*");

    /** The whole process's CPU time: the Java threads' and the JVM's own (JIT, GC). */
    private final long processNanos;
    private final Map<Long, Sample> threadsById;

    /** One thread's name and CPU time. */
    private record Sample(String name, long cpuNanos) { }

    private ThreadCpu(long processNanos, Map<Long, Sample> threadsById) {
        this.processNanos = processNanos;
        this.threadsById = threadsById;
    }

    static ThreadCpu snapshot() {
        long process = PROCESS.getProcessCpuTime();
        Map<Long, Sample> threads = new HashMap<>();
        for (ThreadInfo info : THREADS.getThreadInfo(THREADS.getAllThreadIds())) {
            if (info != null) {
                long nanos = THREADS.getThreadCpuTime(info.getThreadId());
                if (nanos >= 0) {
                    threads.put(info.getThreadId(), new Sample(info.getThreadName(), nanos));
                }
            }
        }
        return new ThreadCpu(process, threads);
    }

    /** Cores the whole process used between {@code before} and this snapshot, {@code seconds} apart. */
    double coresSince(ThreadCpu before, int seconds) {
        return (processNanos - before.processNanos) / (seconds * 1e9);
    }

    /**
     * Cores used by each group between {@code before} and this snapshot, {@code seconds} apart; the JVM's own threads
     * are what the process used beyond the Java threads. A thread that ended in between is not counted in its group
     * (its time falls to the JVM's share).
     */
    String coresByGroupSince(ThreadCpu before, int seconds) {
        Map<String, Long> byGroup = new LinkedHashMap<>();
        for (String group : new String[] {"model", "Flink", "broker", "producers", "harness"}) {
            byGroup.put(group, 0L);
        }
        long java = 0;
        for (Map.Entry<Long, Sample> e : threadsById.entrySet()) {
            Sample earlier = before.threadsById.get(e.getKey());
            long nanos = e.getValue().cpuNanos() - (earlier == null ? 0 : earlier.cpuNanos());
            byGroup.merge(group(e.getValue().name()), nanos, Long::sum);
            java += nanos;
        }
        byGroup.put("JVM (JIT, GC)", Math.max(0, processNanos - before.processNanos - java));
        return byGroup.entrySet().stream()
                .map(e -> String.format(Locale.ROOT, "%s %.2f", e.getKey(), e.getValue() / (seconds * 1e9)))
                .collect(Collectors.joining(", ", "", " cores"));
    }

    static String group(String threadName) {
        if (threadName.startsWith("e3-batcher")) {
            return "model";
        }
        if (threadName.startsWith("kafka-producer-network-thread")) {
            return "producers"; // the sink's and the harness sender's: one name for both
        }
        if (threadName.equals("main") || threadName.equals("bench-sender")) {
            return "harness";
        }
        if (BROKER.matcher(threadName).matches()) {
            return "broker";
        }
        return "Flink"; // tasks, network, checkpoints, the job's Kafka consumers, the MiniCluster's JobManager
    }
}
