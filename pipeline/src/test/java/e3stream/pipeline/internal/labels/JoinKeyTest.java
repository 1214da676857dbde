package e3stream.pipeline.internal.labels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import org.apache.flink.api.common.serialization.SerializerConfigImpl;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.java.typeutils.PojoTypeInfo;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.junit.jupiter.api.Test;

/** The join key: equal by id, a Flink POJO (not Kryo), and written in few bytes per checkpoint entry. */
class JoinKeyTest {

    @Test
    void keysOfTheSameIdAreEqualAndOthersAreNot() {
        assertEquals(JoinKey.of("img-ü-1"), JoinKey.of("img-ü-1"));
        assertEquals(JoinKey.of("img-ü-1").hashCode(), JoinKey.of("img-ü-1").hashCode());
        assertNotEquals(JoinKey.of("img-1"), JoinKey.of("img-2"));
        assertEquals("img-ü-1", JoinKey.of("img-ü-1").toString());
    }

    @Test
    void isSerialisedAsAFlinkPojoAndRoundTrips() throws Exception {
        assertInstanceOf(PojoTypeInfo.class, JoinKey.TYPE, "a POJO, so state and timers do not fall back to Kryo");
        TypeSerializer<JoinKey> serializer = JoinKey.TYPE.createSerializer(new SerializerConfigImpl());
        String id = "lat-12345-0b6c1f7e-5f0e-4a43-9b1e-6a3f0f1d2c3b";
        DataOutputSerializer out = new DataOutputSerializer(64);
        serializer.serialize(JoinKey.of(id), out);
        JoinKey back = serializer.deserialize(new DataInputDeserializer(out.getCopyOfBuffer()));
        assertEquals(JoinKey.of(id), back);
    }
}
