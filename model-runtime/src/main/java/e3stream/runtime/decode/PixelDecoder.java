package e3stream.runtime.decode;

import e3stream.runtime.decode.DecodeException.Code;
import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.ColorModel;
import java.awt.image.IndexColorModel;
import java.awt.image.Raster;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;
import javax.imageio.stream.MemoryCacheImageInputStream;

/**
 * Decoding proper (see "Pixel pipeline" in {@link ImageDecoder}): a payload's pixels at their own resolution as the
 * {@link Planes} a model of {@code channels} channels needs (stored grey samples, or luminance or R, G, B of colour
 * images), through {@link PlainPng}, javax.imageio or the raw bytes; the budget is checked again on javax.imageio's
 * view of the header. Immutable; each call uses its own {@link ImageReader}.
 */
final class PixelDecoder {

    private final int channels;
    private final DecodeBudget budget;

    PixelDecoder(int channels, DecodeBudget budget) {
        this.channels = channels;
        this.budget = budget;
    }

    /** This JVM lacks a javax.imageio reader: a broken runtime, never the payload's fault, so never contained. */
    static final class MissingReaderException extends IllegalStateException {
        private static final long serialVersionUID = 1L;

        MissingReaderException(String format) {
            super("no javax.imageio reader for " + format + " in this JVM");
        }
    }

    Planes decodeWithImageIo(byte[] payload, DecodeBudget.Layout layout) throws DecodeException {
        String format = layout.format();
        Iterator<ImageReader> readers = ImageIO.getImageReadersByFormatName(format.toLowerCase(Locale.ROOT));
        if (!readers.hasNext()) {
            throw new MissingReaderException(format);
        }
        ImageReader reader = readers.next();
        List<String> warnings = new ArrayList<>();
        reader.addIIOReadWarningListener((source, warning) -> warnings.add(warning));
        BufferedImage image;
        try (ImageInputStream in = new MemoryCacheImageInputStream(new ByteArrayInputStream(payload))) {
            reader.setInput(in, true, true);
            // Second line of defence: the reader's own view of the header, still without reading pixels.
            long w = reader.getWidth(0);
            long h = reader.getHeight(0);
            budget.checkPixels(w, h, format);
            budget.checkBudget(layout, w, h, payload.length);
            image = reader.read(0);
        } catch (IOException | RuntimeException e) {
            OutOfMemoryError outOfMemory = outOfMemoryCause(e);
            if (outOfMemory != null) {
                // javax.imageio's PNG reader wraps every Throwable of read(), OutOfMemoryError included
                throw budget.outOfMemory(format, outOfMemory);
            }
            // ImageIO reports malformed data as IIOException but also as unchecked exceptions from its codecs.
            throw new DecodeException(Code.CORRUPT_IMAGE, "cannot decode the " + format + " payload: " + e, e);
        } finally {
            reader.dispose();
        }
        if (!warnings.isEmpty()) {
            throw new DecodeException(Code.CORRUPT_IMAGE,
                    "the " + format + " payload is damaged: " + String.join("; ", warnings));
        }
        return toPlanes(image);
    }

    /** A plain PNG's stored samples in planes, as {@link #toPlanes} reads them from javax.imageio's image. */
    Planes plainPngPlanes(PlainPng png) throws DecodeException {
        int w = png.width;
        int samples = png.samples;
        if (samples <= 2) { // grey, grey + alpha: the grey sample
            float[] grey = new float[w * png.height];
            png.read((y, row) -> {
                for (int x = 0; x < w; x++) {
                    grey[y * w + x] = row[1 + x * samples] & 0xFF;
                }
            });
            return greyPlanes(w, png.height, grey);
        }
        ColourPlanes out = new ColourPlanes(w * png.height);
        png.read((y, row) -> {
            for (int x = 0, i = 1; x < w; x++, i += samples) {
                out.set(y * w + x, row[i] & 0xFF, row[i + 1] & 0xFF, row[i + 2] & 0xFF);
            }
        });
        return out.planes(w, png.height);
    }

