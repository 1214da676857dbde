package e3stream.runtime.data;

import e3stream.runtime.Internal;

import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPInputStream;

/**
 * Reads the idx format of (Fashion-)MNIST: unsigned-byte images ({@code idx3}, magic 0x00000803) and labels
 * ({@code idx1}, magic 0x00000801), gzip-compressed (detected by the gzip magic) or plain. Stateless and thread-safe.
 */
@Internal
public final class IdxReader {
    private static final int UBYTE = 0x08;

    private IdxReader() {
    }

    /** Images and labels from a pair of idx files, checked to hold the same number of items. */
    public static ImageSet read(String name, Path images, Path labels) {
        Idx img = readIdx(images, 3);
        Idx lab = readIdx(labels, 1);
        if (img.dims[0] != lab.dims[0]) {
            throw new IllegalArgumentException(images + " holds " + img.dims[0] + " images but " + labels + " holds "
                    + lab.dims[0] + " labels; pass the matching pair of files");
        }
        int[] labelValues = new int[lab.data.length];
        for (int i = 0; i < labelValues.length; i++) {
            labelValues[i] = lab.data[i] & 0xff;
        }
        return ImageSet.adopt(name, img.data, labelValues, img.dims[1], img.dims[2]);
    }

    /** The raw bytes and dimensions of one idx file with {@code rank} dimensions. */
    static Idx readIdx(Path file, int rank) {
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException("idx file " + file + " does not exist (Fashion-MNIST: install the Debian "
                    + "package dataset-fashion-mnist or pass the folder that holds the four idx .gz files)");
        }
        try (InputStream raw = new BufferedInputStream(Files.newInputStream(file))) {
            raw.mark(2);
            boolean gzip = raw.read() == 0x1f && raw.read() == 0x8b;
            raw.reset();
            try (DataInputStream in = new DataInputStream(gzip ? new GZIPInputStream(raw, 1 << 16) : raw)) {
                int magic = in.readInt();
                int type = (magic >>> 8) & 0xff;
                int dims = magic & 0xff;
                if ((magic >>> 16) != 0 || type != UBYTE || dims != rank) {
                    throw new IllegalArgumentException(file + " is not an unsigned-byte idx file of rank " + rank
                            + " (magic 0x" + Integer.toHexString(magic) + ", expected 0x0000080" + rank + ")");
                }
                int[] shape = new int[dims];
                long total = 1;
                for (int i = 0; i < dims; i++) {
                    shape[i] = in.readInt();
                    if (shape[i] < 0) {
                        throw new IllegalArgumentException(file + ": negative dimension " + shape[i]);
                    }
                    total *= shape[i];
                }
                if (total > Integer.MAX_VALUE - 8) {
                    throw new IllegalArgumentException(file + ": " + total + " bytes is too large to load");
                }
                byte[] data = new byte[(int) total];
                in.readFully(data);
                if (in.read() != -1) {
                    throw new IllegalArgumentException(file + " has bytes after the " + total + " its header declares");
                }
                return new Idx(shape, data);
            }
        } catch (EOFException e) {
            throw new IllegalArgumentException(file + " is truncated: fewer bytes than its header declares", e);
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read idx file " + file + ": " + e.getMessage(), e);
        }
    }

    record Idx(int[] dims, byte[] data) {
    }
}
