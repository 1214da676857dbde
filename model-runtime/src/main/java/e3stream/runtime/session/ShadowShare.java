package e3stream.runtime.session;

import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * Which events a shadow model scores: those whose id hashes below {@code share}. The choice depends on the id only
 * (the first 8 bytes of its UTF-8 SHA-256 as a fraction of 2^64), so a replay after a failover, another subtask or
 * another JVM picks the same events, and {@code share} of a stream's distinct ids are picked. Immutable, thread-safe.
 *
 * <pre>{@code
 * ShadowShare half = new ShadowShare(0.5);
 * if (half.includes(event.id)) { shadowLease.score(tensor, shadowScorer); }
 * }</pre>
 *
 * @param share of the events scored, in [0, 1]: 1 every event, 0 none
 */
public record ShadowShare(double share) implements Serializable {

    public static final ShadowShare ALL = new ShadowShare(1.0);

    /** @throws IllegalArgumentException if {@code share} is outside [0, 1] */
    public ShadowShare {
        if (!(share >= 0 && share <= 1)) {
            throw new IllegalArgumentException("shadow share must be in [0, 1], found " + share);
        }
    }

    /** Whether the event {@code id} is scored by the shadow model. */
    public boolean includes(String id) {
        if (share >= 1) {
            return true;
        }
        return share > 0 && position(id) < share;
    }

    /** The id's place in [0, 1): the first 8 bytes of SHA-256(UTF-8 id), unsigned, divided by 2^64. */
    public static double position(String id) {
        byte[] digest;
        try {
            digest = MessageDigest.getInstance("SHA-256").digest(id.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e); // every JVM has it
        }
        long bits = 0;
        for (int i = 0; i < 8; i++) {
            bits = (bits << 8) | (digest[i] & 0xff);
        }
        // The top 53 bits, exactly representable: in [0, 1).
        return (bits >>> 11) * 0x1.0p-53;
    }
}
