package e3stream.runtime.decode;

import e3stream.runtime.decode.DecodeException.Code;

/**
 * Reads what a PNG (IHDR) or JPEG (SOFn) header declares, without decoding any pixel, so that decompression bombs and
 * images too large to decode are refused before a raster is allocated. Stateless.
 */
final class ImageHeaders {

    /**
     * A PNG's IHDR (and whether a tRNS chunk precedes the image data). Width and height are unsigned 32-bit values,
     * hence longs.
     *
     * @param bitDepth bits per sample (per palette index for colour type 3): 1, 2, 4, 8 or 16
     * @param colourType 0 grey, 2 RGB, 3 palette, 4 grey + alpha, 6 RGBA
     * @param transparency a tRNS chunk precedes the first IDAT (javax.imageio then decodes grey and RGB images with an
     *     alpha channel)
     */
    record Png(long width, long height, int bitDepth, int colourType, boolean transparency) {

        /** Samples per pixel as stored: 1 (grey, palette index), 2 (grey + alpha), 3 (RGB) or 4 (RGBA). */
        int samples() {
            return switch (colourType) {
                case 0, 3 -> 1;
                case 4 -> 2;
                case 2 -> 3;
                default -> 4;
            };
        }
    }

    /**
     * A JPEG's first frame header (SOFn) and how many scans precede the end of the image.
     *
     * @param precision bits per sample (8, or 12 for extended frames)
     * @param components 1 (grey), 3 (YCbCr, RGB) or 4 (CMYK, YCCK)
     * @param scans number of SOS markers found (at least 1); more than one means the decoder buffers every
     *     coefficient of the image (progressive, or sequential with components in separate scans)
     */
    record Jpeg(long width, long height, int precision, int components, int scans) {}

