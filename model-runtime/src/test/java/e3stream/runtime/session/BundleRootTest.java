package e3stream.runtime.session;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import e3stream.runtime.model.BundleDescription;
import e3stream.runtime.model.BundleException;
import e3stream.runtime.testutils.RepoFiles;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Which bundles a model command may name: inside the root once links and '..' are resolved, whole and openable. */
class BundleRootTest {

    private static final Path DE_VMOE = RepoFiles.bundle("de-vmoe");

    /** A copy of de-vmoe (model.json and model.onnx) at {@code dir}. */
    private static Path copy(Path dir) throws Exception {
        Files.createDirectories(dir);
        for (String f : List.of("model.json", "model.onnx")) {
            Files.copy(DE_VMOE.resolve(f), dir.resolve(f));
        }
        return dir;
    }

    private static String refusal(BundleRoot root, String bundle) {
        return assertThrows(BundleException.class, () -> root.load(bundle)).getMessage();
    }

    @Test
    void loadsAndOpensABundleInsideTheRootByAbsoluteOrRelativePath(@TempDir Path dir) throws Exception {
        Path bundle = copy(dir.resolve("root/de-vmoe"));
        BundleRoot root = BundleRoot.of(dir.resolve("root"));
        BundleDescription byAbsolute = root.load(bundle.toString());
        assertEquals(bundle.toRealPath(), byAbsolute.directory());
        assertEquals(byAbsolute, root.load("de-vmoe"));
    }

    @Test
    void refusesPathsThatLeadOutsideTheRootByDotDotOrALink(@TempDir Path dir) throws Exception {
        copy(dir.resolve("outside/de-vmoe"));
        Files.createDirectories(dir.resolve("root"));
        BundleRoot root = BundleRoot.of(dir.resolve("root"));
        assertTrue(refusal(root, "../outside/de-vmoe").startsWith("outside the bundle root"));
        assertTrue(refusal(root, dir.resolve("outside/de-vmoe").toString()).startsWith("outside the bundle root"));
        Files.createSymbolicLink(dir.resolve("root/linked"), dir.resolve("outside/de-vmoe"));
        String reason = refusal(root, "linked");
        assertTrue(reason.startsWith("outside the bundle root"), reason);
        assertFalse(reason.contains("outside/de-vmoe"), "the link's target is not told: " + reason);
    }

    @Test
    void refusesAMissingPathAFileAndAFolderThatIsNoBundle(@TempDir Path dir) throws Exception {
        Path rootDir = Files.createDirectories(dir.resolve("root"));
        BundleRoot root = BundleRoot.of(rootDir);
        assertTrue(refusal(root, "nope").startsWith("no such directory under the bundle root"));
        Files.writeString(rootDir.resolve("file"), "not a bundle");
        assertTrue(refusal(root, "file").startsWith("not a bundle"));
        Files.createDirectories(rootDir.resolve("empty"));
        assertTrue(refusal(root, "empty").contains("model.json"));
        assertTrue(refusal(root, "bad\u0000path").startsWith("not a valid path"));
    }

    @Test
    void refusesAModelFileOnnxRuntimeCannotOpenThoughItsDigestMatches(@TempDir Path dir) throws Exception {
        Path bundle = copy(dir.resolve("root/broken"));
        byte[] junk = "not an onnx graph".getBytes(StandardCharsets.UTF_8);
        Files.write(bundle.resolve("model.onnx"), junk);
        String json = Files.readString(bundle.resolve("model.json"));
        String sha = e3stream.runtime.model.ModelBundle.sha256(bundle.resolve("model.onnx"));
        String original = e3stream.runtime.model.ModelBundle.sha256(DE_VMOE.resolve("model.onnx"));
        Files.writeString(bundle.resolve("model.json"), json.replace(original, sha));
        String reason = refusal(BundleRoot.of(dir.resolve("root")), "broken");
        assertTrue(reason.startsWith("ONNX Runtime cannot open"), reason);
    }

    @Test
    void theBundleDigestIsWhatTheShellComputesAndCoversModelJson(@TempDir Path dir) throws Exception {
        Path bundle = copy(dir.resolve("root/de-vmoe"));
        BundleRoot root = BundleRoot.of(dir.resolve("root"));
        String digest = root.load("de-vmoe").bundleSha256();
        Process p = new ProcessBuilder("sh", "-c", "sha256sum model.json model.onnx | sha256sum")
                .directory(bundle.toFile()).redirectErrorStream(true).start();
        String shell = new String(p.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0, shell);
        assertEquals(shell.substring(0, 64), digest);

        // A copy whose model.json accepts everything keeps model.onnx's sha256 but not the bundle's digest.
        String json = Files.readString(bundle.resolve("model.json"));
        Files.writeString(bundle.resolve("model.json"), json.replaceFirst("\"min_confidence\": [0-9.]+",
                "\"min_confidence\": 0"));
        BundleDescription tampered = root.load("de-vmoe");
        assertEquals(0.0, tampered.manifest().triageJson().get("min_confidence").asDouble(), "the edit took");
        assertFalse(digest.equals(tampered.bundleSha256()));
    }

    @Test
    void refusesABundleWhoseProvenanceWouldBloatEveryAnswer(@TempDir Path dir) throws Exception {
        Path bundle = copy(dir.resolve("root/long-name"));
        String json = Files.readString(bundle.resolve("model.json"));
        Files.writeString(bundle.resolve("model.json"), json.replaceFirst("\"name\": \"[^\"]*\"",
                "\"name\": \"" + "n".repeat(BundleRoot.MAX_PROVENANCE_LENGTH + 1) + "\""));
        String reason = refusal(BundleRoot.of(dir.resolve("root")), "long-name");
        assertTrue(reason.contains("longer than " + BundleRoot.MAX_PROVENANCE_LENGTH), reason);
    }
}
