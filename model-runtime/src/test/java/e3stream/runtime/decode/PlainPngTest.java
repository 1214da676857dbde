package e3stream.runtime.decode;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Random;
import java.util.zip.Deflater;

import e3stream.runtime.decode.DecodeException.Code;
import org.junit.jupiter.api.Test;

/**
 * The plain-PNG reader against the pixels it encodes: every filter type and every plain colour type gives exactly
 * the stored samples (as the raw-pixel path and javax.imageio do), PNGs it does not cover go to javax.imageio, damaged
 * image data is refused as corrupt, and it makes a fraction of javax.imageio's garbage.
 */
class PlainPngTest {

    /** A 1-channel model of the image's own size, mean 0, std 1: the tensor is luminance / 255, no resize. */
    private static ImageDecoder greyModel(int w, int h) {
        return ImageDecoder.builder().channels(1).height(h).width(w).mean(0).std(1).build();
    }

    private static ImageDecoder rgbModel(int w, int h) {
        return ImageDecoder.builder().channels(3).height(h).width(w).mean(0, 0, 0).std(1, 1, 1).build();
    }

    private static byte[] noise(int n, long seed) {
        byte[] b = new byte[n];
        Random random = new Random(seed);
        for (int i = 0; i < n; i++) {
            // smooth ramps plus noise: every filter's predictor matters
            b[i] = (byte) ((i * 3) + random.nextInt(24));
        }
        return b;
    }

    @Test
    void everyFilterTypeAndPlainColourTypeGivesTheStoredSamples() throws Exception {
        int w = 13;
        int h = 7;
        int[][] colourTypes = {{0, 1}, {4, 2}, {2, 3}, {6, 4}}; // colour type, samples per pixel
        for (int[] ct : colourTypes) {
            int samples = ct[1];
            byte[] pixels = noise(w * h * samples, ct[0]);
            for (int filter = 0; filter <= 4; filter++) {
                byte[] png = png(w, h, ct[0], filtered(pixels, w, h, samples, filter));
                assertNotNull(PlainPng.parse(png, ImageHeaders.png(png)), "colour type " + ct[0] + " is plain");
                // the raw path wants 1, 3 or 4 channels: grey + alpha is compared as its grey samples
                byte[] raw = samples == 2 ? everyOther(pixels) : pixels;
                int rawChannels = samples == 2 ? 1 : samples;
                for (ImageDecoder model : new ImageDecoder[] {greyModel(w, h), rgbModel(w, h)}) {
                    assertArrayEquals(model.decode(ImageDecoder.RAW_U8, raw, w, h, rawChannels),
                            model.decode(ImageDecoder.PNG, png, null, null, null), 0f,
                            "colour type " + ct[0] + ", filter " + filter + ", " + model.channels() + "-channel model");
                }
            }
        }
    }

    @Test
    void imageDataSplitOverSeveralIdatChunksIsReadInOrder() throws Exception {
        int w = 28;
        byte[] pixels = noise(w * w, 5);
        byte[] data = deflate(filtered(pixels, w, w, 1, 4));
        int third = data.length / 3;
        byte[] png = png(w, w, 0, new byte[][] {Arrays.copyOfRange(data, 0, third), new byte[0],
                Arrays.copyOfRange(data, third, 2 * third), Arrays.copyOfRange(data, 2 * third, data.length)});
        assertArrayEquals(greyModel(w, w).decode(ImageDecoder.RAW_U8, pixels, w, w, 1),
                greyModel(w, w).decode(ImageDecoder.PNG, png, null, null, null), 0f);
    }

    @Test
    void pngsThatAreNotPlainGoToJavaxImageio() throws Exception {
        byte[] data = deflate(filtered(new byte[28 * 28], 28, 28, 1, 0));
        byte[] plain = png(28, 28, 0, new byte[][] {data});
        assertNotNull(PlainPng.parse(plain, ImageHeaders.png(plain)));
        byte[] gamma = withChunkAfterIhdr(plain, "gAMA", ByteBuffer.allocate(4).putInt(45455).array());
        assertNull(PlainPng.parse(gamma, ImageHeaders.png(gamma)), "a gamma chunk: javax.imageio decides");
        byte[] interlaced = plain.clone();
        interlaced[28] = 1;
        assertNull(PlainPng.parse(interlaced, ImageHeaders.png(interlaced)), "interlaced");
        byte[] noEnd = Arrays.copyOf(plain, plain.length - 12);
        assertNull(PlainPng.parse(noEnd, ImageHeaders.png(noEnd)), "no IEND");
        // and javax.imageio still reads what is not plain
        assertArrayEquals(new float[28 * 28], greyModel(28, 28).decode(ImageDecoder.PNG, gamma, null, null, null), 0f);
    }

