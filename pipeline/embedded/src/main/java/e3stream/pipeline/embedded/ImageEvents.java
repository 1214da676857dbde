package e3stream.pipeline.embedded;

import java.awt.image.BufferedImage;
import java.awt.image.WritableRaster;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Base64;

import javax.imageio.ImageIO;

import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * Writes the events producers send (docs/design.md, "Events and snapshots"): grayscale PNGs wrapped in image
 * events, and label events. Used by the embedded demo, the benchmark and the tests. Stateless and thread-safe.
 */
public final class ImageEvents {

    private static final com.fasterxml.jackson.databind.ObjectMapper MAPPER = new com.fasterxml.jackson.databind.ObjectMapper();

    private static byte[] bytes(ObjectNode node) {
        try {
            return MAPPER.writeValueAsBytes(node);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException("cannot serialise an event to JSON", e);
        }
    }

    private ImageEvents() {
    }

    /** A grayscale PNG of {@code height x width} unsigned bytes (row-major). */
    public static byte[] png(byte[] pixels, int height, int width) {
        if (pixels.length != height * width) {
            throw new IllegalArgumentException("expected " + height * width + " pixels, found " + pixels.length);
        }
        BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_BYTE_GRAY);
        WritableRaster raster = image.getRaster();
        int[] row = new int[width];
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                row[x] = pixels[y * width + x] & 0xff;
            }
            raster.setPixels(0, y, width, 1, row);
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream(1024);
        try {
            if (!ImageIO.write(image, "png", out)) {
                throw new IllegalStateException("no PNG writer in this JVM");
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    /** The JSON value of an image event carrying {@code payload} of {@code contentType}. */
    public static byte[] imageEvent(String id, long timestamp, String source, String contentType, byte[] payload) {
        ObjectNode node = MAPPER.createObjectNode();
        node.put("id", id);
        node.put("timestamp", timestamp);
        if (source != null) {
            node.put("source", source);
        }
        node.put("content_type", contentType);
        node.put("image", Base64.getEncoder().encodeToString(payload));
        return bytes(node);
    }

    /** The JSON value of a PNG image event. */
    public static byte[] pngEvent(String id, long timestamp, String source, byte[] pixels, int height, int width) {
        return imageEvent(id, timestamp, source, "image/png", png(pixels, height, width));
    }

    /** The JSON value of a label event with a class index. */
    public static byte[] labelEvent(String id, int label, long timestamp) {
        ObjectNode node = MAPPER.createObjectNode();
        node.put("id", id);
        node.put("label", label);
        node.put("timestamp", timestamp);
        return bytes(node);
    }

    /**
     * A valid PNG of {@code width x height} zero pixels at the given bit depth and colour type (0 grey, 2 RGB, 3
     * palette, 4 grey+alpha, 6 RGBA), built without a raster: what a producer sends when it exports a huge 16-bit
     * image by mistake (a 4096 x 4096 16-bit RGBA one is about 130 KB).
     */
    public static byte[] zeroPng(int width, int height, int bitDepth, int colourType) {
        int samples = switch (colourType) {
            case 0, 3 -> 1;
            case 4 -> 2;
            case 2 -> 3;
            default -> 4;
        };
        long rowBytes = ((long) width * samples * bitDepth + 7) / 8 + 1; // + the filter byte of each row
        try {
            java.io.ByteArrayOutputStream idat = new java.io.ByteArrayOutputStream();
            byte[] zeros = new byte[1 << 16];
            try (java.util.zip.DeflaterOutputStream deflater = new java.util.zip.DeflaterOutputStream(idat,
                    new java.util.zip.Deflater(java.util.zip.Deflater.BEST_COMPRESSION), 1 << 16)) {
                for (long left = rowBytes * height; left > 0; left -= zeros.length) {
                    deflater.write(zeros, 0, (int) Math.min(left, zeros.length));
                }
            }
            java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
            out.write(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'});
            chunk(out, "IHDR", java.nio.ByteBuffer.allocate(13).putInt(width).putInt(height).put((byte) bitDepth)
                    .put((byte) colourType).put((byte) 0).put((byte) 0).put((byte) 0).array());
            chunk(out, "IDAT", idat.toByteArray());
            chunk(out, "IEND", new byte[0]);
            return out.toByteArray();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static void chunk(java.io.ByteArrayOutputStream out, String type, byte[] data) throws java.io.IOException {
        byte[] name = type.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        out.write(java.nio.ByteBuffer.allocate(4).putInt(data.length).array());
        out.write(name);
        out.write(data);
        java.util.zip.CRC32 crc = new java.util.zip.CRC32();
        crc.update(name);
        crc.update(data);
        out.write(java.nio.ByteBuffer.allocate(4).putInt((int) crc.getValue()).array());
    }
}