    /** The OutOfMemoryError in {@code e}'s cause chain, or null. */
    private static OutOfMemoryError outOfMemoryCause(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof OutOfMemoryError oom) {
                return oom;
            }
        }
        return null;
    }

    /**
     * Reads the decoded image into planes. Colour images are read one row of ARGB at a time straight into the planes
     * the model needs (luminance, or R, G and B), so the only full-resolution copies are the raster and those planes.
     */
    private Planes toPlanes(BufferedImage image) {
        int w = image.getWidth();
        int h = image.getHeight();
        ColorModel cm = image.getColorModel();
        if (cm.getColorSpace().getType() == ColorSpace.TYPE_GRAY && !(cm instanceof IndexColorModel)) {
            // Read stored grey samples: getRGB would convert the linear CS_GRAY space to sRGB and change the values.
            Raster raster = image.getRaster();
            double scale = 255.0 / ((1L << cm.getComponentSize(0)) - 1);
            float[] grey = new float[w * h];
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < w; x++) {
                    grey[y * w + x] = (float) (raster.getSample(x, y, 0) * scale);
                }
            }
            return greyPlanes(w, h, grey);
        }
        ColourPlanes out = new ColourPlanes(w * h);
        int[] argb = new int[w];
        for (int y = 0; y < h; y++) {
            image.getRGB(0, y, w, 1, argb, 0, w);
            for (int x = 0; x < w; x++) {
                out.set(y * w + x, (argb[x] >> 16) & 0xFF, (argb[x] >> 8) & 0xFF, argb[x] & 0xFF);
            }
        }
        return out.planes(w, h);
    }

    /**
     * The planes a colour source gives the model: luminance {@code 0.299 R + 0.587 G + 0.114 B} for one channel, R, G
     * and B for three; filled pixel by pixel so that no RGB copy is kept for a grey model.
     */
    private final class ColourPlanes {
        private final float[][] planes;

        ColourPlanes(int pixels) {
            planes = new float[channels][pixels];
        }

        void set(int i, int r, int g, int b) {
            if (channels == 1) {
                planes[0][i] = (float) (0.299 * r + 0.587 * g + 0.114 * b);
            } else {
                planes[0][i] = r;
                planes[1][i] = g;
                planes[2][i] = b;
            }
        }

        Planes planes(int w, int h) {
            return new Planes(w, h, planes);
        }
    }

    static void checkRawShape(Integer w, Integer h, Integer c) throws DecodeException {
        if (w == null || h == null || c == null) {
            throw new DecodeException(Code.BAD_RAW_DIMENSIONS, ImageDecoder.RAW_U8 + " needs width, height and channels, got width="
                    + w + ", height=" + h + ", channels=" + c);
        }
        if (w <= 0 || h <= 0) {
            throw new DecodeException(Code.BAD_RAW_DIMENSIONS,
                    ImageDecoder.RAW_U8 + " width and height must be > 0, got " + w + "x" + h);
        }
        if (c != 1 && c != 3 && c != 4) {
            throw new DecodeException(Code.BAD_RAW_DIMENSIONS,
                    ImageDecoder.RAW_U8 + " channels must be 1 (grey), 3 (RGB) or 4 (RGBA), got " + c);
        }
    }

    static void checkRawLength(byte[] payload, int w, int h, int c) throws DecodeException {
        long expected = (long) w * h * c;
        if (payload.length != expected) {
            throw new DecodeException(Code.BAD_RAW_DIMENSIONS, ImageDecoder.RAW_U8 + " payload has " + payload.length
                    + " bytes but width x height x channels = " + w + "x" + h + "x" + c + " = " + expected
                    + "; pixels must be interleaved (HWC), one byte per channel");
        }
    }

    Planes decodeRaw(byte[] payload, Integer w, Integer h, Integer c) throws DecodeException {
        checkRawShape(w, h, c);
        budget.checkPixels(w, h, "raw"); // before the length, so a raw bomb is named as one
        checkRawLength(payload, w, h, c);
        budget.checkBudget(DecodeBudget.Layout.raw(c), w, h, 0);
        int n = w * h;
        if (c == 1) {
            float[] grey = new float[n];
            for (int i = 0; i < n; i++) {
                grey[i] = payload[i] & 0xFF;
            }
            return greyPlanes(w, h, grey);
        }
        ColourPlanes out = new ColourPlanes(n);
        for (int i = 0; i < n; i++) {
            out.set(i, payload[i * c] & 0xFF, payload[i * c + 1] & 0xFF, payload[i * c + 2] & 0xFF);
        }
        return out.planes(w, h);
    }

    private Planes greyPlanes(int w, int h, float[] grey) {
        return channels == 1 ? new Planes(w, h, new float[][] {grey}) : new Planes(w, h, new float[][] {grey, grey, grey});
    }
}
