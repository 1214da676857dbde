package e3stream.runtime.session;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import e3stream.runtime.model.BundleDescription;
import e3stream.runtime.model.BundleException;
import e3stream.runtime.model.ExecutionOptions;
import e3stream.runtime.testutils.RepoFiles;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** One operator's sessions per bundle, on the shipped e3 and de-vmoe bundles with real ONNX Runtime sessions. */
class BundleSessionsTest {

    static final BundleDescription E3 = BundleDescription.load(RepoFiles.bundle("e3"));
    private static final BundleDescription DE_VMOE = BundleDescription.load(RepoFiles.bundle("de-vmoe"));

    private final SharedSessions shared = new SharedSessions(ModelSession::open);

    @AfterEach
    void closeAll() {
        shared.closeAll();
    }

    /** One intra-op thread, small batches: the spec these tests (and {@link PreparedRosterTest}) open sessions with. */
    static SessionSpec spec() {
        return new SessionSpec(E3, ExecutionOptions.Device.CPU, 0, 1, false, 8, Duration.ofMillis(1), 64,
                Duration.ZERO);
    }

    private static float[] zeroImage() {
        return new float[E3.manifest().input().pixelsPerImage()];
    }

    private static String dir(BundleDescription b) {
        return b.directory().toString();
    }

    @Test
    void scoresEachImageWithTheBundleItNamesAndTheOverridesOnlyWithTheConfiguredOne() throws Exception {
        // Overrides that send everything to review: they apply to the configured bundle (e3) only.
        TriageOverrides reviewAll = new TriageOverrides(1.0, null, null, null);
        try (BundleSessions sessions = new BundleSessions(shared, spec(), reviewAll)) {
            Scored e3 = sessions.score(dir(E3), E3.manifest().sha256(), zeroImage()).get(30, TimeUnit.SECONDS);
            Scored deVmoe = sessions.score(dir(DE_VMOE), DE_VMOE.manifest().sha256(), zeroImage())
                    .get(30, TimeUnit.SECONDS);
            assertEquals(E3.manifest().sha256(), e3.model().sha256());
            assertEquals(DE_VMOE.manifest().sha256(), deVmoe.model().sha256());
            assertEquals(false, e3.accepted(), "the job's overrides apply to the configured bundle");
            try (BundleSessions own = new BundleSessions(shared, spec().withBundle(DE_VMOE), TriageOverrides.NONE)) {
                Scored alone = own.score(dir(DE_VMOE), DE_VMOE.manifest().sha256(), zeroImage())
                        .get(30, TimeUnit.SECONDS);
                assertEquals(alone.decision(), deVmoe.decision(), "another bundle decides with its own policy");
            }
            assertEquals(2, sessions.leased());
            assertEquals(2, shared.loads(), "each bundle loaded once");
        }
    }

    @Test
    void retainOnlyLetsGoOfBundlesNoLongerChosen() throws Exception {
        try (BundleSessions sessions = new BundleSessions(shared, spec(), TriageOverrides.NONE)) {
            sessions.openConfigured();
            sessions.score(dir(DE_VMOE), DE_VMOE.manifest().sha256(), zeroImage()).get(30, TimeUnit.SECONDS);
            sessions.retainOnly(Set.of(BundleSessions.key(dir(DE_VMOE), DE_VMOE.manifest().sha256())));
            assertEquals(1, sessions.leased());
            shared.releaseIdleNow();
            assertEquals(1, shared.open(), "e3's session closed once nobody leased it");
        }
        shared.releaseIdleNow();
        assertEquals(0, shared.open(), "close released every lease");
    }

    @Test
    void refusesABundleWhoseModelChangedSinceItWasChosen(@TempDir Path tmp) {
        try (BundleSessions sessions = new BundleSessions(shared, spec(), TriageOverrides.NONE)) {
            BundleException e = assertThrows(BundleException.class,
                    () -> sessions.score(dir(DE_VMOE), E3.manifest().sha256(), zeroImage()));
            assertTrue(e.getMessage().contains("same bundle files"), e.getMessage());
            assertThrows(BundleException.class,
                    () -> sessions.score(tmp.resolve("gone").toString(), E3.manifest().sha256(), zeroImage()));
            assertEquals(0, sessions.leased());
        }
    }

    @Test
    void refusesABundleWhoseModelJsonIsNotTheOneTheCommandVerified(@TempDir Path tmp) throws Exception {
        // The same model.onnx, but a model.json that accepts everything: model.onnx's sha256 alone would pass it.
        Path copy = java.nio.file.Files.createDirectories(tmp.resolve("de-vmoe"));
        java.nio.file.Files.copy(RepoFiles.bundle("de-vmoe").resolve("model.onnx"), copy.resolve("model.onnx"));
        java.nio.file.Files.writeString(copy.resolve("model.json"), java.nio.file.Files.readString(
                RepoFiles.bundle("de-vmoe").resolve("model.json")).replaceFirst("\"min_confidence\": [0-9.]+",
                "\"min_confidence\": 0"));
        try (BundleSessions sessions = new BundleSessions(shared, spec(), TriageOverrides.NONE)) {
            BundleException e = assertThrows(BundleException.class, () -> sessions.score(copy.toString(),
                    DE_VMOE.manifest().sha256(), DE_VMOE.bundleSha256(), zeroImage()));
            assertTrue(e.getMessage().contains("model.json differs"), e.getMessage());
            assertEquals(0, sessions.leased());
        }
    }
}
