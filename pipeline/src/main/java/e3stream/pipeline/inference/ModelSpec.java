package e3stream.pipeline.inference;

import java.io.Serializable;
import java.nio.file.Path;
import java.time.Duration;

import e3stream.pipeline.E3StreamOptions;
import e3stream.runtime.model.ExecutionOptions;

/**
 * Which model session to share and how to batch in front of it; the first four fields identify the session
 * ({@link #sessionKey()}). Immutable and serializable (shipped to the inference operators).
 */
public record ModelSpec(String bundle, E3StreamOptions.Device device, int cudaDeviceId, int intraOpThreads,
                        int maxBatchSize, Duration maxDelay, int queueCapacity, Duration idleRelease)
        implements Serializable {

    public static ModelSpec of(E3StreamOptions options) {
        return new ModelSpec(options.get(E3StreamOptions.MODEL_BUNDLE), options.get(E3StreamOptions.DEVICE),
                options.get(E3StreamOptions.CUDA_DEVICE_ID), options.get(E3StreamOptions.INTRA_OP_THREADS),
                options.get(E3StreamOptions.MAX_BATCH_SIZE), options.get(E3StreamOptions.MAX_DELAY),
                options.get(E3StreamOptions.QUEUE_CAPACITY), options.get(E3StreamOptions.MODEL_IDLE_RELEASE));
    }

    /** Sessions are shared per bundle directory and device. */
    public String sessionKey() {
        return Path.of(bundle).toAbsolutePath().normalize() + "|" + device + "|" + cudaDeviceId;
    }

    ExecutionOptions executionOptions() {
        ExecutionOptions.Builder b = ExecutionOptions.builder()
                .device(device == E3StreamOptions.Device.CUDA ? ExecutionOptions.Device.CUDA : ExecutionOptions.Device.CPU)
                .cudaDeviceId(cudaDeviceId);
        if (intraOpThreads > 0) {
            b.intraOpThreads(intraOpThreads);
        }
        return b.build();
    }
}
