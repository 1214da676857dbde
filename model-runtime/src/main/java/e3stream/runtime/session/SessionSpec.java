package e3stream.runtime.session;

import java.io.Serializable;
import java.time.Duration;

import e3stream.runtime.batch.DynamicBatcher;
import e3stream.runtime.model.BundleDescription;
import e3stream.runtime.model.ExecutionOptions;

/**
 * Which model session to open and how to batch in front of it. The bundle, device and CUDA device identify a shared
 * session ({@link #sessionKey()}); the rest are the batching settings of whoever opens it first. Immutable and
 * serializable (shipped to stream operators).
 *
 * @param bundle         the bundle, as described when the job was built
 * @param intraOpThreads ONNX Runtime intra-op threads, 0 for its default
 * @param intraOpSpinning whether idle intra-op threads spin (ONNX Runtime's default) or sleep
 * @param maxBatchSize   largest batch the batcher forms
 * @param maxDelay       longest the oldest waiting image waits for a batch to fill
 * @param queueCapacity  images that may wait; more are refused
 * @param idleRelease    how long a shared session stays loaded after its last lease closed
 * @param stallTimeout   how long images may wait without a batch finishing before the session's worker counts as
 *                       hung and the session is replaced ({@link e3stream.runtime.batch.DynamicBatcher}'s stall
 *                       timeout); 0: never
 */
public record SessionSpec(BundleDescription bundle, ExecutionOptions.Device device, int cudaDeviceId,
                          int intraOpThreads, boolean intraOpSpinning, int maxBatchSize, Duration maxDelay, int queueCapacity,
                          Duration idleRelease, Duration stallTimeout) implements Serializable {

    /** Default intra-op threads: 0, ONNX Runtime's own choice. */
    public static final int DEFAULT_INTRA_OP_THREADS = 0;

    /**
     * Default of intra-op spinning: off. The session shares its cores with the threads that parse, decode and write,
     * and spinning takes their CPU (ONNX Runtime's own default, and {@link ExecutionOptions}', is on).
     */
    public static final boolean DEFAULT_INTRA_OP_SPINNING = false;

    /** Default of how long a shared session stays loaded after its last lease closed. */
    public static final Duration DEFAULT_IDLE_RELEASE = Duration.ofMinutes(2);

    public SessionSpec {
        if (bundle == null) {
            throw new IllegalArgumentException("bundle must not be null");
        }
        if (stallTimeout == null || stallTimeout.isNegative()) {
            throw new IllegalArgumentException("stallTimeout must not be negative, found " + stallTimeout);
        }
        checkSettings(device, cudaDeviceId, intraOpThreads, intraOpSpinning, maxBatchSize, maxDelay, queueCapacity,
                idleRelease);
    }

    /** A spec without stall detection. */
    public SessionSpec(BundleDescription bundle, ExecutionOptions.Device device, int cudaDeviceId, int intraOpThreads,
                       boolean intraOpSpinning, int maxBatchSize, Duration maxDelay, int queueCapacity,
                       Duration idleRelease) {
        this(bundle, device, cudaDeviceId, intraOpThreads, intraOpSpinning, maxBatchSize, maxDelay, queueCapacity,
                idleRelease, Duration.ZERO);
    }

    /**
     * Every rule of a spec but its bundle, without opening anything: those of {@link ExecutionOptions}, of
     * {@link DynamicBatcher} ({@link DynamicBatcher#checkSettings}) and of the idle release. A spec is built only from
     * settings that pass, and {@link ModelSession#open} applies the same rules, so settings checked here at start-up
     * never fail a session later.
     *
     * @throws IllegalArgumentException naming the setting (as the record component) that breaks a rule
     */
    public static void checkSettings(ExecutionOptions.Device device, int cudaDeviceId, int intraOpThreads,
                                     boolean intraOpSpinning, int maxBatchSize, Duration maxDelay, int queueCapacity,
                                     Duration idleRelease) {
        if (device == null) {
            throw new IllegalArgumentException("device must not be null");
        }
        executionOptions(device, cudaDeviceId, intraOpThreads, intraOpSpinning);
        DynamicBatcher.checkSettings(maxBatchSize, maxDelay, queueCapacity);
        if (idleRelease == null || idleRelease.isNegative()) {
            throw new IllegalArgumentException("idleRelease must not be negative, found " + idleRelease);
        }
    }

    /**
     * A spec with the defaults: CPU, {@link #DEFAULT_INTRA_OP_THREADS}, {@link #DEFAULT_INTRA_OP_SPINNING}, the
     * batcher's defaults ({@link DynamicBatcher#DEFAULT_MAX_BATCH_SIZE}, {@link DynamicBatcher#DEFAULT_MAX_DELAY},
     * {@link DynamicBatcher#DEFAULT_QUEUE_CAPACITY}) and {@link #DEFAULT_IDLE_RELEASE}: what a job runs with when no
     * option sets them.
     */
    public static SessionSpec cpu(BundleDescription bundle) {
        return new SessionSpec(bundle, ExecutionOptions.Device.CPU, 0, DEFAULT_INTRA_OP_THREADS,
                DEFAULT_INTRA_OP_SPINNING, DynamicBatcher.DEFAULT_MAX_BATCH_SIZE, DynamicBatcher.DEFAULT_MAX_DELAY,
                DynamicBatcher.DEFAULT_QUEUE_CAPACITY, DEFAULT_IDLE_RELEASE);
    }

    /** This spec for another bundle (same device and batching settings). */
    public SessionSpec withBundle(BundleDescription other) {
        return new SessionSpec(other, device, cudaDeviceId, intraOpThreads, intraOpSpinning, maxBatchSize, maxDelay,
                queueCapacity, idleRelease, stallTimeout);
    }

    /** Sessions are shared per bundle model (directory and sha256) and device. */
    public String sessionKey() {
        return bundle.directory() + "|" + bundle.manifest().sha256() + "|" + device + "|" + cudaDeviceId;
    }

    ExecutionOptions executionOptions() {
        return executionOptions(device, cudaDeviceId, intraOpThreads, intraOpSpinning);
    }

    private static ExecutionOptions executionOptions(ExecutionOptions.Device device, int cudaDeviceId,
                                                     int intraOpThreads, boolean intraOpSpinning) {
        return ExecutionOptions.builder().device(device).cudaDeviceId(cudaDeviceId).intraOpThreads(intraOpThreads)
                .intraOpSpinning(intraOpSpinning).build();
    }
}
