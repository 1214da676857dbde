package e3stream.runtime.decode;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import e3stream.runtime.decode.DecodeException.Code;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.zip.CRC32;
import java.util.zip.Deflater;
import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageWriteParam;
import javax.imageio.ImageWriter;
import javax.imageio.stream.MemoryCacheImageOutputStream;
import org.junit.jupiter.api.Test;

class ImageDecoderTest {

    /** mean 0, std 1: the tensor is x / 255, so expected values are easy to state. */
    private static ImageDecoder unitDecoder(int size) {
        return ImageDecoder.builder().channels(1).height(size).width(size).mean(0).std(1).build();
    }

    private static float[] greyRamp(int w, int h) {
        float[] v = new float[w * h];
        for (int i = 0; i < v.length; i++) {
            v[i] = (i * 7) % 256;
        }
        return v;
    }

    private static byte[] toBytes(float[] grey) {
        byte[] b = new byte[grey.length];
        for (int i = 0; i < b.length; i++) {
            b[i] = (byte) (int) grey[i];
        }
        return b;
    }

    private static BufferedImage greyImage(int w, int h, float[] grey) {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_BYTE_GRAY);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                img.getRaster().setSample(x, y, 0, (int) grey[y * w + x]);
            }
        }
        return img;
    }

    private static byte[] encode(BufferedImage img, String format) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        assertTrue(ImageIO.write(img, format, out), "no ImageIO writer for " + format);
        return out.toByteArray();
    }

    private static byte[] jpegAtQuality(BufferedImage img, float quality) throws IOException {
        ImageWriter writer = ImageIO.getImageWritersByFormatName("jpeg").next();
        ImageWriteParam param = writer.getDefaultWriteParam();
        param.setCompressionMode(ImageWriteParam.MODE_EXPLICIT);
        param.setCompressionQuality(quality);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (MemoryCacheImageOutputStream ios = new MemoryCacheImageOutputStream(out)) {
            writer.setOutput(ios);
            writer.write(null, new IIOImage(img, null, null), param);
        } finally {
            writer.dispose();
        }
        return out.toByteArray();
    }

    private static DecodeException refused(ImageDecoder decoder, String type, byte[] payload, Integer w, Integer h,
            Integer c) {
        return assertThrows(DecodeException.class, () -> decoder.decode(type, payload, w, h, c));
    }

    @Test
    void rawGreyPixelsAreNormalisedWithMeanAndStd() throws Exception {
        ImageDecoder decoder = ImageDecoder.builder().channels(1).height(2).width(3).mean(0.5).std(0.25).build();
        byte[] raw = {0, (byte) 255, 51, (byte) 204, 102, (byte) 128};
        float[] tensor = decoder.decode(ImageDecoder.RAW_U8, raw, 3, 2, 1);
        // (x/255 - 0.5) / 0.25 by hand: 0 -> -2, 255 -> 2, 51 -> -1.2, 204 -> 1.2, 102 -> -0.4, 128 -> 0.00784...
        assertArrayEquals(new float[] {-2f, 2f, -1.2f, 1.2f, -0.4f, (float) ((128 / 255.0 - 0.5) / 0.25)}, tensor,
                1e-6f);
    }

    @Test
    void pngGreyGivesExactlyTheStoredPixels() throws Exception {
        float[] grey = greyRamp(28, 28);
        byte[] png = encode(greyImage(28, 28, grey), "png");
        ImageDecoder decoder = ImageDecoder.builder().channels(1).height(28).width(28).mean(0.286).std(0.353).build();

        float[] fromPng = decoder.decode(ImageDecoder.PNG, png, null, null, null);
        float[] fromRaw = decoder.decode(ImageDecoder.RAW_U8, toBytes(grey), 28, 28, 1);

        assertArrayEquals(fromRaw, fromPng, 0f);
        assertEquals((float) ((grey[5] / 255.0 - 0.286) / 0.353), fromPng[5], 1e-6f);
    }

    @Test
    void sixteenBitGreyPngIsScaledToTheEightBitRange() throws Exception {
        BufferedImage img = new BufferedImage(2, 1, BufferedImage.TYPE_USHORT_GRAY);
        img.getRaster().setSample(0, 0, 0, 65535);
        img.getRaster().setSample(1, 0, 0, 128 * 257); // 128 on the 8-bit scale
        ImageDecoder decoder = ImageDecoder.builder().channels(1).height(1).width(2).mean(0).std(1).build();

        float[] tensor = decoder.decode(ImageDecoder.PNG, encode(img, "png"), null, null, null);

        assertArrayEquals(new float[] {1f, 128 / 255f}, tensor, 1e-6f);
    }

    @Test
    void rgbIsConvertedToLuminance() throws Exception {
        BufferedImage img = new BufferedImage(4, 1, BufferedImage.TYPE_INT_RGB);
        img.setRGB(0, 0, 0xFF0000);
        img.setRGB(1, 0, 0x00FF00);
        img.setRGB(2, 0, 0x0000FF);
        img.setRGB(3, 0, 0x0A141E); // (10, 20, 30)
        ImageDecoder decoder = ImageDecoder.builder().channels(1).height(1).width(4).mean(0).std(1).build();

        float[] tensor = decoder.decode(ImageDecoder.PNG, encode(img, "png"), null, null, null);

        float[] expected = {0.299f, 0.587f, 0.114f, (float) ((0.299 * 10 + 0.587 * 20 + 0.114 * 30) / 255)};
        assertArrayEquals(expected, tensor, 1e-6f);
        // the same pixels sent raw (RGB, then RGBA with alpha ignored) give the same tensor
        byte[] rgb = {(byte) 255, 0, 0, 0, (byte) 255, 0, 0, 0, (byte) 255, 10, 20, 30};
        assertArrayEquals(expected, decoder.decode(ImageDecoder.RAW_U8, rgb, 4, 1, 3), 1e-6f);
        byte[] rgba = {(byte) 255, 0, 0, 1, 0, (byte) 255, 0, 2, 0, 0, (byte) 255, 3, 10, 20, 30, 4};
        assertArrayEquals(expected, decoder.decode(ImageDecoder.RAW_U8, rgba, 4, 1, 4), 1e-6f);
    }

    @Test
    void palettePngUsesThePaletteColours() throws Exception {
        byte[] reds = {0, (byte) 85, (byte) 255, (byte) 255};
        byte[] greens = {0, (byte) 85, (byte) 255, 0};
        byte[] blues = {0, (byte) 85, (byte) 255, 0};
        BufferedImage img = new BufferedImage(4, 1, BufferedImage.TYPE_BYTE_INDEXED,
                new java.awt.image.IndexColorModel(2, 4, reds, greens, blues));
        for (int x = 0; x < 4; x++) {
            img.getRaster().setSample(x, 0, 0, x);
        }
        ImageDecoder decoder = ImageDecoder.builder().channels(1).height(1).width(4).mean(0).std(1).build();

        float[] tensor = decoder.decode(ImageDecoder.PNG, encode(img, "png"), null, null, null);

        assertArrayEquals(new float[] {0f, 85 / 255f, 1f, 0.299f}, tensor, 1e-6f);
    }

    @Test
    void threeChannelModelGetsRgbPlanesAndReplicatedGrey() throws Exception {
        ImageDecoder decoder = ImageDecoder.builder().channels(3).height(1).width(2)
                .mean(0.1, 0.2, 0.3).std(0.5, 0.5, 0.5).build();
        byte[] rgb = {(byte) 255, 0, 51, 0, (byte) 102, (byte) 255};
        float[] tensor = decoder.decode(ImageDecoder.RAW_U8, rgb, 2, 1, 3);
        // CHW: R plane (255, 0), G plane (0, 102), B plane (51, 255)
        assertArrayEquals(new float[] {1.8f, -0.2f, -0.4f, 0.4f, -0.2f, 1.4f}, tensor, 1e-6f);

        float[] grey = decoder.decode(ImageDecoder.RAW_U8, new byte[] {(byte) 255, 0}, 2, 1, 1);
        assertArrayEquals(new float[] {1.8f, -0.2f, 1.6f, -0.4f, 1.4f, -0.6f}, grey, 1e-6f);
    }

    @Test
    void jpegDecodesWithinCompressionTolerance() throws Exception {
        float[] grey = new float[28 * 28];
        for (int y = 0; y < 28; y++) {
            for (int x = 0; x < 28; x++) {
                grey[y * 28 + x] = 20 + 7 * x + 1.5f * y; // smooth gradient, 20..231
            }
        }
        byte[] jpeg = jpegAtQuality(greyImage(28, 28, grey), 0.95f);

        float[] tensor = unitDecoder(28).decode(ImageDecoder.JPEG, jpeg, null, null, null);

        double maxError = 0;
        for (int i = 0; i < grey.length; i++) {
            maxError = Math.max(maxError, Math.abs(tensor[i] * 255 - (int) grey[i]));
        }
        assertTrue(maxError <= 4, "JPEG at quality 0.95 differs from the original by up to " + maxError + " levels");
    }

    @Test
    void colourJpegIsConvertedToLuminance() throws Exception {
        BufferedImage img = new BufferedImage(16, 16, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < 16; y++) {
            for (int x = 0; x < 16; x++) {
                img.setRGB(x, y, (200 << 16) | (100 << 8) | 50);
            }
        }
        float[] tensor = unitDecoder(16).decode(ImageDecoder.JPEG, jpegAtQuality(img, 0.95f), null, null, null);
        double expected = (0.299 * 200 + 0.587 * 100 + 0.114 * 50) / 255;
        for (float v : tensor) {
            assertEquals(expected, v, 3 / 255.0);
        }
    }

    @Test
    void shrinkingByAnIntegerFactorAveragesEachBlock() throws Exception {
        float[] big = new float[56 * 56];
        float[] expected = new float[28 * 28];
        for (int by = 0; by < 28; by++) {
            for (int bx = 0; bx < 28; bx++) {
                int base = ((by * 28 + bx) % 60) * 4;
                big[(2 * by) * 56 + 2 * bx] = base;
                big[(2 * by) * 56 + 2 * bx + 1] = base + 1;
                big[(2 * by + 1) * 56 + 2 * bx] = base + 2;
                big[(2 * by + 1) * 56 + 2 * bx + 1] = base + 3;
                expected[by * 28 + bx] = (base + 1.5f) / 255;
            }
        }
        float[] fromPng = unitDecoder(28).decode(ImageDecoder.PNG, encode(greyImage(56, 56, big), "png"), null, null,
                null);
        assertArrayEquals(expected, fromPng, 1e-6f);
    }

    @Test
    void enlargingByAnIntegerFactorDuplicatesPixels() throws Exception {
        float[] small = greyRamp(14, 14);
        float[] tensor = unitDecoder(28).decode(ImageDecoder.RAW_U8, toBytes(small), 14, 14, 1);
        for (int y = 0; y < 28; y++) {
            for (int x = 0; x < 28; x++) {
                assertEquals(small[(y / 2) * 14 + x / 2] / 255, tensor[y * 28 + x], 1e-6f, "pixel " + x + "," + y);
            }
        }
    }

    @Test
    void fractionalResizeWeightsSourcePixelsByOverlap() throws Exception {
        // 3 -> 2 pixels: output 0 covers source 0 fully (2/3) and source 1 by half (1/3): 0*2/3 + 90/3 = 30;
        // output 1 covers source 1 by 1/3 and source 2 by 2/3: 90/3 + 180*2/3 = 150.
        byte[] raw = {0, 90, (byte) 180, 0, 90, (byte) 180, 0, 90, (byte) 180};
        float[] tensor = unitDecoder(2).decode(ImageDecoder.RAW_U8, raw, 3, 3, 1);
        assertArrayEquals(new float[] {30 / 255f, 150 / 255f, 30 / 255f, 150 / 255f}, tensor, 1e-6f);
    }

    @Test
    void contentTypeIsMatchedCaseInsensitivelyIgnoringParameters() throws Exception {
        byte[] png = encode(greyImage(28, 28, greyRamp(28, 28)), "png");
        assertEquals(28 * 28, unitDecoder(28).decode(" IMAGE/PNG; q=1", png, null, null, null).length);
    }

    @Test
    void unknownContentTypesAreRefusedWithTheValidOnes() {
        DecodeException e = refused(unitDecoder(28), "image/gif", new byte[] {1, 2, 3}, null, null, null);
        assertEquals(Code.UNSUPPORTED_CONTENT_TYPE, e.code());
        assertTrue(e.getMessage().contains("image/gif") && e.getMessage().contains(ImageDecoder.RAW_U8),
                e.getMessage());
        assertEquals(Code.UNSUPPORTED_CONTENT_TYPE, refused(unitDecoder(28), null, new byte[] {1}, 1, 1, 1).code());
    }

    @Test
    void emptyPayloadIsRefused() {
        assertEquals(Code.EMPTY_PAYLOAD, refused(unitDecoder(28), ImageDecoder.PNG, new byte[0], null, null, null)
                .code());
        assertEquals(Code.EMPTY_PAYLOAD, refused(unitDecoder(28), ImageDecoder.RAW_U8, null, 1, 1, 1).code());
    }

    @Test
    void oversizedPayloadIsRefusedBeforeLookingAtItsContent() {
        ImageDecoder decoder = ImageDecoder.builder().channels(1).height(28).width(28).mean(0).std(1)
                .limits(new DecodeLimits(100, DecodeLimits.DEFAULT_MAX_PIXELS)).build();
        byte[] garbage = new byte[101];
        DecodeException e = refused(decoder, ImageDecoder.PNG, garbage, null, null, null);
        assertEquals(Code.PAYLOAD_TOO_LARGE, e.code());
        assertTrue(e.getMessage().contains("101 bytes") && e.getMessage().contains("100 bytes"), e.getMessage());
    }

    @Test
    void pngBombDeclaringTenGigapixelsIsRefusedWithoutAllocatingItsRaster() throws Exception {
        byte[] bomb = craftedGreyPng(100_000, 100_000);
        assertTrue(bomb.length < 2_000, "the bomb is small: " + bomb.length + " bytes");
        ImageDecoder decoder = unitDecoder(28);
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long threadId = Thread.currentThread().getId();

        long before = threads.getThreadAllocatedBytes(threadId);
        DecodeException e = refused(decoder, ImageDecoder.PNG, bomb, null, null, null);
        long allocated = threads.getThreadAllocatedBytes(threadId) - before;

        assertEquals(Code.TOO_MANY_PIXELS, e.code());
        assertTrue(e.getMessage().contains("100000x100000"), e.getMessage());
        // decoding would need 10^10 bytes for the grey raster alone
        assertTrue(allocated < 1_000_000, "refusing the bomb allocated " + allocated + " bytes");
    }

    @Test
    void pixelLimitIsInclusive() throws Exception {
        byte[] png = encode(greyImage(64, 64, greyRamp(64, 64)), "png");
        ImageDecoder.Builder b = ImageDecoder.builder().channels(1).height(28).width(28).mean(0).std(1);
        ImageDecoder atLimit = b.limits(new DecodeLimits(DecodeLimits.DEFAULT_MAX_PAYLOAD_BYTES, 64 * 64)).build();
        ImageDecoder belowLimit = b.limits(new DecodeLimits(DecodeLimits.DEFAULT_MAX_PAYLOAD_BYTES, 64 * 64 - 1))
                .build();

        assertEquals(28 * 28, atLimit.decode(ImageDecoder.PNG, png, null, null, null).length);
        assertEquals(Code.TOO_MANY_PIXELS, refused(belowLimit, ImageDecoder.PNG, png, null, null, null).code());
        assertEquals(Code.TOO_MANY_PIXELS,
                refused(belowLimit, ImageDecoder.RAW_U8, new byte[64 * 64], 64, 64, 1).code());
    }

    @Test
    void jpegWhoseFrameHeaderDeclaresTooManyPixelsIsRefused() throws Exception {
        byte[] jpeg = jpegAtQuality(greyImage(32, 32, greyRamp(32, 32)), 0.9f);
        int sof = indexOfMarker(jpeg, 0xC0);
        // SOF0 segment: FF C0, length(2), precision(1), height(2), width(2)
        ByteBuffer.wrap(jpeg, sof + 5, 4).putShort((short) 60000).putShort((short) 60000);

        DecodeException e = refused(unitDecoder(28), ImageDecoder.JPEG, jpeg, null, null, null);

        assertEquals(Code.TOO_MANY_PIXELS, e.code());
        assertTrue(e.getMessage().contains("60000x60000"), e.getMessage());
    }

    @Test
    void corruptImagesAreRefusedAsCorrupt() throws Exception {
        ImageDecoder decoder = unitDecoder(28);
        byte[] png = encode(greyImage(28, 28, greyRamp(28, 28)), "png");
        byte[] jpeg = jpegAtQuality(greyImage(28, 28, greyRamp(28, 28)), 0.9f);

        assertEquals(Code.CORRUPT_IMAGE, refused(decoder, ImageDecoder.PNG, Arrays.copyOf(png, png.length / 2), null,
                null, null).code());
        assertEquals(Code.CORRUPT_IMAGE, refused(decoder, ImageDecoder.JPEG, Arrays.copyOf(jpeg, jpeg.length / 2),
                null, null, null).code());
        assertEquals(Code.CORRUPT_IMAGE,
                refused(decoder, ImageDecoder.PNG, "not an image".getBytes(StandardCharsets.UTF_8), null, null, null)
                        .code());
        DecodeException wrongType = refused(decoder, ImageDecoder.PNG, jpeg, null, null, null);
        assertEquals(Code.CORRUPT_IMAGE, wrongType.code());
        assertTrue(wrongType.getMessage().contains("PNG signature"), wrongType.getMessage());
        byte[] garbledPixels = png.clone();
        for (int i = 40; i < garbledPixels.length - 12; i++) {
            garbledPixels[i] ^= 0x5A;
        }
        assertEquals(Code.CORRUPT_IMAGE, refused(decoder, ImageDecoder.PNG, garbledPixels, null, null, null).code());
    }

    @Test
    void rawPixelsNeedConsistentDimensions() {
        ImageDecoder decoder = unitDecoder(28);
        DecodeException missing = refused(decoder, ImageDecoder.RAW_U8, new byte[784], null, 28, 1);
        assertEquals(Code.BAD_RAW_DIMENSIONS, missing.code());
        assertTrue(missing.getMessage().contains("width=null"), missing.getMessage());

        DecodeException wrongLength = refused(decoder, ImageDecoder.RAW_U8, new byte[783], 28, 28, 1);
        assertEquals(Code.BAD_RAW_DIMENSIONS, wrongLength.code());
        assertTrue(wrongLength.getMessage().contains("783 bytes") && wrongLength.getMessage().contains("784"),
                wrongLength.getMessage());

        assertEquals(Code.BAD_RAW_DIMENSIONS, refused(decoder, ImageDecoder.RAW_U8, new byte[784 * 2], 28, 28, 2)
                .code());
        assertEquals(Code.BAD_RAW_DIMENSIONS, refused(decoder, ImageDecoder.RAW_U8, new byte[784], -28, -28, 1)
                .code());
    }

    @Test
    void builderRejectsMeanAndStdThatDoNotMatchTheChannels() {
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> ImageDecoder.builder().channels(3).height(28).width(28).mean(0.5).std(0.5).build());
        assertTrue(e.getMessage().contains("one value per channel (3)"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> ImageDecoder.builder().std(0.0));
        assertThrows(IllegalArgumentException.class, () -> ImageDecoder.builder().channels(2));
    }

    private static int indexOfMarker(byte[] jpeg, int marker) {
        for (int i = 2; i + 1 < jpeg.length; i++) {
            if ((jpeg[i] & 0xFF) == 0xFF && (jpeg[i + 1] & 0xFF) == marker) {
                return i;
            }
        }
        throw new AssertionError("no marker " + Integer.toHexString(marker));
    }

    /** A well-formed 8-bit grey PNG header claiming width x height, followed by one compressed row and IEND. */
    private static byte[] craftedGreyPng(int width, int height) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'});
        ByteBuffer ihdr = ByteBuffer.allocate(13).putInt(width).putInt(height).put((byte) 8).put((byte) 0)
                .put((byte) 0).put((byte) 0).put((byte) 0);
        chunk(out, "IHDR", ihdr.array());
        Deflater deflater = new Deflater();
        deflater.setInput(new byte[width + 1]);
        deflater.finish();
        byte[] buf = new byte[4096];
        int n = deflater.deflate(buf);
        deflater.end();
        chunk(out, "IDAT", Arrays.copyOf(buf, n));
        chunk(out, "IEND", new byte[0]);
        return out.toByteArray();
    }

    private static void chunk(ByteArrayOutputStream out, String type, byte[] data) throws IOException {
        byte[] typeBytes = type.getBytes(StandardCharsets.US_ASCII);
        out.write(ByteBuffer.allocate(4).putInt(data.length).array());
        out.write(typeBytes);
        out.write(data);
        CRC32 crc = new CRC32();
        crc.update(typeBytes);
        crc.update(data);
        out.write(ByteBuffer.allocate(4).putInt((int) crc.getValue()).array());
    }
}
