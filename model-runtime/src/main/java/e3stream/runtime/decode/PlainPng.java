package e3stream.runtime.decode;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Set;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;

import e3stream.runtime.decode.DecodeException.Code;

/**
 * The PNGs producers send most, read without javax.imageio: 8-bit grey, grey + alpha, RGB or RGBA, not interlaced,
 * with no chunk that could change how javax.imageio maps the samples to colours (iCCP, sRGB, gAMA, cHRM, sBIT,
 * tRNS, ...: only the chunks of {@link #PLAIN_CHUNKS} are allowed). javax.imageio allocates some 100 KB of
 * short-lived buffers and streams per image (a 28x28 PNG), most of the decoder's garbage in the pipeline
 * (BENCHMARKS.md, Pipeline); this reader inflates one row at a time into two row buffers and gives the stored samples
 * unchanged, exactly what the javax.imageio path gives for these PNGs (ImageDecoderTest compares the two).
 * Any other PNG, or one whose chunks do not parse, is not plain ({@link #parse} returns null) and goes to
 * javax.imageio, which reports what is wrong with it as before. Like javax.imageio it does not check chunk CRCs and
 * inflates only the rows the header declares, whatever the image data holds beyond them.
 */
final class PlainPng {

    /** Chunk types a plain PNG may have: the critical ones and ancillary ones that do not affect the pixel values. */
    private static final Set<String> PLAIN_CHUNKS = Set.of("IHDR", "IDAT", "IEND", "tEXt", "zTXt", "iTXt", "tIME",
            "pHYs", "bKGD");

    final int width;
    final int height;
    /** Bytes per pixel: 1 grey, 2 grey + alpha, 3 RGB, 4 RGBA. */
    final int samples;
    private final byte[] payload;
    /** Offsets and lengths of the IDAT chunks' data, in order. */
    private final int[] idatOffsets;
    private final int[] idatLengths;

    private PlainPng(int width, int height, int samples, byte[] payload, int[] idatOffsets, int[] idatLengths) {
        this.width = width;
        this.height = height;
        this.samples = samples;
        this.payload = payload;
        this.idatOffsets = idatOffsets;
        this.idatLengths = idatLengths;
    }

    /** Receives the unfiltered rows, top to bottom: {@code row[1 + x * samples + s]} is sample s of pixel x. */
    interface Rows {
        void row(int y, byte[] row);
    }

    /**
     * The plain PNG in {@code payload}, or null if it is not one. {@code header} is its IHDR as
     * {@link ImageHeaders#png} read it (signature and IHDR already checked); its pixel count is already bounded by
     * the decode limits.
     */
    static PlainPng parse(byte[] payload, ImageHeaders.Png header) {
        int colourType = header.colourType();
        if (header.bitDepth() != 8 || colourType == 3 || header.width() * header.height() > Integer.MAX_VALUE
                || header.width() * header.samples() + 1 > Integer.MAX_VALUE) {
            return null;
        }
        // compression method, filter method, interlace method (IHDR bytes 10..12)
        if (payload[26] != 0 || payload[27] != 0 || payload[28] != 0) {
            return null;
        }
        int[] offsets = new int[4];
        int[] lengths = new int[4];
        int idats = 0;
        boolean idatEnded = false;
        int at = 8; // after the signature
        while (true) {
            if (at + 8 > payload.length) {
                return null; // no IEND
            }
            long length = ImageHeaders.u32(payload, at);
            if (length > payload.length - at - 12L) {
                return null; // chunk data and CRC beyond the payload
            }
            String type = new String(payload, at + 4, 4, StandardCharsets.ISO_8859_1);
            if (!PLAIN_CHUNKS.contains(type)) {
                return null;
            }
            if (type.equals("IEND")) {
                break;
            }
            if (type.equals("IDAT")) {
                if (idatEnded) {
                    return null; // IDAT chunks must be consecutive
                }
                if (idats == offsets.length) {
                    offsets = Arrays.copyOf(offsets, idats * 2);
                    lengths = Arrays.copyOf(lengths, idats * 2);
                }
                offsets[idats] = at + 8;
                lengths[idats] = (int) length;
                idats++;
            } else if (idats > 0) {
                idatEnded = true;
            }
            at += 12 + (int) length;
        }
        if (idats == 0) {
            return null;
        }
        return new PlainPng((int) header.width(), (int) header.height(), header.samples(), payload,
                Arrays.copyOf(offsets, idats), Arrays.copyOf(lengths, idats));
    }

