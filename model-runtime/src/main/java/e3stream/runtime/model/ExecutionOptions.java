package e3stream.runtime.model;

import java.util.Objects;

/**
 * How {@link E3Model} runs: on the CPU (default) or on a CUDA device, and with how many intra-op threads. Immutable;
 * build with {@link #builder()}.
 *
 * <p>CUDA needs the {@code onnxruntime_gpu} artifact (Maven profile {@code -Pgpu}) and CUDA 12 + cuDNN 9 libraries on
 * the machine. When CUDA is requested but cannot be used, {@link E3Model#open} fails with a message saying why, unless
 * {@link Builder#allowCpuFallback(boolean)} was set, in which case the model runs on the CPU and
 * {@link E3Model#device()} says so.
 *
 * <pre>{@code
 * ExecutionOptions gpu = ExecutionOptions.builder().device(Device.CUDA).cudaDeviceId(0).build();
 * }</pre>
 */
public final class ExecutionOptions {
    /** Execution provider. */
    public enum Device { CPU, CUDA }

    private final Device device;
    private final int cudaDeviceId;
    private final boolean allowCpuFallback;
    private final int intraOpThreads;
    private final boolean intraOpSpinning;

    private ExecutionOptions(Builder b) {
        this.device = b.device;
        this.cudaDeviceId = b.cudaDeviceId;
        this.allowCpuFallback = b.allowCpuFallback;
        this.intraOpThreads = b.intraOpThreads;
        this.intraOpSpinning = b.intraOpSpinning;
    }

    /** CPU with ONNX Runtime's default thread count. */
    public static ExecutionOptions cpu() {
        return builder().build();
    }

    public static Builder builder() {
        return new Builder();
    }

    public Device device() {
        return device;
    }

    public int cudaDeviceId() {
        return cudaDeviceId;
    }

    public boolean allowCpuFallback() {
        return allowCpuFallback;
    }

    /** Intra-op threads; 0 means ONNX Runtime's default (one per physical core). */
    public int intraOpThreads() {
        return intraOpThreads;
    }

    /**
     * Whether idle intra-op threads spin-wait for the next run (ONNX Runtime's default) instead of sleeping. Spinning
     * wins a little when the model has the cores to itself and costs a lot when other threads need them.
     */
    public boolean intraOpSpinning() {
        return intraOpSpinning;
    }

    @Override
    public String toString() {
        return "ExecutionOptions[device=" + device + (device == Device.CUDA ? ":" + cudaDeviceId : "")
                + ", allowCpuFallback=" + allowCpuFallback + ", intraOpThreads=" + intraOpThreads
                + ", intraOpSpinning=" + intraOpSpinning + "]";
    }

    /** Builder; setters reject bad values at once, naming the option. */
    public static final class Builder {
        private Device device = Device.CPU;
        private int cudaDeviceId = 0;
        private boolean allowCpuFallback = false;
        private int intraOpThreads = 0;
        private boolean intraOpSpinning = true;

        private Builder() {
        }

        public Builder device(Device device) {
            this.device = Objects.requireNonNull(device, "device");
            return this;
        }

        public Builder cudaDeviceId(int id) {
            if (id < 0) {
                throw new IllegalArgumentException("cudaDeviceId must be >= 0, got " + id);
            }
            this.cudaDeviceId = id;
            return this;
        }

        /** When CUDA is requested but unavailable, run on the CPU instead of failing. Off by default. */
        public Builder allowCpuFallback(boolean allow) {
            this.allowCpuFallback = allow;
            return this;
        }

        /** Intra-op threads, 0 = ONNX Runtime default. */
        public Builder intraOpThreads(int threads) {
            if (threads < 0) {
                throw new IllegalArgumentException("intraOpThreads must be >= 0 (0 = default), got " + threads);
            }
            this.intraOpThreads = threads;
            return this;
        }

        /** Intra-op threads spin while idle (true, ONNX Runtime's default) or sleep. */
        public Builder intraOpSpinning(boolean spinning) {
            this.intraOpSpinning = spinning;
            return this;
        }

        public ExecutionOptions build() {
            return new ExecutionOptions(this);
        }
    }
}
