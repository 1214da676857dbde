package e3stream.runtime.model;

/**
 * What one model call returns for a batch: raw member logits {@code [B][M][C]} and, when the bundle's graph has the
 * optional {@code feature_log_density} output, each image's feature log density {@code [B]} (else {@code null}).
 * Arrays are handed over as they are: the caller owns them.
 */
public record ModelOutput(float[][][] memberLogits, float[] featureLogDensity) {

    /** One image's part of the batch. */
    public ImageOutput image(int b) {
        return new ImageOutput(memberLogits[b], featureLogDensity == null ? Double.NaN : featureLogDensity[b]);
    }

    public int batchSize() {
        return memberLogits.length;
    }

    /**
     * One image's model output.
     *
     * @param memberLogits      {@code [M][C]}, before temperature
     * @param featureLogDensity the members' combined feature log density, or {@code NaN} without the density output
     */
    public record ImageOutput(float[][] memberLogits, double featureLogDensity) {
    }
}
