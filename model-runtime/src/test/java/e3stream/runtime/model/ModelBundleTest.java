package e3stream.runtime.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import e3stream.runtime.testutils.RepoFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ModelBundleTest {
    private static final ObjectMapper MAPPER = new ObjectMapper();

    @TempDir
    Path temp;

    @Test
    void loadsTheShippedE3BundleAndVerifiesItsHash() {
        ModelBundle bundle = ModelBundle.load(RepoFiles.bundle("e3"));
        BundleManifest m = bundle.manifest();
        assertEquals("e3", m.name());
        assertEquals("e3", m.architecture().kind());
        assertEquals(2, m.architecture().ensembleSize());
        assertEquals(m.classes().size(), m.architecture().numClasses());
        assertEquals("images", m.input().name());
        assertEquals(ModelBundle.sha256(bundle.onnxPath()), m.sha256());
        assertTrue(bundle.goldenPath().isPresent());
    }

    @Test
    void refusesAModelFileChangedAfterExport() throws IOException {
        Path copy = RepoFiles.copyBundle("e3", temp.resolve("e3"));
        byte[] onnx = Files.readAllBytes(copy.resolve("model.onnx"));
        onnx[onnx.length / 2] ^= 0x01;
        Files.write(copy.resolve("model.onnx"), onnx);
        BundleException e = assertThrows(BundleException.class, () -> ModelBundle.load(copy));
        assertTrue(e.getMessage().contains("model.onnx has sha256 " + ModelBundle.sha256(copy.resolve("model.onnx"))),
                e.getMessage());
        assertTrue(e.getMessage().contains("modified or replaced"), e.getMessage());
        assertTrue(e.getMessage().contains("re-export"), e.getMessage());
    }

    @Test
    void refusesABundleWithoutItsModelFile() throws IOException {
        Path copy = RepoFiles.copyBundle("e3", temp.resolve("e3"));
        Files.delete(copy.resolve("model.onnx"));
        BundleException e = assertThrows(BundleException.class, () -> ModelBundle.load(copy));
        assertTrue(e.getMessage().contains("has no model.onnx"), e.getMessage());
    }

    @Test
    void refusesAMissingDirectoryAndAMissingManifest() throws IOException {
        BundleException noDir = assertThrows(BundleException.class, () -> ModelBundle.load(temp.resolve("nope")));
        assertTrue(noDir.getMessage().contains("does not exist"), noDir.getMessage());
        Path copy = RepoFiles.copyBundle("e3", temp.resolve("e3"));
        Files.delete(copy.resolve("model.json"));
        BundleException noJson = assertThrows(BundleException.class, () -> ModelBundle.load(copy));
        assertTrue(noJson.getMessage().contains("model.json is missing"), noJson.getMessage());
    }

    @Test
    void namesTheFieldWhenModelJsonIsInvalid() throws IOException {
        Path copy = RepoFiles.copyBundle("e3", temp.resolve("e3"));
        ObjectNode json = (ObjectNode) MAPPER.readTree(copy.resolve("model.json").toFile());
        json.remove("temperature");
        MAPPER.writeValue(copy.resolve("model.json").toFile(), json);
        BundleException e = assertThrows(BundleException.class, () -> ModelBundle.load(copy));
        assertTrue(e.getMessage().contains("'temperature' must be a number"), e.getMessage());

        Files.writeString(copy.resolve("model.json"), "{\"name\": ");
        BundleException broken = assertThrows(BundleException.class, () -> ModelBundle.load(copy));
        assertTrue(broken.getMessage().contains("is not valid JSON"), broken.getMessage());
    }
}
