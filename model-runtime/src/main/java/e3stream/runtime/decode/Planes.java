package e3stream.runtime.decode;

import e3stream.runtime.model.InputSpec;

/**
 * Pixels on the 0..255 scale, one plane per channel the model takes (a grey source's one plane repeated for a
 * colour model), and their normalisation into the model's tensor.
 *
 * @param width  pixels per row
 * @param height rows
 * @param planes one {@code float[width * height]} per plane, row-major
 */
record Planes(int width, int height, float[][] planes) {

    /**
     * The model's CHW tensor: each channel normalised by {@link InputSpec#normalise}, the implementation the offline
     * image sets use too.
     *
     * @param mean one value per plane
     * @param std  one value per plane
     */
    float[] normalised(double[] mean, double[] std) {
        int channels = planes.length;
        int n = height * width;
        float[] tensor = new float[channels * n];
        for (int c = 0; c < channels; c++) {
            float[] plane = planes[c];
            float m = (float) mean[c];
            float s = (float) std[c];
            for (int i = 0; i < n; i++) {
                tensor[c * n + i] = InputSpec.normalise(plane[i], m, s);
            }
        }
        return tensor;
    }
}
