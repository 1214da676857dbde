package e3stream.runtime.testutils;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/** Locates the shipped model bundles and committed data subsets of the repository from tests. */
public final class RepoFiles {
    private RepoFiles() {
    }

    /** The repository root: system property {@code e3.repo.root} (set by the parent pom), else found upwards. */
    public static Path root() {
        String property = System.getProperty("e3.repo.root");
        if (property != null && !property.isBlank()) {
            return Path.of(property).toAbsolutePath().normalize();
        }
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            if (Files.isDirectory(p.resolve("models")) && Files.isRegularFile(p.resolve("pom.xml"))) {
                return p;
            }
        }
        throw new IllegalStateException("cannot find the repository root: set -De3.repo.root");
    }

    public static Path models() {
        return root().resolve("models");
    }

    public static Path bundle(String name) {
        return models().resolve(name);
    }

    /**
     * A small E3 bundle with random (untrained) weights and the optional feature_log_density output, exported by
     * the training code: for tests of the density plumbing only (model-runtime/src/test/resources/bundles).
     */
    public static Path densityFixture() {
        return root().resolve("model-runtime/src/test/resources/bundles/untrained-e3-density");
    }

    /** The same untrained E3 without the {@code feature_log_density} output, as {@code export.py --no-density} writes. */
    public static Path noDensityFixture() {
        return root().resolve("model-runtime/src/test/resources/bundles/untrained-e3-no-density");
    }

    public static Path data(String file) {
        return root().resolve("data").resolve(file);
    }

    /** Every bundle folder under models/ (a folder holding model.json), sorted by name. */
    public static List<Path> bundles() {
        try (Stream<Path> dirs = Files.list(models())) {
            return dirs.filter(d -> Files.isRegularFile(d.resolve("model.json"))).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Copies a bundle folder (flat) into {@code target} so a test can damage the copy. */
    public static Path copyBundle(String name, Path target) {
        try {
            Files.createDirectories(target);
            try (Stream<Path> files = Files.list(bundle(name))) {
                for (Path f : files.toList()) {
                    Files.copy(f, target.resolve(f.getFileName()));
                }
            }
            return target;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
