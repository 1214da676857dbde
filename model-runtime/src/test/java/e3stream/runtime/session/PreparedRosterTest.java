package e3stream.runtime.session;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import e3stream.runtime.model.BundleDescription;
import e3stream.runtime.model.BundleException;
import e3stream.runtime.testutils.RepoFiles;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A roster's bundles opened where a subtask runs, on the shipped bundles with real ONNX Runtime sessions. */
class PreparedRosterTest {

    private static final BundleDescription E3 = BundleSessionsTest.E3;

    private final SharedSessions shared = new SharedSessions(ModelSession::open);

    @AfterEach
    void closeAll() {
        shared.closeAll();
    }

    private static SessionSpec spec() {
        return BundleSessionsTest.spec();
    }

    private static Path copyOf(String bundle, Path to) throws Exception {
        Files.createDirectories(to);
        for (String f : List.of("model.json", "model.onnx")) {
            Files.copy(RepoFiles.bundle(bundle).resolve(f), to.resolve(f));
        }
        return to;
    }

    private static ModelRoster withShadow(Path shadow) {
        ModelCommand command = ModelCommand.parse(("{\"command\": \"shadow\", \"bundle\": \"" + shadow + "\"}")
                .getBytes(java.nio.charset.StandardCharsets.UTF_8));
        ModelRoster.Change change = ModelRoster.configured(E3, null, 1.0).apply(command, ModelRoster::load);
        assertTrue(change.applied(), change.reason());
        return change.roster();
    }

    @Test
    void opensEveryBundleOfTheRosterSoScoringFindsThemLoaded(@TempDir Path dir) throws Exception {
        ModelRoster roster = withShadow(copyOf("de-vmoe", dir.resolve("de-vmoe")));
        try (PreparedRoster ready = PreparedRoster.prepare(shared, spec(), spec(), roster)) {
            assertEquals(roster, ready.roster());
            assertEquals(2, shared.open(), "the active and the shadow model are open");
            try (BundleSessions scoring = new BundleSessions(shared, spec(), TriageOverrides.NONE)) {
                scoring.score(roster.shadow().directory().toString(), roster.shadow().manifest().sha256(),
                        roster.shadow().bundleSha256(), new float[E3.manifest().input().pixelsPerImage()]).get();
            }
            assertEquals(2, shared.loads(), "scoring leased the sessions the preparation opened");
        }
        shared.releaseIdleNow();
        assertEquals(0, shared.open(), "closing it let go of the sessions");
    }

    @Test
    void filesOtherThanTheCommandChoseAreRefusedAndNothingStaysOpen(@TempDir Path dir) throws Exception {
        Path shadow = copyOf("de-vmoe", dir.resolve("de-vmoe"));
        ModelRoster roster = withShadow(shadow);
        // Where this subtask runs, model.json is not the one the control function verified.
        Files.writeString(shadow.resolve("model.json"), Files.readString(shadow.resolve("model.json")) + "\n");
        BundleException e = assertThrows(BundleException.class,
                () -> PreparedRoster.prepare(shared, spec(), spec(), roster));
        assertTrue(e.getMessage().contains("model.json differs"), e.getMessage());
        shared.releaseIdleNow();
        assertEquals(0, shared.open(), "the active model's lease was let go as well");

        Files.delete(shadow.resolve("model.onnx"));
        e = assertThrows(BundleException.class, () -> PreparedRoster.prepare(shared, spec(), spec(), roster));
        assertTrue(e.getMessage().contains("has no model.onnx"), e.getMessage());
    }
}
