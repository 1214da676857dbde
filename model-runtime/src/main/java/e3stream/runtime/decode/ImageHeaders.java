package e3stream.runtime.decode;

import e3stream.runtime.decode.DecodeException.Code;

/**
 * Reads the declared dimensions of a PNG (IHDR) or JPEG (SOFn) from its first bytes, without decoding any pixel, so
 * that decompression bombs are refused before a raster is allocated. Stateless.
 */
final class ImageHeaders {

    /** Width and height as declared by a header; unsigned 32-bit values, hence longs. */
    record Dimensions(long width, long height) {}

    private static final byte[] PNG_SIGNATURE = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};

    private ImageHeaders() {}

    /** The IHDR dimensions; the IHDR chunk must directly follow the signature (PNG specification, section 5.6). */
    static Dimensions png(byte[] data) throws DecodeException {
        for (int i = 0; i < PNG_SIGNATURE.length; i++) {
            if (i >= data.length || data[i] != PNG_SIGNATURE[i]) {
                throw new DecodeException(Code.CORRUPT_IMAGE,
                        "content type image/png but the payload does not start with the PNG signature"
                                + " (first bytes " + hexPrefix(data) + "); send a PNG or fix the content_type");
            }
        }
        // signature(8) + length(4) + "IHDR"(4) + width(4) + height(4)
        if (data.length < 24 || u32(data, 8) != 13 || data[12] != 'I' || data[13] != 'H' || data[14] != 'D'
                || data[15] != 'R') {
            throw new DecodeException(Code.CORRUPT_IMAGE,
                    "PNG payload of " + data.length + " bytes has no IHDR chunk after the signature");
        }
        long width = u32(data, 16);
        long height = u32(data, 20);
        if (width == 0 || height == 0) {
            throw new DecodeException(Code.CORRUPT_IMAGE,
                    "PNG header declares an empty image (" + width + "x" + height + ")");
        }
        return new Dimensions(width, height);
    }

    /** The dimensions of the first SOFn frame header, scanning the marker segments that precede it. */
    static Dimensions jpeg(byte[] data) throws DecodeException {
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
                if (length < 8 || pos + 7 > data.length) {
                    break;
                }
                long height = ((data[pos + 3] & 0xFF) << 8) | (data[pos + 4] & 0xFF);
                long width = ((data[pos + 5] & 0xFF) << 8) | (data[pos + 6] & 0xFF);
                if (width == 0 || height == 0) {
                    throw new DecodeException(Code.CORRUPT_IMAGE, "JPEG frame header declares " + width + "x" + height
                            + " (a height of 0, defined later by a DNL marker, is not supported)");
                }
                return new Dimensions(width, height);
            }
            pos += length;
        }
        throw new DecodeException(Code.CORRUPT_IMAGE,
                "JPEG payload of " + data.length + " bytes is truncated before its frame header");
    }

    private static long u32(byte[] data, int offset) {
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
