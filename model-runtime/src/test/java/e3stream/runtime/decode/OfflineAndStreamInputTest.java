package e3stream.runtime.decode;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import e3stream.runtime.data.IdxReader;
import e3stream.runtime.data.ImageSet;
import e3stream.runtime.model.InputSpec;
import e3stream.runtime.model.ModelBundle;
import e3stream.runtime.testutils.RepoFiles;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.nio.file.Path;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;

/**
 * The offline tools ({@code evaluate}, {@code calibrate}) score {@link ImageSet#normalised}; the stream scores what
 * {@link ImageDecoder} makes of an event's payload. For the same image both must be the same tensor, element for
 * element, or the offline figures describe another input than the one the stream serves.
 */
class OfflineAndStreamInputTest {

    @Test
    void theCommittedImagesSentAsEventsGiveExactlyTheOfflineTensor() throws Exception {
        List<ImageSet> sets = List.of(
                IdxReader.read("fashion-mnist", RepoFiles.data("fashion-mnist-test-2000-images-idx3-ubyte.gz"),
                        RepoFiles.data("fashion-mnist-test-2000-labels-idx1-ubyte.gz")).first(100),
                IdxReader.read("mnist", RepoFiles.data("mnist-500-images-idx3-ubyte.gz"),
                        RepoFiles.data("mnist-500-labels-idx1-ubyte.gz")).first(30));
        List<Path> bundles = RepoFiles.bundles();
        assertFalse(bundles.isEmpty(), "shipped bundles under models/");
        for (Path dir : bundles) {
            InputSpec input = ModelBundle.load(dir).manifest().input();
            ImageDecoder decoder = ImageDecoder.forInput(input, DecodeLimits.defaults());
            for (ImageSet set : sets) {
                for (int i = 0; i < set.count(); i++) {
                    float[] offline = set.normalised(i, i + 1, input);
                    String what = dir.getFileName() + ": " + set.name() + " image " + i;
                    assertArrayEquals(offline, decoder.decode(ImageDecoder.PNG, png(set, i, 1), null, null, null),
                            what + " as PNG");
                    assertArrayEquals(offline, decoder.decode(ImageDecoder.RAW_U8, set.imageBytes(i), set.width(),
                            set.height(), 1), what + " as raw pixels");
                    // twice the size, each pixel repeated 2x2: area resampling restores the same pixels
                    assertArrayEquals(offline, decoder.decode(ImageDecoder.PNG, png(set, i, 2), null, null, null),
                            what + " as a PNG of twice the size");
                }
            }
        }
    }

    /** Image {@code index} of the set as an 8-bit grey PNG, each pixel repeated {@code scale x scale} times. */
    private static byte[] png(ImageSet set, int index, int scale) throws Exception {
        int[] pixels = set.image(index);
        BufferedImage image = new BufferedImage(set.width() * scale, set.height() * scale,
                BufferedImage.TYPE_BYTE_GRAY);
        for (int y = 0; y < image.getHeight(); y++) {
            for (int x = 0; x < image.getWidth(); x++) {
                image.getRaster().setSample(x, y, 0, pixels[(y / scale) * set.width() + x / scale]);
            }
        }
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        ImageIO.write(image, "png", bytes);
        return bytes.toByteArray();
    }
}
