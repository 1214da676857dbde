package e3stream.pipeline.internal.labels;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;

import e3stream.pipeline.internal.events.ModelTag;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.junit.jupiter.api.Test;

/** The label join's state serializer keeps every field of both halves of a join, and restores from its snapshot. */
class PendingJoinSerializerTest {

    private static PendingJoin roundTrip(PendingJoin entry) throws Exception {
        DataOutputSerializer out = new DataOutputSerializer(64);
        PendingJoinSerializer.INSTANCE.serialize(entry, out);
        return PendingJoinSerializer.INSTANCE.deserialize(new DataInputDeserializer(out.getCopyOfBuffer()));
    }

    @Test
    void aWaitingPredictionOfAShadowModelKeepsEveryField() throws Exception {
        PendingJoin entry = new PendingJoin();
        entry.expiresAt = 123_456L;
        entry.timestamp = 1_700_000_000_000L;
        entry.probabilities = new double[] {0.1, 0.7, 0.2, 1e-300};
        entry.reviewed = true;
        entry.source = "kamera-ü-7";
        entry.shadowOf = new ModelTag("de-vmoe", null, "de-vmoe@2");
        PendingJoin back = roundTrip(entry);
        assertEquals(123_456L, back.expiresAt);
        assertEquals(1_700_000_000_000L, back.timestamp);
        assertArrayEquals(entry.probabilities, back.probabilities, 0.0);
        assertEquals(true, back.reviewed);
        assertEquals("kamera-ü-7", back.source);
        assertEquals(entry.shadowOf, back.shadowOf);
        assertEquals(-1, back.label);
    }

    @Test
    void aWaitingLabelHasNoPredictionFields() throws Exception {
        PendingJoin entry = new PendingJoin();
        entry.expiresAt = 5L;
        entry.label = 3;
        PendingJoin back = roundTrip(entry);
        assertEquals(3, back.label);
        assertEquals(5L, back.expiresAt);
        assertNull(back.probabilities);
        assertNull(back.source);
        assertNull(back.shadowOf);
        assertEquals(false, back.reviewed);
    }

    @Test
    void copiesOwnTheirProbabilitiesAndTheSnapshotRestoresTheSerializer() throws Exception {
        PendingJoin entry = new PendingJoin();
        entry.probabilities = new double[] {0.4, 0.6};
        PendingJoin copy = PendingJoinSerializer.INSTANCE.copy(entry);
        assertNotSame(entry.probabilities, copy.probabilities);
        assertArrayEquals(entry.probabilities, copy.probabilities, 0.0);

        TypeSerializerSnapshot<PendingJoin> snapshot = PendingJoinSerializer.INSTANCE.snapshotConfiguration();
        DataOutputSerializer out = new DataOutputSerializer(64);
        TypeSerializerSnapshot.writeVersionedSnapshot(out, snapshot);
        TypeSerializerSnapshot<PendingJoin> read = TypeSerializerSnapshot.readVersionedSnapshot(
                new DataInputDeserializer(out.getCopyOfBuffer()), getClass().getClassLoader());
        TypeSerializer<PendingJoin> restored = read.restoreSerializer();
        assertEquals(PendingJoinSerializer.INSTANCE, restored);
    }
}