    private static final byte[] PNG_SIGNATURE = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};

    private ImageHeaders() {}

    /** The IHDR; it must directly follow the signature (PNG specification, section 5.6). */
    static Png png(byte[] data) throws DecodeException {
        for (int i = 0; i < PNG_SIGNATURE.length; i++) {
            if (i >= data.length || data[i] != PNG_SIGNATURE[i]) {
                throw new DecodeException(Code.CORRUPT_IMAGE,
                        "content type image/png but the payload does not start with the PNG signature"
                                + " (first bytes " + hexPrefix(data) + "); send a PNG or fix the content_type");
            }
        }
        // signature(8) + length(4) + "IHDR"(4) + width(4) + height(4) + bit depth(1) + colour type(1) + 3 more
        if (data.length < 29 || u32(data, 8) != 13 || !chunkType(data, 12, "IHDR")) {
            throw new DecodeException(Code.CORRUPT_IMAGE,
                    "PNG payload of " + data.length + " bytes has no IHDR chunk after the signature");
        }
        long width = u32(data, 16);
        long height = u32(data, 20);
        if (width == 0 || height == 0) {
            throw new DecodeException(Code.CORRUPT_IMAGE,
                    "PNG header declares an empty image (" + width + "x" + height + ")");
        }
        int bitDepth = data[24] & 0xFF;
        int colourType = data[25] & 0xFF;
        boolean allowed = switch (colourType) {
            case 0 -> bitDepth == 1 || bitDepth == 2 || bitDepth == 4 || bitDepth == 8 || bitDepth == 16;
            case 3 -> bitDepth == 1 || bitDepth == 2 || bitDepth == 4 || bitDepth == 8;
            case 2, 4, 6 -> bitDepth == 8 || bitDepth == 16;
            default -> false;
        };
        if (!allowed) {
            throw new DecodeException(Code.CORRUPT_IMAGE, "PNG header declares bit depth " + bitDepth
                    + " with colour type " + colourType + ", a combination the PNG specification does not allow");
        }
        return new Png(width, height, bitDepth, colourType, hasTransparencyChunk(data));
    }

    /** Whether a tRNS chunk comes before the first IDAT; walks the chunk headers after IHDR, reading no chunk data. */
    private static boolean hasTransparencyChunk(byte[] data) {
        long pos = 33;
        while (pos + 8 <= data.length) {
            int at = (int) pos;
            if (chunkType(data, at + 4, "tRNS")) {
                return true;
            }
            if (chunkType(data, at + 4, "IDAT") || chunkType(data, at + 4, "IEND")) {
                return false;
            }
            pos += 12 + u32(data, at); // length(4) + type(4) + data + CRC(4)
        }
        return false;
    }

    private static boolean chunkType(byte[] data, int offset, String type) {
        for (int i = 0; i < 4; i++) {
            if (data[offset + i] != type.charAt(i)) {
                return false;
            }
        }
        return true;
    }

    /** The first SOFn frame header, scanning the marker segments that precede it, then the number of scans. */
    static Jpeg jpeg(byte[] data) throws DecodeException {
        if (data.length < 4 || (data[0] & 0xFF) != 0xFF || (data[1] & 0xFF) != 0xD8) {
            throw new DecodeException(Code.CORRUPT_IMAGE,
                    "content type image/jpeg but the payload does not start with the JPEG SOI marker"
                            + " (first bytes " + hexPrefix(data) + "); send a JPEG or fix the content_type");
        }
        int pos = 2;
        while (pos < data.length) {
            if ((data[pos] & 0xFF) != 0xFF) {
                throw new DecodeException(Code.CORRUPT_IMAGE,
                        "JPEG payload has no marker at byte " + pos + " before the frame header");
            }
            while (pos < data.length && (data[pos] & 0xFF) == 0xFF) {
                pos++; // fill bytes before a marker are allowed
            }
            if (pos >= data.length) {
                break;
            }
            int marker = data[pos] & 0xFF;
            pos++;
            if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD8)) {
                continue; // standalone markers carry no length
            }
            if (marker == 0xD9 || marker == 0xDA) {
                throw new DecodeException(Code.CORRUPT_IMAGE,
                        "JPEG payload reaches " + (marker == 0xDA ? "scan data" : "its end") + " without a frame header");
            }
            if (pos + 2 > data.length) {
                break;
            }
            int length = ((data[pos] & 0xFF) << 8) | (data[pos + 1] & 0xFF);
            if (length < 2) {
                throw new DecodeException(Code.CORRUPT_IMAGE,
                        "JPEG marker segment 0x" + Integer.toHexString(marker) + " has invalid length " + length);
            }
            boolean frameHeader = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
            if (frameHeader) {
                // length(2), precision(1), height(2), width(2), components(1)
                if (length < 8 || pos + 8 > data.length) {
                    break;
                }
                int precision = data[pos + 2] & 0xFF;
                long height = ((data[pos + 3] & 0xFF) << 8) | (data[pos + 4] & 0xFF);
                long width = ((data[pos + 5] & 0xFF) << 8) | (data[pos + 6] & 0xFF);
                int components = data[pos + 7] & 0xFF;
                if (width == 0 || height == 0) {
                    throw new DecodeException(Code.CORRUPT_IMAGE, "JPEG frame header declares " + width + "x" + height
                            + " (a height of 0, defined later by a DNL marker, is not supported)");
                }
                if (components < 1 || components > 4) {
                    throw new DecodeException(Code.CORRUPT_IMAGE, "JPEG frame header declares " + components
                            + " components; expected 1 (grey), 3 (colour) or 4 (CMYK)");
                }
                return new Jpeg(width, height, precision, components, scans(data, pos + length));
            }
            pos += length;
        }
        throw new DecodeException(Code.CORRUPT_IMAGE,
                "JPEG payload of " + data.length + " bytes is truncated before its frame header");
    }

    /**
     * Counts the SOS markers from {@code pos} to EOI (or the end of the data), skipping marker segments by their length
     * and entropy-coded data up to the next marker (0xFF followed by neither a stuffed 0x00 nor a restart marker).
     * Linear in the payload, reads no pixel. At least 1: a frame without a scan fails later as corrupt anyway.
     */
    private static int scans(byte[] data, int pos) {
        int scans = 0;
        while (pos + 1 < data.length) {
            if ((data[pos] & 0xFF) != 0xFF) {
                pos++; // entropy-coded data, or garbage the decoder will refuse
                continue;
            }
            int marker = data[pos + 1] & 0xFF;
            if (marker == 0x00 || marker == 0xFF || (marker >= 0xD0 && marker <= 0xD7) || marker == 0x01) {
                pos += marker == 0xFF ? 1 : 2; // stuffed byte, fill byte, restart marker, TEM
                continue;
            }
            if (marker == 0xD9) {
                break;
            }
            if (pos + 4 > data.length) {
                break;
            }
            if (marker == 0xDA) {
                scans++;
            }
            pos += 2 + (((data[pos + 2] & 0xFF) << 8) | (data[pos + 3] & 0xFF));
        }
        return Math.max(1, scans);
    }

    static long u32(byte[] data, int offset) {
        return ((long) (data[offset] & 0xFF) << 24) | ((data[offset + 1] & 0xFF) << 16)
                | ((data[offset + 2] & 0xFF) << 8) | (data[offset + 3] & 0xFF);
    }

    private static String hexPrefix(byte[] data) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < Math.min(8, data.length); i++) {
            sb.append(String.format("%02x", data[i] & 0xFF));
        }
        return sb.length() == 0 ? "<none>" : sb.toString();
    }
}
