package e3stream.pipeline.testutils;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

import e3stream.runtime.decode.DecodeLimits;
import e3stream.runtime.decode.ImageDecoder;
import e3stream.runtime.model.E3Model;
import e3stream.runtime.model.ExecutionOptions;
import e3stream.runtime.model.ModelBundle;
import e3stream.runtime.model.ModelOutput;
import e3stream.runtime.session.Scored;
import e3stream.runtime.session.Scorer;
import e3stream.runtime.session.TriageOverrides;

/** What model-runtime alone decides for images, computed outside Flink and Kafka: the oracle of the pipeline tests. */
public final class Expected {

    private Expected() {
    }

    /** Scores PNG payloads by id, exactly as the job would, but through model-runtime directly. */
    public static Map<String, Scored> score(Map<String, byte[]> pngById, TriageOverrides triageOverrides) throws Exception {
        return score(TestData.bundle(), pngById, triageOverrides);
    }

    /** As {@link #score(Map, TriageOverrides)}, with the bundle in {@code bundleDirectory}. */
    public static Map<String, Scored> score(java.nio.file.Path bundleDirectory, Map<String, byte[]> pngById,
                                            TriageOverrides triageOverrides) throws Exception {
        ModelBundle bundle = ModelBundle.load(bundleDirectory);
        ImageDecoder decoder = ImageDecoder.forInput(bundle.manifest().input(), DecodeLimits.defaults());
        Scorer scorer = Scorer.of(bundle.manifest(), triageOverrides);
        Map<String, Scored> out = new HashMap<>();
        try (E3Model model = E3Model.open(bundle, ExecutionOptions.cpu())) {
            List<Map.Entry<String, byte[]>> entries = List.copyOf(pngById.entrySet());
            int size = decoder.tensorSize();
            int batch = 64;
            for (int from = 0; from < entries.size(); from += batch) {
                int n = Math.min(batch, entries.size() - from);
                float[] stacked = new float[n * size];
                for (int i = 0; i < n; i++) {
                    float[] t = decoder.decode(ImageDecoder.PNG, entries.get(from + i).getValue(), null, null, null);
                    System.arraycopy(t, 0, stacked, i * size, size);
                }
                ModelOutput scored = model.run(stacked, n); // logits and, where the bundle has it, the density
                for (int i = 0; i < n; i++) {
                    out.put(entries.get(from + i).getKey(), scorer.score(scored.image(i)));
                }
            }
        }
        return out;
    }
}
