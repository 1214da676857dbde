package e3stream.runtime.model;

import java.util.List;

/**
 * The {@code architecture} section of model.json (mirrors {@code Architecture} in training/e3/model.py).
 *
 * @param kind          {@code e3}, {@code vmoe}, {@code vit} or {@code deep_ensemble}
 * @param experts       E, 0 for dense models
 * @param topK          K, experts per token (per member for E3), 0 for dense models
 * @param ensembleSize  M: tiling factor for E3, members for a deep ensemble, 1 otherwise
 * @param moeLayers     0-based indices of the transformer layers whose MLP is a sparse MoE
 */
public record Architecture(String kind, int layers, int hidden, int heads, int mlpDim, int patch, int stemChannels,
                           int experts, int topK, int ensembleSize, List<Integer> moeLayers, int numClasses,
                           int imageSize, int channels) {

    public static final List<String> KINDS = List.of("e3", "vmoe", "vit", "deep_ensemble");

    public Architecture {
        moeLayers = List.copyOf(moeLayers);
        if (!KINDS.contains(kind)) {
            throw new IllegalArgumentException("architecture.kind '" + kind + "' is unknown, expected one of " + KINDS);
        }
        positive("layers", layers);
        positive("hidden", hidden);
        positive("heads", heads);
        positive("mlp_dim", mlpDim);
        positive("patch", patch);
        positive("stem_channels", stemChannels);
        positive("ensemble_size", ensembleSize);
        positive("num_classes", numClasses);
        positive("image_size", imageSize);
        positive("channels", channels);
        if (experts < 0 || topK < 0) {
            throw new IllegalArgumentException("architecture.experts and top_k must be >= 0, got " + experts + ", " + topK);
        }
        if (experts > 0 && moeLayers.isEmpty()) {
            throw new IllegalArgumentException("architecture has " + experts + " experts but no moe_layers");
        }
        if (experts == 0 && !moeLayers.isEmpty()) {
            throw new IllegalArgumentException("architecture has moe_layers " + moeLayers + " but experts = 0");
        }
        if (experts > 0 && (topK < 1)) {
            throw new IllegalArgumentException("architecture.top_k must be >= 1 for a MoE model, got " + topK);
        }
        if ("e3".equals(kind) && (experts == 0 || experts % ensembleSize != 0 || topK > experts / ensembleSize)) {
            throw new IllegalArgumentException("an e3 architecture needs experts divisible by ensemble_size and top_k <= "
                    + "experts / ensemble_size; got experts=" + experts + ", ensemble_size=" + ensembleSize
                    + ", top_k=" + topK);
        }
        if (("vmoe".equals(kind) || "vit".equals(kind)) && ensembleSize != 1) {
            throw new IllegalArgumentException("a " + kind + " architecture has ensemble_size 1, got " + ensembleSize);
        }
        for (int layer : moeLayers) {
            if (layer < 0 || layer >= layers) {
                throw new IllegalArgumentException("moe_layers entry " + layer + " is outside 0.." + (layers - 1));
            }
        }
    }

    private static void positive(String field, int value) {
        if (value < 1) {
            throw new IllegalArgumentException("architecture." + field + " must be >= 1, got " + value);
        }
    }

    /** Tokens per side after the stem: ceil(image_size / patch). */
    public int tokenSide() {
        return (imageSize + patch - 1) / patch;
    }

    public int tokens() {
        return tokenSide() * tokenSide();
    }

    /** Members whose logits the model outputs (the M of {@code member_logits [B, M, C]}). */
    public int members() {
        return ensembleSize;
    }
}