    @Test
    void damagedImageDataIsRefusedAsCorrupt() throws Exception {
        int w = 28;
        byte[] rows = filtered(noise(w * w, 9), w, w, 1, 1);
        byte[] data = deflate(rows);
        ImageDecoder decoder = greyModel(w, w);

        byte[] shortData = png(w, w, 0, new byte[][] {Arrays.copyOf(data, data.length / 2)});
        DecodeException truncated = assertThrows(DecodeException.class,
                () -> decoder.decode(ImageDecoder.PNG, shortData, null, null, null));
        assertEquals(Code.CORRUPT_IMAGE, truncated.code());
        assertTrue(truncated.getMessage().contains("ends at row"), truncated.getMessage());

        byte[] notZlib = png(w, w, 0, new byte[][] {"not a zlib stream".getBytes(StandardCharsets.US_ASCII)});
        assertEquals(Code.CORRUPT_IMAGE, assertThrows(DecodeException.class,
                () -> decoder.decode(ImageDecoder.PNG, notZlib, null, null, null)).code());

        byte[] badFilter = rows.clone();
        badFilter[(w + 1) * 3] = 9; // row 3's filter type
        DecodeException unknown = assertThrows(DecodeException.class, () -> decoder.decode(ImageDecoder.PNG,
                png(w, w, 0, new byte[][] {deflate(badFilter)}), null, null, null));
        assertEquals(Code.CORRUPT_IMAGE, unknown.code());
        assertTrue(unknown.getMessage().contains("row 3") && unknown.getMessage().contains("filter type 9"),
                unknown.getMessage());
    }

    @Test
    void makesAFractionOfJavaxImageiosGarbage() throws Exception {
        int w = 28;
        byte[] plain = png(w, w, 0, new byte[][] {deflate(filtered(noise(w * w, 3), w, w, 1, 4))});
        // the same pixels with a gAMA chunk of gamma 1/2.2, which javax.imageio reads without changing grey samples
        byte[] viaImageIo = withChunkAfterIhdr(plain, "gAMA", ByteBuffer.allocate(4).putInt(45455).array());
        ImageDecoder decoder = greyModel(w, w);
        assertArrayEquals(decoder.decode(ImageDecoder.PNG, viaImageIo, null, null, null),
                decoder.decode(ImageDecoder.PNG, plain, null, null, null), 0f);
        long plainBytes = allocated(decoder, plain);
        long imageIoBytes = allocated(decoder, viaImageIo);
        assertTrue(plainBytes * 4 < imageIoBytes, "plain PNG decode allocated " + plainBytes
                + " bytes per image, javax.imageio " + imageIoBytes);
    }

    private static long allocated(ImageDecoder decoder, byte[] png) throws DecodeException {
        for (int i = 0; i < 50; i++) {
            decoder.decode(ImageDecoder.PNG, png, null, null, null); // warm
        }
        long before = ImageDecoderTest.allocatedByThisThread();
        for (int i = 0; i < 100; i++) {
            decoder.decode(ImageDecoder.PNG, png, null, null, null);
        }
        return (ImageDecoderTest.allocatedByThisThread() - before) / 100;
    }

    private static byte[] everyOther(byte[] b) {
        byte[] out = new byte[b.length / 2];
        for (int i = 0; i < out.length; i++) {
            out[i] = b[2 * i];
        }
        return out;
    }

    /** The rows of {@code pixels} filtered with {@code filter} (PNG specification, section 9), each with its type. */
    private static byte[] filtered(byte[] pixels, int w, int h, int bpp, int filter) {
        int stride = w * bpp;
        byte[] out = new byte[h * (stride + 1)];
        for (int y = 0; y < h; y++) {
            out[y * (stride + 1)] = (byte) filter;
            for (int i = 0; i < stride; i++) {
                int x = pixels[y * stride + i] & 0xFF;
                int a = i >= bpp ? pixels[y * stride + i - bpp] & 0xFF : 0;
                int b = y > 0 ? pixels[(y - 1) * stride + i] & 0xFF : 0;
                int c = i >= bpp && y > 0 ? pixels[(y - 1) * stride + i - bpp] & 0xFF : 0;
                int predicted = switch (filter) {
                    case 0 -> 0;
                    case 1 -> a;
                    case 2 -> b;
                    case 3 -> (a + b) / 2;
                    default -> {
                        int p = a + b - c;
                        int pa = Math.abs(p - a);
                        int pb = Math.abs(p - b);
                        int pc = Math.abs(p - c);
                        yield pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
                    }
                };
                out[y * (stride + 1) + 1 + i] = (byte) (x - predicted);
            }
        }
        return out;
    }

    private static byte[] deflate(byte[] data) {
        Deflater deflater = new Deflater();
        deflater.setInput(data);
        deflater.finish();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] buf = new byte[4096];
        while (!deflater.finished()) {
            out.write(buf, 0, deflater.deflate(buf));
        }
        deflater.end();
        return out.toByteArray();
    }

    private static byte[] png(int w, int h, int colourType, byte[] filteredRows) throws IOException {
        return png(w, h, colourType, new byte[][] {deflate(filteredRows)});
    }

    /** Signature, IHDR (8-bit, not interlaced), one IDAT per element of {@code idats}, IEND. */
    private static byte[] png(int w, int h, int colourType, byte[][] idats) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'});
        ImageDecoderTest.chunk(out, "IHDR", ByteBuffer.allocate(13).putInt(w).putInt(h).put((byte) 8)
                .put((byte) colourType).put((byte) 0).put((byte) 0).put((byte) 0).array());
        for (byte[] idat : idats) {
            ImageDecoderTest.chunk(out, "IDAT", idat);
        }
        ImageDecoderTest.chunk(out, "IEND", new byte[0]);
        return out.toByteArray();
    }

    private static byte[] withChunkAfterIhdr(byte[] png, String type, byte[] data) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(png, 0, 33); // signature and IHDR
        ImageDecoderTest.chunk(out, type, data);
        out.write(png, 33, png.length - 33);
        return out.toByteArray();
    }
}
