package e3stream.runtime.decode;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import e3stream.runtime.decode.DecodeException.Code;
import java.awt.Transparency;
import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.ComponentColorModel;
import java.awt.image.DataBuffer;
import java.awt.image.WritableRaster;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.zip.CRC32;
import java.util.zip.Deflater;
import java.util.zip.DeflaterOutputStream;
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

    static long allocatedByThisThread() {
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        return threads.getThreadAllocatedBytes(Thread.currentThread().getId());
    }

    private static ImageDecoder withBudget(ImageDecoder decoder, long maxDecodeBytes) {
        return ImageDecoder.builder().channels(decoder.channels()).height(decoder.height()).width(decoder.width())
                .mean(decoder.mean()).std(decoder.std()).limits(decoder.limits().withMaxDecodeBytes(maxDecodeBytes))
                .build();
    }

    /** A 16-bit RGBA image (javax.imageio writes it as a 16-bit RGBA PNG) whose samples are 8-bit values x 257. */
    private static BufferedImage sixteenBitRgba(int w, int h) {
        ComponentColorModel cm = new ComponentColorModel(ColorSpace.getInstance(ColorSpace.CS_sRGB), true, false,
                Transparency.TRANSLUCENT, DataBuffer.TYPE_USHORT);
        WritableRaster raster = cm.createCompatibleWritableRaster(w, h);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                raster.setPixel(x, y, new int[] {(x * 5) % 256 * 257, (y * 3) % 256 * 257, (x + y) % 256 * 257,
                        65535});
            }
        }
        return new BufferedImage(cm, raster, false, null);
    }

    private static BufferedImage colourImage(int w, int h) {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                img.setRGB(x, y, ((x * 3) % 256 << 16) | ((y * 7) % 256 << 8) | ((x ^ y) & 0xFF));
            }
        }
        return img;
    }

    private static byte[] progressiveJpeg(BufferedImage img) throws IOException {
        ImageWriter writer = ImageIO.getImageWritersByFormatName("jpeg").next();
        ImageWriteParam param = writer.getDefaultWriteParam();
        param.setProgressiveMode(ImageWriteParam.MODE_DEFAULT);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (MemoryCacheImageOutputStream ios = new MemoryCacheImageOutputStream(out)) {
            writer.setOutput(ios);
            writer.write(null, new IIOImage(img, null, null), param);
        } finally {
            writer.dispose();
        }
        return out.toByteArray();
    }

    @Test
    void sixteenBitRgbaPngOf4096SquaredIsRefusedFromItsHeaderWithoutAllocatingItsRaster() throws Exception {
        // 4096 x 4096 is within the default pixel limit, but its 16-bit RGBA raster alone is 128 MiB
        byte[] png = zeroPng(4096, 4096, 16, 6);
        assertTrue(png.length < 200_000, "the PNG is small: " + png.length + " bytes");
        ImageDecoder decoder = unitDecoder(28);
        decoder.decodeBytes(ImageDecoder.PNG, png, null, null, null); // load the classes outside the measurement

        long before = allocatedByThisThread();
        long start = System.nanoTime();
        DecodeException e = refused(decoder, ImageDecoder.PNG, png, null, null, null);
        long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        long allocated = allocatedByThisThread() - before;

        assertEquals(Code.DECODE_BUDGET_EXCEEDED, e.code());
        assertTrue(e.getMessage().contains("4096x4096 PNG (16-bit RGBA)") && e.getMessage().contains("raster 134217728")
                && e.getMessage().contains("decode budget of " + DecodeLimits.DEFAULT_MAX_DECODE_BYTES + " bytes"),
                e.getMessage());
        assertTrue(allocated < 1_000_000, "refusing the PNG allocated " + allocated + " bytes");
        assertTrue(millis < 1_000, "refusing the PNG took " + millis + " ms");
    }

    @Test
    void sixteenBitRgbaPngWithinTheBudgetDecodesToItsEightBitValues() throws Exception {
        BufferedImage img = sixteenBitRgba(64, 48);
        byte[] png = encode(img, "png");
        assertEquals(16, png[24], "javax.imageio wrote a 16-bit PNG");
        assertEquals(6, png[25], "javax.imageio wrote an RGBA PNG");
        byte[] rgba = new byte[64 * 48 * 4];
        int[] px = new int[4];
        for (int i = 0; i < 64 * 48; i++) {
            img.getRaster().getPixel(i % 64, i / 64, px);
            for (int k = 0; k < 4; k++) {
                rgba[i * 4 + k] = (byte) (px[k] / 257);
            }
        }
        ImageDecoder decoder = ImageDecoder.builder().channels(1).height(48).width(64).mean(0).std(1).build();

        float[] fromPng = decoder.decode(ImageDecoder.PNG, png, null, null, null);

        assertArrayEquals(decoder.decode(ImageDecoder.RAW_U8, rgba, 64, 48, 4), fromPng, 1e-6f);
        assertEquals((float) ((0.299 * 5 + 0.587 * 0 + 0.114 * 1) / 255), fromPng[1], 1e-6f);
    }

    @Test
    void theBudgetIsInclusiveAndTheRefusalGivesTheFigureThatAdmitsTheImage() throws Exception {
        Map<String, Object[]> cases = new LinkedHashMap<>();
        cases.put("RGB PNG", new Object[] {ImageDecoder.PNG, encode(colourImage(120, 90), "png"), null, null, null});
        cases.put("colour JPEG", new Object[] {ImageDecoder.JPEG, jpegAtQuality(colourImage(120, 90), 0.9f), null,
                null, null});
        cases.put("raw RGB", new Object[] {ImageDecoder.RAW_U8, new byte[120 * 90 * 3], 120, 90, 3});
        for (Map.Entry<String, Object[]> c : cases.entrySet()) {
            String type = (String) c.getValue()[0];
            byte[] payload = (byte[]) c.getValue()[1];
            Integer w = (Integer) c.getValue()[2];
            Integer h = (Integer) c.getValue()[3];
            Integer ch = (Integer) c.getValue()[4];
            long need = unitDecoder(28).decodeBytes(type, payload, w, h, ch);

            DecodeException e = refused(withBudget(unitDecoder(28), need - 1), type, payload, w, h, ch);

            assertEquals(Code.DECODE_BUDGET_EXCEEDED, e.code(), c.getKey());
            assertTrue(e.getMessage().contains("120x90") && e.getMessage().contains("needs " + need + " bytes")
                    && e.getMessage().contains("decode budget of " + (need - 1) + " bytes"), e.getMessage());
            assertEquals(28 * 28, withBudget(unitDecoder(28), need).decode(type, payload, w, h, ch).length, c.getKey());
        }
    }

    @Test
    void progressiveJpegsAreBudgetedWithTheCoefficientsTheDecoderKeepsAcrossScans() throws Exception {
        BufferedImage colour = colourImage(640, 480);
        byte[] baseline = jpegAtQuality(colour, 0.9f);
        byte[] progressive = progressiveJpeg(colour);
        ImageDecoder decoder = unitDecoder(28);

        long baselineBound = decoder.decodeBytes(ImageDecoder.JPEG, baseline, null, null, null);
        long progressiveBound = decoder.decodeBytes(ImageDecoder.JPEG, progressive, null, null, null);

        // the same image but for the payload's own length and 2 bytes per sample of 3 components
        assertEquals(2L * 3 * 640 * 480, progressiveBound - baselineBound - (progressive.length - baseline.length));
        DecodeException e = refused(withBudget(decoder, progressiveBound - 1), ImageDecoder.JPEG, progressive, null,
                null, null);
        assertTrue(e.getMessage().contains("640x480 JPEG (8-bit, 3 components, "), e.getMessage());
        assertEquals(28 * 28, decoder.decode(ImageDecoder.JPEG, progressive, null, null, null).length);
    }

    @Test
    void rawPixelsAreBudgetedAsWidthTimesHeightTimesChannelsBeforeAnyPlaneIsAllocated() throws Exception {
        byte[] raw = new byte[1000 * 1000 * 3];
        // a payload limit above these 3 MB (the default's 1 MiB would refuse them first): the budget decides
        ImageDecoder rawDecoder = ImageDecoder.builder().channels(1).height(28).width(28).mean(0).std(1)
                .limits(new DecodeLimits(4L << 20, DecodeLimits.DEFAULT_MAX_PIXELS)).build();
        ImageDecoder small = withBudget(rawDecoder, 4L << 20);
        // take the refusal's code path once outside the measurement (class loading, string concatenation bootstrap)
        refused(withBudget(unitDecoder(28), 1), ImageDecoder.RAW_U8, new byte[12], 2, 2, 3);

        long before = allocatedByThisThread();
        DecodeException e = refused(small, ImageDecoder.RAW_U8, raw, 1000, 1000, 3);
        long allocated = allocatedByThisThread() - before;

        assertEquals(Code.DECODE_BUDGET_EXCEEDED, e.code());
        assertTrue(e.getMessage().contains("1000x1000 raw (3 channels of 8 bits)")
                && e.getMessage().contains("raster 3000000") && e.getMessage().contains("planes 4000000"),
                e.getMessage());
        assertTrue(allocated < 100_000, "refusing the raw pixels allocated " + allocated + " bytes");
        // the default budget admits them
        assertEquals(28 * 28, rawDecoder.decode(ImageDecoder.RAW_U8, raw, 1000, 1000, 3).length);
    }

    /**
     * Everything these decodes allocate stays alive until the end, so their allocation is what they hold at once. (For
     * colour PNG and JPEG rasters javax.imageio also makes a short-lived copy of every row it stores, for each scan of
     * a progressive JPEG; that garbage is not held, and the bound counts it as the one row alive at a time.)
     */
    @Test
    void decodingAllocatesNoMoreThanTheBoundItIsCheckedAgainst() throws Exception {
        BufferedImage palette = new BufferedImage(640, 480, BufferedImage.TYPE_BYTE_INDEXED);
        palette.getGraphics().drawImage(colourImage(640, 480), 0, 0, null);
        BufferedImage binary = new BufferedImage(640, 480, BufferedImage.TYPE_BYTE_BINARY);
        binary.getGraphics().drawImage(colourImage(640, 480), 0, 0, null);
        BufferedImage grey16 = new BufferedImage(640, 480, BufferedImage.TYPE_USHORT_GRAY);
        grey16.getGraphics().drawImage(colourImage(640, 480), 0, 0, null);
        BufferedImage grey = greyImage(640, 480, greyRamp(640, 480));
        Map<String, Object[]> cases = new LinkedHashMap<>();
        cases.put("8-bit grey PNG", new Object[] {ImageDecoder.PNG, encode(grey, "png"), null});
        cases.put("16-bit grey PNG", new Object[] {ImageDecoder.PNG, encode(grey16, "png"), null});
        cases.put("1-bit grey PNG", new Object[] {ImageDecoder.PNG, encode(binary, "png"), null});
        cases.put("palette PNG", new Object[] {ImageDecoder.PNG, encode(palette, "png"), null});
        cases.put("grey JPEG", new Object[] {ImageDecoder.JPEG, jpegAtQuality(grey, 0.9f), null});
        cases.put("raw grey", new Object[] {ImageDecoder.RAW_U8, new byte[640 * 480], 1});
        cases.put("raw RGB", new Object[] {ImageDecoder.RAW_U8, new byte[640 * 480 * 3], 3});
        ImageDecoder greyModel = unitDecoder(28);
        ImageDecoder rgbModel = ImageDecoder.builder().channels(3).height(28).width(28).mean(0, 0, 0).std(1, 1, 1)
                .build();
        for (ImageDecoder decoder : List.of(greyModel, rgbModel)) {
            for (Map.Entry<String, Object[]> c : cases.entrySet()) {
                String type = (String) c.getValue()[0];
                byte[] payload = (byte[]) c.getValue()[1];
                Integer ch = (Integer) c.getValue()[2];
                Integer w = ch == null ? null : 640;
                Integer h = ch == null ? null : 480;
                decoder.decode(type, payload, w, h, ch); // warm: class loading and lazy statics are not the image's

                long before = allocatedByThisThread();
                decoder.decode(type, payload, w, h, ch);
                long allocated = allocatedByThisThread() - before;

                long bound = decoder.decodeBytes(type, payload, w, h, ch);
                assertTrue(allocated <= bound, c.getKey() + " for a " + decoder.channels() + "-channel model allocated "
                        + allocated + " bytes, more than its bound of " + bound);
            }
        }
    }

    @Test
    void forgedPngsWithSmallHeadersAndHugeStreamsDecodeOnlyWhatTheyDeclare() throws Exception {
        // IHDR 28x28, but the IDAT inflates to 256 MiB; the reader inflates only the 28 rows the header declares
        byte[] idatBomb = png(28, 28, 8, 0, deflatedZeros(256L << 20));
        // a palette image (javax.imageio reads all its chunks) with 64 MiB iCCP and zTXt bombs before its pixels
        byte[] bomb = deflatedZeros(64L << 20);
        byte[] textBomb = png(28, 28, 8, 3, deflatedZeros(29 * 28),
                chunkBytes("iCCP", concat("icc".getBytes(StandardCharsets.US_ASCII), new byte[2], bomb)),
                chunkBytes("PLTE", new byte[] {(byte) 255, 0, 0}),
                chunkBytes("zTXt", concat("Comment".getBytes(StandardCharsets.US_ASCII), new byte[2], bomb)));
        assertTrue(idatBomb.length < 300_000 && textBomb.length < 200_000,
                idatBomb.length + " and " + textBomb.length + " bytes");
        ImageDecoder decoder = unitDecoder(28);
        decoder.decode(ImageDecoder.PNG, encode(greyImage(28, 28, greyRamp(28, 28)), "png"), null, null, null);

        long before = allocatedByThisThread();
        float[] black = decoder.decode(ImageDecoder.PNG, idatBomb, null, null, null);
        float[] red = decoder.decode(ImageDecoder.PNG, textBomb, null, null, null);
        long allocated = allocatedByThisThread() - before;

        float[] expectedRed = new float[28 * 28];
        Arrays.fill(expectedRed, 0.299f);
        assertArrayEquals(new float[28 * 28], black, 0f);
        assertArrayEquals(expectedRed, red, 1e-6f);
        assertTrue(allocated < 4_000_000, "decoding the two forged PNGs allocated " + allocated + " bytes");
    }

    @Test
    void outOfMemoryWhileDecodingIsContainedToThePayloadAndTheNextOneDecodes() throws Exception {
        // A JVM with a 48 MiB heap and a budget that trusts it with 1 GiB: the first PNG's 128 MiB raster fails inside
        // javax.imageio, the second's 16 MiB raster fits but its 64 MiB float plane does not.
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        List<String> command = new ArrayList<>(List.of(java.toString(), "-Xmx48m", "-XX:+UseSerialGC",
                "-cp", System.getProperty("java.class.path"), OutOfMemoryChild.class.getName()));
        Process child = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output;
        try {
            assertTrue(child.waitFor(120, TimeUnit.SECONDS), "the child JVM did not finish in 120 s");
        } finally {
            output = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            child.destroyForcibly();
        }
        assertEquals(0, child.exitValue(), output);
        assertTrue(output.contains("16-bit RGBA: OUT_OF_MEMORY") && output.contains("8-bit grey: OUT_OF_MEMORY")
                && output.contains("next: 784 floats"), output);
    }

    /** Runs in a JVM of its own with a small heap (see the test above); prints one line per payload. */
    static final class OutOfMemoryChild {
        public static void main(String[] args) throws Exception {
            ImageDecoder decoder = ImageDecoder.builder().channels(1).height(28).width(28).mean(0).std(1)
                    .limits(DecodeLimits.defaults().withMaxDecodeBytes(1L << 30)).build();
            Map<String, byte[]> payloads = new LinkedHashMap<>();
            payloads.put("16-bit RGBA", zeroPng(4096, 4096, 16, 6));
            payloads.put("8-bit grey", zeroPng(4096, 4096, 8, 0));
            for (Map.Entry<String, byte[]> p : payloads.entrySet()) {
                try {
                    decoder.decode(ImageDecoder.PNG, p.getValue(), null, null, null);
                    System.out.println(p.getKey() + ": decoded");
                } catch (DecodeException e) {
                    System.out.println(p.getKey() + ": " + e.code() + " (" + e.getMessage() + ")");
                }
            }
            float[] next = decoder.decode(ImageDecoder.PNG, encode(greyImage(28, 28, greyRamp(28, 28)), "png"), null,
                    null, null);
            System.out.println("next: " + next.length + " floats");
        }
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

    /** A valid PNG of width x height zero pixels (filter byte 0 on every row), its IDAT compressed as it streams. */
    private static byte[] zeroPng(int width, int height, int bitDepth, int colourType) throws IOException {
        int samples = switch (colourType) {
            case 0, 3 -> 1;
            case 4 -> 2;
            case 2 -> 3;
            default -> 4;
        };
        long rowBytes = ((long) width * samples * bitDepth + 7) / 8 + 1;
        return png(width, height, bitDepth, colourType, deflatedZeros(rowBytes * height));
    }

    private static byte[] deflatedZeros(long length) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] zeros = new byte[1 << 16];
        try (DeflaterOutputStream deflater = new DeflaterOutputStream(out, new Deflater(Deflater.BEST_COMPRESSION),
                1 << 16)) {
            for (long left = length; left > 0; left -= zeros.length) {
                deflater.write(zeros, 0, (int) Math.min(left, zeros.length));
            }
        }
        return out.toByteArray();
    }

    /** Signature, IHDR, the given chunks (already framed), one IDAT and IEND. */
    private static byte[] png(int width, int height, int bitDepth, int colourType, byte[] idat, byte[]... chunks)
            throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'});
        chunk(out, "IHDR", ByteBuffer.allocate(13).putInt(width).putInt(height).put((byte) bitDepth)
                .put((byte) colourType).put((byte) 0).put((byte) 0).put((byte) 0).array());
        for (byte[] c : chunks) {
            out.write(c);
        }
        chunk(out, "IDAT", idat);
        chunk(out, "IEND", new byte[0]);
        return out.toByteArray();
    }

    private static byte[] chunkBytes(String type, byte[] data) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        chunk(out, type, data);
        return out.toByteArray();
    }

    private static byte[] concat(byte[]... parts) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.write(p);
        }
        return out.toByteArray();
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

    /** Appends one PNG chunk: length, type, data and CRC. */
    static void chunk(ByteArrayOutputStream out, String type, byte[] data) throws IOException {
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
