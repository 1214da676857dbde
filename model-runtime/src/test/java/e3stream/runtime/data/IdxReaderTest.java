package e3stream.runtime.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import e3stream.runtime.testutils.RepoFiles;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class IdxReaderTest {
    @TempDir
    Path temp;

    private static ImageSet committedSubset() {
        return IdxReader.read("subset", RepoFiles.data("fashion-mnist-test-2000-images-idx3-ubyte.gz"),
                RepoFiles.data("fashion-mnist-test-2000-labels-idx1-ubyte.gz"));
    }

    @Test
    void readsTheCommittedSubsetAsTheFirst2000TestImages() {
        ImageSet subset = committedSubset();
        assertEquals(2000, subset.count());
        assertEquals(28, subset.height());
        assertEquals(28, subset.width());
        // The first Fashion-MNIST test image is an ankle boot (class 9), the second a pullover (class 2).
        assertEquals(9, subset.label(0));
        assertEquals(2, subset.label(1));
        int[] perClass = new int[10];
        Arrays.stream(subset.labels()).forEach(l -> perClass[l]++);
        for (int c = 0; c < 10; c++) {
            assertTrue(perClass[c] > 150, "class " + c + " has " + perClass[c] + " images");
        }
        ImageSet full = FashionMnist.test(FashionMnist.DEBIAN_DIR);
        assertEquals(10_000, full.count());
        ImageSet first = full.first(2000);
        assertArrayEquals(first.labels(), subset.labels());
        for (int i = 0; i < 2000; i += 97) {
            assertArrayEquals(first.image(i), subset.image(i), "image " + i);
        }
    }

    @Test
    void readsPlainAndGzipFilesAlike() throws IOException {
        byte[] images = idx(0x803, new int[] {2, 2, 3}, new byte[] {0, 1, 2, 3, 4, 5, (byte) 250, 7, 8, 9, 10, 11});
        byte[] labels = idx(0x801, new int[] {2}, new byte[] {3, 7});
        Files.write(temp.resolve("i"), images);
        Files.write(temp.resolve("l"), labels);
        try (OutputStream out = new GZIPOutputStream(Files.newOutputStream(temp.resolve("i.gz")))) {
            out.write(images);
        }
        ImageSet plain = IdxReader.read("t", temp.resolve("i"), temp.resolve("l"));
        ImageSet gz = IdxReader.read("t", temp.resolve("i.gz"), temp.resolve("l"));
        assertArrayEquals(new int[] {0, 1, 2, 3, 4, 5}, plain.image(0));
        assertArrayEquals(new int[] {250, 7, 8, 9, 10, 11}, gz.image(1));
        assertArrayEquals(new int[] {3, 7}, gz.labels());
        assertEquals(3, gz.width());
    }

    @Test
    void refusesTruncatedMismatchedAndWrongFiles() throws IOException {
        Files.write(temp.resolve("short"), idx(0x803, new int[] {2, 2, 2}, new byte[7]));
        Files.write(temp.resolve("l3"), idx(0x801, new int[] {3}, new byte[3]));
        Files.write(temp.resolve("ok"), idx(0x803, new int[] {2, 2, 2}, new byte[8]));
        IllegalArgumentException truncated = assertThrows(IllegalArgumentException.class,
                () -> IdxReader.read("t", temp.resolve("short"), temp.resolve("l3")));
        assertTrue(truncated.getMessage().contains("is truncated"), truncated.getMessage());
        IllegalArgumentException mismatch = assertThrows(IllegalArgumentException.class,
                () -> IdxReader.read("t", temp.resolve("ok"), temp.resolve("l3")));
        assertTrue(mismatch.getMessage().contains("holds 2 images but"), mismatch.getMessage());
        IllegalArgumentException swapped = assertThrows(IllegalArgumentException.class,
                () -> IdxReader.read("t", temp.resolve("l3"), temp.resolve("ok")));
        assertTrue(swapped.getMessage().contains("is not an unsigned-byte idx file of rank 3"), swapped.getMessage());
        IllegalArgumentException missing = assertThrows(IllegalArgumentException.class,
                () -> IdxReader.read("t", temp.resolve("none"), temp.resolve("l3")));
        assertTrue(missing.getMessage().contains("dataset-fashion-mnist"), missing.getMessage());
    }

    private static byte[] idx(int magic, int[] dims, byte[] data) {
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(4 + 4 * dims.length + data.length);
        b.putInt(magic);
        for (int d : dims) {
            b.putInt(d);
        }
        b.put(data);
        return b.array();
    }
}
