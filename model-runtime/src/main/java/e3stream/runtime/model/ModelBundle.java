package e3stream.runtime.model;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Optional;

/**
 * A verified model bundle directory: model.json parsed and validated, model.onnx present and matching the sha256
 * recorded in model.json. Loading does not start ONNX Runtime; {@link E3Model#open} does. Immutable and thread-safe.
 *
 * <pre>{@code
 * ModelBundle bundle = ModelBundle.load(Path.of("models/e3"));
 * try (E3Model model = E3Model.open(bundle, ExecutionOptions.cpu())) { ... }
 * }</pre>
 */
public final class ModelBundle {
    public static final String MODEL_FILE = "model.onnx";
    public static final String MANIFEST_FILE = "model.json";
    public static final String GOLDEN_FILE = "golden.json";

    private final Path directory;
    private final BundleManifest manifest;
    private final String bundleSha256;

    private ModelBundle(Path directory, BundleManifest manifest, String bundleSha256) {
        this.directory = directory;
        this.manifest = manifest;
        this.bundleSha256 = bundleSha256;
    }

    /**
     * Loads a bundle and verifies model.onnx against the sha256 in model.json.
     *
     * @throws BundleException naming the directory, what is wrong and what to do
     */
    public static ModelBundle load(Path dir) {
        Path directory = dir.toAbsolutePath().normalize();
        if (!Files.isDirectory(directory)) {
            throw new BundleException("model bundle directory " + directory + " does not exist: pass the folder that "
                    + "holds model.onnx and model.json (e.g. models/e3)");
        }
        BundleManifest manifest = BundleManifest.read(directory.resolve(MANIFEST_FILE));
        Path onnx = directory.resolve(MODEL_FILE);
        if (!Files.isRegularFile(onnx)) {
            throw new BundleException("model bundle " + directory + " has no " + MODEL_FILE + ": the model file is "
                    + "missing; restore it from the repository (git checkout) or re-export the bundle "
                    + "(model-runtime/training/train_all.sh)");
        }
        String actual = sha256(onnx);
        if (!actual.equals(manifest.sha256())) {
            throw new BundleException("model bundle " + directory + ": " + MODEL_FILE + " has sha256 " + actual
                    + " but model.json records " + manifest.sha256() + " for " + manifest.name() + " "
                    + manifest.version() + "; the model file was modified or replaced after export. Refusing to load "
                    + "it: restore the original file (git checkout) or re-export the bundle so model.json and "
                    + "model.onnx match");
        }
        String manifestSha = sha256(directory.resolve(MANIFEST_FILE));
        return new ModelBundle(directory, manifest, bundleSha256(manifestSha, actual));
    }

    /**
     * The digest of a whole bundle, over model.json and model.onnx: the sha256 of the two lines
     * {@code sha256sum model.json model.onnx} prints in the bundle directory, so an operator can compute it with
     * {@code (cd BUNDLE && sha256sum model.json model.onnx) | sha256sum}. model.json cannot hold a digest of itself;
     * this one is compared with the digest a model command names.
     */
    static String bundleSha256(String manifestSha256, String modelSha256) {
        String lines = manifestSha256 + "  " + MANIFEST_FILE + "\n" + modelSha256 + "  " + MODEL_FILE + "\n";
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                    .digest(lines.getBytes(java.nio.charset.StandardCharsets.US_ASCII)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required of every Java runtime", e);
        }
    }

    /** Lower-case hex sha256 of a file. */
    public static String sha256(Path file) {
        try (InputStream in = Files.newInputStream(file)) {
            MessageDigest digest = MessageDigest.getInstance("SHA-256");
            byte[] buffer = new byte[1 << 16];
            for (int n; (n = in.read(buffer)) > 0; ) {
                digest.update(buffer, 0, n);
            }
            return HexFormat.of().formatHex(digest.digest());
        } catch (IOException e) {
            throw new BundleException("cannot read " + file + " to verify its sha256: " + e.getMessage(), e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required of every Java runtime", e);
        }
    }

    public Path directory() {
        return directory;
    }

    public BundleManifest manifest() {
        return manifest;
    }

    /** The digest of model.json and model.onnx together, as read when loaded ({@link #bundleSha256(String, String)}). */
    public String bundleSha256() {
        return bundleSha256;
    }

    public Path onnxPath() {
        return directory.resolve(MODEL_FILE);
    }

    public Path manifestPath() {
        return directory.resolve(MANIFEST_FILE);
    }

    /** golden.json (parity fixture), when the bundle ships one. */
    public Optional<Path> goldenPath() {
        Path golden = directory.resolve(GOLDEN_FILE);
        return Files.isRegularFile(golden) ? Optional.of(golden) : Optional.empty();
    }

    @Override
    public String toString() {
        return "ModelBundle[" + manifest.name() + " " + manifest.version() + " at " + directory + "]";
    }
}
