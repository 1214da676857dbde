package e3stream.runtime.session;

import java.io.IOException;
import java.io.Serializable;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

import e3stream.runtime.model.BundleDescription;
import e3stream.runtime.model.BundleException;
import e3stream.runtime.model.E3Model;
import e3stream.runtime.model.ExecutionOptions;
import e3stream.runtime.model.ModelBundle;

/**
 * The folder model commands may name bundles in, and the loader {@link ModelRoster#apply} takes for them: a commanded
 * path (relative ones resolve against the root) is resolved with its symbolic links and {@code ..} and refused when
 * it lies outside the root; a bundle inside is loaded, verified (model.onnx against model.json's sha256) and opened
 * once in ONNX Runtime, so a bundle is accepted only when a session can run it. Serializable, for the stream function
 * that applies commands.
 *
 * <pre>{@code
 * BundleRoot root = BundleRoot.of(Path.of("/opt/e3/models"));
 * ModelRoster.Change c = roster.apply(command, root::load);
 * }</pre>
 */
public final class BundleRoot implements Serializable {
    private static final long serialVersionUID = 1L;

    /** Longest name, version or training commit a commanded bundle's model.json may have. */
    public static final int MAX_PROVENANCE_LENGTH = 256;

    private final String root;

    private BundleRoot(String root) {
        this.root = root;
    }

    /**
     * The root at {@code directory}, resolved to its real path.
     *
     * @throws IllegalArgumentException when it is not an existing directory
     */
    public static BundleRoot of(Path directory) {
        try {
            Path real = directory.toRealPath();
            if (!Files.isDirectory(real)) {
                throw new IllegalArgumentException(directory + " is not a directory");
            }
            return new BundleRoot(real.toString());
        } catch (IOException e) {
            throw new IllegalArgumentException(directory + " does not exist or cannot be read (" + e + ")", e);
        }
    }

    /** The root's real path. */
    public Path path() {
        return Path.of(root);
    }

    /**
     * Loads, verifies and opens the bundle a command names.
     *
     * @throws BundleException saying why it is refused: outside the root, missing, not a bundle, failing verification
     *                         or failing to open
     */
    public BundleDescription load(String commanded) {
        Path rootPath = path();
        Path real;
        try {
            real = rootPath.resolve(commanded).toRealPath();
        } catch (InvalidPathException e) {
            throw new BundleException("not a valid path: " + e.getReason());
        } catch (NoSuchFileException e) {
            throw new BundleException("no such directory under the bundle root " + rootPath);
        } catch (IOException e) {
            throw new BundleException("cannot be read: " + e.getClass().getSimpleName());
        }
        if (!real.startsWith(rootPath)) {
            // Says no more of the resolved path: where a link leads outside the root is none of the sender's business.
            throw new BundleException("outside the bundle root " + rootPath + " (model.bundle-root)");
        }
        if (real.toString().length() > ModelCommand.MAX_BUNDLE_LENGTH) {
            throw new BundleException("resolves to a path longer than " + ModelCommand.MAX_BUNDLE_LENGTH + " characters");
        }
        if (!Files.isDirectory(real)) {
            throw new BundleException("not a bundle: " + real + " is not a directory holding model.json and model.onnx");
        }
        ModelBundle bundle = ModelBundle.load(real);
        // Its provenance is in every answer from now on: it must stay small.
        e3stream.runtime.model.ModelProvenance p = e3stream.runtime.model.ModelProvenance.of(bundle.manifest());
        for (String field : new String[] {p.name(), p.version(), p.trainingCommit()}) {
            if (field != null && field.length() > MAX_PROVENANCE_LENGTH) {
                throw new BundleException("not accepted: model.json's name, version or training.commit is longer than "
                        + MAX_PROVENANCE_LENGTH + " characters");
            }
        }
        try (E3Model model = E3Model.open(bundle, ExecutionOptions.cpu())) {
            return BundleDescription.of(bundle);
        } catch (BundleException e) {
            throw e;
        } catch (RuntimeException e) {
            throw new BundleException("ONNX Runtime cannot open " + real + ": " + e.getMessage(), e);
        }
    }

    @Override
    public String toString() {
        return root;
    }
}