    /**
     * Inflates and unfilters the image data one row at a time (PNG specification, sections 9 and 10). The row array
     * passed to {@code rows} is reused for the next row but one.
     *
     * @throws DecodeException {@link Code#CORRUPT_IMAGE} when the image data is not a zlib stream, ends before the
     *     last row, or a row has an unknown filter type
     */
    void read(Rows rows) throws DecodeException {
        int stride = width * samples + 1; // the filter type byte, then the row's bytes
        byte[] previous = new byte[stride]; // the row "above" the first is all zeros
        byte[] current = new byte[stride];
        // This method owns the Inflater (native zlib state) and ends it before returning.
        Inflater inflater = new Inflater();
        try {
            int nextIdat = 0;
            for (int y = 0; y < height; y++) {
                int filled = 0;
                while (filled < stride) {
                    int n = inflater.inflate(current, filled, stride - filled);
                    filled += n;
                    if (n == 0) {
                        if (inflater.finished() || inflater.needsDictionary()) {
                            throw truncated(y);
                        }
                        if (inflater.needsInput()) {
                            if (nextIdat == idatOffsets.length) {
                                throw truncated(y);
                            }
                            inflater.setInput(payload, idatOffsets[nextIdat], idatLengths[nextIdat]);
                            nextIdat++;
                        }
                    }
                }
                unfilter(current, previous, y);
                rows.row(y, current);
                byte[] swap = previous;
                previous = current;
                current = swap;
            }
        } catch (DataFormatException e) {
            throw new DecodeException(Code.CORRUPT_IMAGE, "cannot decode the PNG payload: its image data is not a "
                    + "valid zlib stream (" + e.getMessage() + ")");
        } finally {
            inflater.end();
        }
    }

    private DecodeException truncated(int y) {
        return new DecodeException(Code.CORRUPT_IMAGE, "cannot decode the PNG payload: its image data ends at row "
                + y + " of " + height);
    }

    private void unfilter(byte[] row, byte[] above, int y) throws DecodeException {
        int filter = row[0];
        int bpp = samples;
        switch (filter) {
            case 0 -> { }
            case 1 -> {
                for (int i = 1 + bpp; i < row.length; i++) {
                    row[i] += row[i - bpp];
                }
            }
            case 2 -> {
                for (int i = 1; i < row.length; i++) {
                    row[i] += above[i];
                }
            }
            case 3 -> {
                for (int i = 1; i < row.length; i++) {
                    int left = i > bpp ? row[i - bpp] & 0xFF : 0;
                    row[i] += (byte) ((left + (above[i] & 0xFF)) >>> 1);
                }
            }
            case 4 -> {
                for (int i = 1; i < row.length; i++) {
                    int a = i > bpp ? row[i - bpp] & 0xFF : 0;
                    int b = above[i] & 0xFF;
                    int c = i > bpp ? above[i - bpp] & 0xFF : 0;
                    row[i] += (byte) paeth(a, b, c);
                }
            }
            default -> throw new DecodeException(Code.CORRUPT_IMAGE, "cannot decode the PNG payload: row " + y
                    + " has the unknown filter type " + (filter & 0xFF));
        }
    }

    private static int paeth(int a, int b, int c) {
        int p = a + b - c;
        int pa = Math.abs(p - a);
        int pb = Math.abs(p - b);
        int pc = Math.abs(p - c);
        if (pa <= pb && pa <= pc) {
            return a;
        }
        return pb <= pc ? b : c;
    }
}
