package e3stream.runtime.model;

import e3stream.runtime.Internal;

import java.util.HashSet;
import java.util.Set;

/**
 * FLOPs of one image's forward pass, mirroring {@code flops_per_image} in model-runtime/training/e3/model.py (the
 * figure written into model.json): 2 x multiply-accumulates of every convolution, linear layer and attention matmul;
 * norms, activations, softmax and biases are not counted. MoE layers count the router plus K routed experts per token
 * (sparse dispatch). In E3, layers from the first MoE layer on run once per member (the tiled rows); a deep ensemble
 * runs every member whole. Stateless and thread-safe.
 */
@Internal
public final class FlopsFormula {
    private FlopsFormula() {
    }

    public static long flopsPerImage(Architecture arch) {
        boolean deepEnsemble = "deep_ensemble".equals(arch.kind());
        // A deep ensemble is M copies of a single model (a V-MoE when it has experts, else a ViT).
        String kind = deepEnsemble ? (arch.experts() > 0 ? "vmoe" : "vit") : arch.kind();
        int ensemble = deepEnsemble ? 1 : arch.ensembleSize();
        // Stem: 3x3 convolutions C->c at full resolution, c->c to half, c->2c to a quarter; then a 3x3 patch
        // embedding 2c->d onto the token grid.
        long s0 = arch.imageSize();
        long s1 = ceilDiv(s0, 2);
        long s2 = ceilDiv(s1, 2);
        long c = arch.stemChannels();
        long stem = 2 * 9 * (s0 * s0 * c * arch.channels() + s1 * s1 * c * c + s2 * s2 * 2 * c * c);
        long t = arch.tokens();
        long d = arch.hidden();
        long f = arch.mlpDim();
        long embed = 2 * t * 2 * c * d * 9;
        long attention = 2 * (t * d * 3 * d + 2 * t * t * d + t * d * d);
        long mlp = 2 * t * 2 * d * f;
        Set<Integer> moe = new HashSet<>(arch.moeLayers());
        long group = arch.experts() > 0 ? arch.experts() / ensemble : 0;
        long tiled = "e3".equals(kind) ? ensemble : 1;
        int firstMoe = moe.isEmpty() ? arch.layers() : moe.stream().min(Integer::compare).orElseThrow();
        long total = stem + embed;
        for (int i = 0; i < arch.layers(); i++) {
            long layer = moe.contains(i) ? attention + 2 * t * d * group + arch.topK() * mlp : attention + mlp;
            total += layer * (i >= firstMoe ? tiled : 1);
        }
        total += 2 * d * arch.numClasses() * tiled;
        return deepEnsemble ? total * arch.ensembleSize() : total;
    }

    private static long ceilDiv(long a, long b) {
        return (a + b - 1) / b;
    }
}
