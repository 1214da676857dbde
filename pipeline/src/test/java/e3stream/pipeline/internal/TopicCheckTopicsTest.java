package e3stream.pipeline.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import e3stream.pipeline.E3StreamOptions;
import e3stream.pipeline.testutils.TestData;
import org.junit.jupiter.api.Test;

/** The topics the start-up check looks for: the shadow topic only when a shadow bundle is set. */
class TopicCheckTopicsTest {

    private static E3StreamOptions options(String... kv) {
        Map<String, String> m = new LinkedHashMap<>(Map.of("kafka.bootstrap-servers", "localhost:9092",
                "model.bundle", TestData.bundle().toString()));
        for (int i = 0; i < kv.length; i += 2) {
            m.put(kv[i], kv[i + 1]);
        }
        return E3StreamOptions.of(m);
    }

    @Test
    void checksTheShadowTopicOnlyWithAShadowBundle() {
        assertEquals(List.of("images", "labels", "predictions", "review", "images-dlq", "calibration"),
                TopicCheck.topics(options()));
        assertEquals(List.of("images", "labels", "predictions", "review", "images-dlq", "calibration", "shadow"),
                TopicCheck.topics(options("model.shadow-bundle", TestData.repoRoot().resolve("models/de-vmoe")
                        .toString())));
    }
}
