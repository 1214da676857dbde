package e3stream.runtime.session;

import java.io.Serializable;
import java.time.Duration;

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

    public SessionSpec {
        if (bundle == null || device == null || maxDelay == null || idleRelease == null || stallTimeout == null) {
            throw new IllegalArgumentException("bundle, device, maxDelay, idleRelease and stallTimeout must not be null");
        }
        if (intraOpThreads < 0 || maxBatchSize < 1 || queueCapacity < 1 || maxDelay.isNegative()
                || idleRelease.isNegative() || stallTimeout.isNegative()) {
            throw new IllegalArgumentException("session spec out of range: intraOpThreads " + intraOpThreads
                    + " (>= 0), maxBatchSize " + maxBatchSize + " (>= 1), queueCapacity " + queueCapacity
                    + " (>= 1), maxDelay " + maxDelay + ", idleRelease " + idleRelease + " and stallTimeout "
                    + stallTimeout + " (>= 0)");
        }
    }

    /** A spec without stall detection. */
    public SessionSpec(BundleDescription bundle, ExecutionOptions.Device device, int cudaDeviceId, int intraOpThreads,
                       boolean intraOpSpinning, int maxBatchSize, Duration maxDelay, int queueCapacity,
                       Duration idleRelease) {
        this(bundle, device, cudaDeviceId, intraOpThreads, intraOpSpinning, maxBatchSize, maxDelay, queueCapacity,
                idleRelease, Duration.ZERO);
    }

    /** A spec with the batcher's defaults (batches of 32, 2 ms delay, 1024 waiting, released 30 s after last use). */
    public static SessionSpec cpu(BundleDescription bundle) {
        return new SessionSpec(bundle, ExecutionOptions.Device.CPU, 0, 0, true, 32, Duration.ofMillis(2), 1024,
                Duration.ofSeconds(30));
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
        ExecutionOptions.Builder b = ExecutionOptions.builder().device(device).cudaDeviceId(cudaDeviceId)
                .intraOpSpinning(intraOpSpinning);
        if (intraOpThreads > 0) {
            b.intraOpThreads(intraOpThreads);
        }
        return b.build();
    }
}
