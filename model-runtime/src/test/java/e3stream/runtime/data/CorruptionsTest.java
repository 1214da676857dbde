package e3stream.runtime.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import e3stream.runtime.data.IdxReader;
import e3stream.runtime.data.ImageSet;
import e3stream.runtime.testutils.RepoFiles;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class CorruptionsTest {
    private static ImageSet images;

    @BeforeAll
    static void load() {
        images = IdxReader.read("subset", RepoFiles.data("fashion-mnist-test-2000-images-idx3-ubyte.gz"),
                RepoFiles.data("fashion-mnist-test-2000-labels-idx1-ubyte.gz")).first(40);
    }

    private static double meanAbsDifference(ImageSet a, ImageSet b) {
        double sum = 0;
        for (int i = 0; i < a.count(); i++) {
            int[] x = a.image(i);
            int[] y = b.image(i);
            for (int p = 0; p < x.length; p++) {
                sum += Math.abs(x[p] - y[p]);
            }
        }
        return sum / (a.count() * 784.0);
    }

    @Test
    void atLeastFourTypesWithFiveSeveritiesEachChangeTheImagesMoreAsSeverityGrows() {
        assertTrue(Corruption.values().length >= 4);
        for (Corruption c : Corruption.values()) {
            double previous = 0;
            for (int s = 1; s <= Corruption.SEVERITIES; s++) {
                ImageSet corrupted = Corruptions.apply(images, c, s, 1);
                assertArrayEquals(images.labels(), corrupted.labels());
                double d = meanAbsDifference(images, corrupted);
                assertTrue(d > previous, c.id() + " severity " + s + " changes pixels by " + d
                        + ", not more than severity " + (s - 1) + " (" + previous + ")");
                previous = d;
            }
        }
    }

    @Test
    void sameSeedGivesTheSameImagesAndAnotherSeedOtherNoise() {
        for (Corruption c : Corruption.values()) {
            ImageSet a = Corruptions.apply(images, c, 3, 42);
            ImageSet b = Corruptions.apply(images, c, 3, 42);
            for (int i = 0; i < images.count(); i++) {
                assertArrayEquals(a.image(i), b.image(i), c.id());
            }
        }
        ImageSet other = Corruptions.apply(images, Corruption.GAUSSIAN_NOISE, 3, 43);
        ImageSet a = Corruptions.apply(images, Corruption.GAUSSIAN_NOISE, 3, 42);
        assertFalse(Arrays.equals(a.image(0), other.image(0)));
    }

    @Test
    void anImagesCorruptionDoesNotDependOnTheOtherImagesInTheSet() {
        ImageSet all = Corruptions.apply(images, Corruption.SHOT_NOISE, 2, 5);
        ImageSet firstTen = Corruptions.apply(images.first(10), Corruption.SHOT_NOISE, 2, 5);
        for (int i = 0; i < 10; i++) {
            assertArrayEquals(all.image(i), firstTen.image(i));
        }
    }

    @Test
    void deterministicTypesDoWhatTheirNamesSay() {
        byte[] image = new byte[28 * 28];
        image[14 * 28 + 14] = (byte) 200;
        SplittableRandom rng = new SplittableRandom(1);
        // Brightness adds 0.1 * 255 = 25.5 -> 26 to the black background.
        assertEquals(26, Corruption.BRIGHTNESS.apply(image, 28, 28, 1, rng)[0] & 0xff);
        // Contrast pulls every pixel towards the image mean (200/784 = 0.255): the bright pixel drops to
        // round(((200 - 0.255) * 0.5 + 0.255)) = 100.
        assertEquals(100, Corruption.CONTRAST.apply(image, 28, 28, 1, rng)[14 * 28 + 14] & 0xff);
        // Blur spreads the bright pixel to its neighbours and keeps the total roughly.
        byte[] blurred = Corruption.GAUSSIAN_BLUR.apply(image, 28, 28, 3, rng);
        assertTrue((blurred[14 * 28 + 15] & 0xff) > 0 && (blurred[14 * 28 + 14] & 0xff) < 200);
        // Pixelation with 2x2 blocks averages the bright pixel's block: 200 / 4 = 50 in all four pixels.
        byte[] pixelated = Corruption.PIXELATE.apply(image, 28, 28, 1, rng);
        assertEquals(50, pixelated[14 * 28 + 15] & 0xff);
        assertEquals(50, pixelated[15 * 28 + 14] & 0xff);
        // Rotation keeps the centre of rotation's neighbourhood: a pixel at the exact centre stays put.
        byte[] even = new byte[27 * 27];
        even[13 * 27 + 13] = (byte) 255;
        assertEquals(255, Corruption.ROTATION.apply(even, 27, 27, 5, rng)[13 * 27 + 13] & 0xff);
    }

    @Test
    void refusesASeverityOutsideOneToFiveAndUnknownNames() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Corruption.CONTRAST.apply(new byte[784], 28, 28, 6, new SplittableRandom(1)));
        assertEquals("severity must be 1..5, got 6", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Corruption.fromId("fog"));
        assertEquals(Corruption.SHOT_NOISE, Corruption.fromId("shot_noise"));
    }
}
