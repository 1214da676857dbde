package e3stream.pipeline.testutils;

import java.nio.file.Files;
import java.nio.file.Path;

import e3stream.runtime.data.IdxReader;
import e3stream.runtime.data.ImageSet;

/** Locates the repository's committed data and model bundles (system property {@code e3.repo.root}). */
public final class TestData {

    private TestData() {
    }

    public static Path repoRoot() {
        String root = System.getProperty("e3.repo.root");
        Path p = root != null ? Path.of(root) : Path.of("").toAbsolutePath().getParent();
        if (!Files.isDirectory(p.resolve("models"))) {
            throw new IllegalStateException("cannot find the repository root (models/) at " + p
                    + "; set -De3.repo.root=<repository root>");
        }
        return p;
    }

    public static Path bundle() {
        return repoRoot().resolve("models/e3");
    }

    public static ImageSet fashionTest() {
        Path data = repoRoot().resolve("data");
        return IdxReader.read("fashion-mnist-test-2000", data.resolve("fashion-mnist-test-2000-images-idx3-ubyte.gz"),
                data.resolve("fashion-mnist-test-2000-labels-idx1-ubyte.gz"));
    }

    public static ImageSet mnist() {
        Path data = repoRoot().resolve("data");
        return IdxReader.read("mnist-500", data.resolve("mnist-500-images-idx3-ubyte.gz"),
                data.resolve("mnist-500-labels-idx1-ubyte.gz"));
    }
}
