package e3stream.pipeline.internal.events;

import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.StreamWriteFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.flink.annotation.Internal;

/**
 * The one Jackson mapper of the pipeline (thread-safe once configured). Doubles are written and read with Jackson's
 * fast (Schubfach / FastDoubleParser) codecs: every prediction carries a dozen doubles, and the JDK's
 * {@code Double.toString} is the single largest cost of the inference task's thread in the pipeline benchmark's
 * profile (BENCHMARKS.md, Pipeline). Values round-trip exactly either way.
 */
@Internal
public final class Json {

    public static final ObjectMapper MAPPER = JsonMapper.builder()
            .enable(StreamWriteFeature.USE_FAST_DOUBLE_WRITER)
            .enable(StreamReadFeature.USE_FAST_DOUBLE_PARSER)
            .build();

    private Json() {
    }

    public static ObjectNode object() {
        return MAPPER.createObjectNode();
    }

    public static byte[] bytes(Object node) {
        try {
            return MAPPER.writeValueAsBytes(node);
        } catch (Exception e) {
            throw new IllegalStateException("cannot serialise " + node.getClass().getSimpleName() + " to JSON", e);
        }
    }
}
