package e3stream.pipeline.internal.events;

import java.io.Serializable;
import java.time.Duration;
import java.time.Instant;
import org.apache.flink.annotation.Internal;

/**
 * Which event timestamps the job accepts, relative to the time it reads the record. An image event's timestamp
 * becomes the timestamp of its output record, and Kafka brokers refuse records too far in the future
 * ({@code log.message.timestamp.after.max.ms}, 1 h by default in Kafka 4.x): an event outside the window is refused
 * (dead letter {@link EventException#TIMESTAMP_OUT_OF_RANGE}), never written with a timestamp the broker must refuse.
 *
 * <p>Always refused: timestamps before 2001-09-09 ({@link #MIN_EPOCH_MILLIS}, 10^12 ms), which are almost always
 * seconds sent as milliseconds. Immutable and serializable.
 *
 * @param maxFuture how far after the read time a timestamp may be (clock skew); keep it below the broker's
 *                  {@code log.message.timestamp.after.max.ms}
 * @param maxAge    how far before the read time a timestamp may be, or {@link Duration#ZERO} for no bound (replays
 *                  of old data); a record older than the output topics' {@code retention.ms} would be deleted soon
 *                  after it is written
 */
@Internal
public record TimestampWindow(Duration maxFuture, Duration maxAge) implements Serializable {

    /** 10^12 ms = 2001-09-09T01:46:40Z: anything earlier is taken for seconds (or garbage), not milliseconds. */
    public static final long MIN_EPOCH_MILLIS = 1_000_000_000_000L;

    public TimestampWindow {
        if (maxFuture == null || maxFuture.isNegative() || maxAge == null || maxAge.isNegative()) {
            throw new IllegalArgumentException("timestamp window bounds must be >= 0, got max-future " + maxFuture
                    + " and max-age " + maxAge);
        }
    }

    /** 15 minutes of clock skew into the future, no bound into the past. */
    public static TimestampWindow defaults() {
        return new TimestampWindow(Duration.ofMinutes(15), Duration.ZERO);
    }

    /** Why {@code timestamp} is refused when read at {@code nowMs}, or {@code null} when it is accepted. */
    public String refusal(long timestamp, long nowMs) {
        if (timestamp < MIN_EPOCH_MILLIS) {
            return "timestamp " + timestamp + " is before " + Instant.ofEpochMilli(MIN_EPOCH_MILLIS)
                    + ": send epoch milliseconds (this looks like seconds)";
        }
        if (timestamp - nowMs > maxFuture.toMillis()) {
            return "timestamp " + timestamp + " (" + Instant.ofEpochMilli(timestamp) + ") is more than " + maxFuture
                    + " after the time it was read (" + Instant.ofEpochMilli(nowMs) + "): send epoch milliseconds "
                    + "(not micro- or nanoseconds) from a synchronised clock";
        }
        if (!maxAge.isZero() && nowMs - timestamp > maxAge.toMillis()) {
            return "timestamp " + timestamp + " (" + Instant.ofEpochMilli(timestamp) + ") is more than " + maxAge
                    + " before the time it was read (" + Instant.ofEpochMilli(nowMs) + ")";
        }
        return null;
    }
}
