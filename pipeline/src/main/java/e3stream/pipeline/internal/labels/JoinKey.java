package e3stream.pipeline.internal.labels;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

import e3stream.pipeline.internal.events.LabelEvent;
import e3stream.pipeline.internal.events.Prediction;
import org.apache.flink.annotation.Internal;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.java.functions.KeySelector;

/**
 * The label join's key: an event id as UTF-8 bytes, equal by content. Every pending id is written twice at each
 * checkpoint (its state entry and its timer), and Flink's String serializer writes a string one character at a time:
 * with String keys that is the largest single cost of the job's checkpoints (BENCHMARKS.md, Pipeline); a byte array
 * is written in one piece. A Flink POJO.
 */
@Internal
public final class JoinKey {

    public static final TypeInformation<JoinKey> TYPE = TypeInformation.of(JoinKey.class);

    /** A prediction's key in the join. */
    public static final KeySelector<Prediction, JoinKey> OF_PREDICTION = p -> of(p.id);

    /** A label's key in the join. */
    public static final KeySelector<LabelEvent, JoinKey> OF_LABEL = l -> of(l.id);

    /** The id, UTF-8. */
    public byte[] utf8;

    /**
     * Cached, as String caches its own: each checkpoint hashes every pending timer's key again to sort it into its
     * key group. Transient, so not a POJO field (not serialised).
     */
    private transient int hash;

    public JoinKey() {
    }

    public static JoinKey of(String id) {
        JoinKey key = new JoinKey();
        key.utf8 = id.getBytes(StandardCharsets.UTF_8);
        return key;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof JoinKey && Arrays.equals(utf8, ((JoinKey) o).utf8);
    }

    @Override
    public int hashCode() {
        int h = hash;
        if (h == 0) {
            h = Arrays.hashCode(utf8);
            hash = h;
        }
        return h;
    }

    /** The id. */
    @Override
    public String toString() {
        return new String(utf8, StandardCharsets.UTF_8);
    }
}
