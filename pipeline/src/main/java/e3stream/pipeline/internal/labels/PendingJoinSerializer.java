package e3stream.pipeline.internal.labels;

import java.io.IOException;
import java.nio.charset.StandardCharsets;

import e3stream.pipeline.internal.events.ModelTag;
import org.apache.flink.annotation.Internal;
import org.apache.flink.api.common.typeutils.SimpleTypeSerializerSnapshot;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.api.common.typeutils.base.TypeSerializerSingleton;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;

/**
 * The label join's state serializer: a {@link PendingJoin} in a fixed layout, a flags byte saying which parts are
 * there, strings as length-prefixed UTF-8. The heap state backend writes every pending entry at every checkpoint;
 * Flink's POJO serializer spent most of that time on reflection, per-field null flags and strings written one
 * character per call (BENCHMARKS.md, Pipeline). Layout version 1.
 */
@Internal
public final class PendingJoinSerializer extends TypeSerializerSingleton<PendingJoin> {

    private static final long serialVersionUID = 1L;

    public static final PendingJoinSerializer INSTANCE = new PendingJoinSerializer();

    private static final int HAS_PROBABILITIES = 1;
    private static final int REVIEWED = 2;
    private static final int HAS_SOURCE = 4;
    private static final int HAS_SHADOW = 8;

    private PendingJoinSerializer() {
    }

    @Override
    public boolean isImmutableType() {
        return false;
    }

    @Override
    public PendingJoin createInstance() {
        return new PendingJoin();
    }

    /** A copy whose probabilities are its own; the ModelTag is shared (immutable by contract). */
    @Override
    public PendingJoin copy(PendingJoin from) {
        PendingJoin to = new PendingJoin();
        to.expiresAt = from.expiresAt;
        to.timestamp = from.timestamp;
        to.probabilities = from.probabilities == null ? null : from.probabilities.clone();
        to.reviewed = from.reviewed;
        to.source = from.source;
        to.shadowOf = from.shadowOf;
        to.label = from.label;
        return to;
    }

    @Override
    public PendingJoin copy(PendingJoin from, PendingJoin reuse) {
        return copy(from);
    }

    @Override
    public int getLength() {
        return -1;
    }

    @Override
    public void serialize(PendingJoin entry, DataOutputView out) throws IOException {
        int flags = (entry.probabilities != null ? HAS_PROBABILITIES : 0) | (entry.reviewed ? REVIEWED : 0)
                | (entry.source != null ? HAS_SOURCE : 0) | (entry.shadowOf != null ? HAS_SHADOW : 0);
        out.writeByte(flags);
        out.writeLong(entry.expiresAt);
        out.writeLong(entry.timestamp);
        out.writeInt(entry.label);
        if (entry.probabilities != null) {
            out.writeInt(entry.probabilities.length);
            for (double p : entry.probabilities) {
                out.writeDouble(p);
            }
        }
        if (entry.source != null) {
            writeString(entry.source, out);
        }
        if (entry.shadowOf != null) {
            writeNullableString(entry.shadowOf.name, out);
            writeNullableString(entry.shadowOf.version, out);
            writeNullableString(entry.shadowOf.label, out);
        }
    }

    @Override
    public PendingJoin deserialize(DataInputView in) throws IOException {
        PendingJoin entry = new PendingJoin();
        int flags = in.readByte();
        entry.expiresAt = in.readLong();
        entry.timestamp = in.readLong();
        entry.label = in.readInt();
        entry.reviewed = (flags & REVIEWED) != 0;
        if ((flags & HAS_PROBABILITIES) != 0) {
            double[] p = new double[in.readInt()];
            for (int i = 0; i < p.length; i++) {
                p[i] = in.readDouble();
            }
            entry.probabilities = p;
        }
        if ((flags & HAS_SOURCE) != 0) {
            entry.source = readString(in);
        }
        if ((flags & HAS_SHADOW) != 0) {
            entry.shadowOf = new ModelTag(readNullableString(in), readNullableString(in), readNullableString(in));
        }
        return entry;
    }

    @Override
    public PendingJoin deserialize(PendingJoin reuse, DataInputView in) throws IOException {
        return deserialize(in);
    }

    @Override
    public void copy(DataInputView in, DataOutputView out) throws IOException {
        serialize(deserialize(in), out);
    }

    private static void writeString(String s, DataOutputView out) throws IOException {
        byte[] utf8 = s.getBytes(StandardCharsets.UTF_8);
        out.writeInt(utf8.length);
        out.write(utf8);
    }

    private static String readString(DataInputView in) throws IOException {
        byte[] utf8 = new byte[in.readInt()];
        in.readFully(utf8);
        return new String(utf8, StandardCharsets.UTF_8);
    }

    private static void writeNullableString(String s, DataOutputView out) throws IOException {
        out.writeBoolean(s != null);
        if (s != null) {
            writeString(s, out);
        }
    }

    private static String readNullableString(DataInputView in) throws IOException {
        return in.readBoolean() ? readString(in) : null;
    }

    @Override
    public TypeSerializerSnapshot<PendingJoin> snapshotConfiguration() {
        return new Snapshot();
    }

    /** Restores {@link #INSTANCE}; there is one layout so far. */
    public static final class Snapshot extends SimpleTypeSerializerSnapshot<PendingJoin> {
        public Snapshot() {
            super(() -> INSTANCE);
        }
    }
}
