package e3stream.runtime.session;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import e3stream.runtime.model.BundleDescription;
import e3stream.runtime.testutils.RepoFiles;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The model roster's commands on the shipped bundles: what each changes, and what is refused and why. */
class ModelRosterTest {

    private static final BundleDescription E3 = BundleDescription.load(RepoFiles.bundle("e3"));
    private static final BundleDescription DE_VMOE = BundleDescription.load(RepoFiles.bundle("de-vmoe"));
    private static final String DE_VMOE_DIR = RepoFiles.bundle("de-vmoe").toString();

    private static ModelCommand shadow(String bundle, Double share) {
        return new ModelCommand("s", ModelCommand.Kind.SHADOW, bundle, share);
    }

    private static ModelCommand command(ModelCommand.Kind kind) {
        return new ModelCommand(null, kind, null, null);
    }

    private static ModelRoster.Change apply(ModelRoster roster, ModelCommand command) {
        return roster.apply(command, ModelRoster::load);
    }

    @Test
    void shadowThenPromoteThenRollBack() {
        ModelRoster start = ModelRoster.configured(E3, null, 0.5);
        assertEquals(0, start.revision());

        ModelRoster.Change shadowed = apply(start, shadow(DE_VMOE_DIR, null));
        assertTrue(shadowed.applied(), shadowed.reason());
        ModelRoster s = shadowed.roster();
        assertEquals(1, s.revision());
        assertEquals(E3, s.active());
        assertEquals(DE_VMOE.manifest().sha256(), s.shadow().manifest().sha256());
        assertEquals(0.5, s.shadowShare(), "the configured share is the default");
        assertTrue(start.isSucceededBy(s));
        assertFalse(s.isSucceededBy(start));

        ModelRoster promoted = apply(s, command(ModelCommand.Kind.PROMOTE)).roster();
        assertEquals(2, promoted.revision());
        assertEquals(DE_VMOE.manifest().sha256(), promoted.active().manifest().sha256());
        assertNull(promoted.shadow(), "the promoted shadow is no longer a shadow");
        assertEquals(E3, promoted.previous());

        ModelRoster.Change rolledBack = apply(promoted, command(ModelCommand.Kind.ROLLBACK));
        assertTrue(rolledBack.applied());
        assertEquals(3, rolledBack.roster().revision());
        assertEquals(E3, rolledBack.roster().active());
        assertNull(rolledBack.roster().previous());

        ModelRoster.Change again = apply(rolledBack.roster(), command(ModelCommand.Kind.ROLLBACK));
        assertFalse(again.applied(), "one rollback per promotion");
        assertSame(rolledBack.roster(), again.roster());
        assertTrue(again.reason().contains("nothing to roll back to"), again.reason());
    }

    @Test
    void commandsThatDoNotApplyAreRefusedAndChangeNothing() {
        ModelRoster start = ModelRoster.configured(E3, null, 1.0);
        ModelRoster.Change promote = apply(start, command(ModelCommand.Kind.PROMOTE));
        assertFalse(promote.applied());
        assertSame(start, promote.roster());
        assertTrue(promote.reason().contains("no shadow model to promote"), promote.reason());

        ModelRoster.Change stop = apply(start, command(ModelCommand.Kind.STOP_SHADOW));
        assertFalse(stop.applied());
        assertTrue(stop.reason().contains("no shadow"), stop.reason());

        ModelRoster.Change self = apply(start, shadow(RepoFiles.bundle("e3").toString(), 1.0));
        assertFalse(self.applied());
        assertTrue(self.reason().contains("is the active model already"), self.reason());

        ModelRoster.Change status = apply(start, command(ModelCommand.Kind.STATUS));
        assertTrue(status.applied());
        assertSame(start, status.roster(), "status changes nothing");

        ModelRoster shadowed = apply(start, shadow(DE_VMOE_DIR, 0.2)).roster();
        ModelRoster stopped = apply(shadowed, command(ModelCommand.Kind.STOP_SHADOW)).roster();
        assertNull(stopped.shadow());
        assertEquals(2, stopped.revision());
    }

    @Test
    void aBundleThatFailsVerificationIsRefusedWithTheReason(@TempDir Path dir) throws Exception {
        ModelRoster start = ModelRoster.configured(E3, null, 1.0);

        ModelRoster.Change missing = apply(start, shadow(dir.resolve("nowhere").toString(), null));
        assertFalse(missing.applied());
        assertSame(start, missing.roster());
        assertTrue(missing.reason().contains("does not exist"), missing.reason());

        Path tampered = RepoFiles.copyBundle("de-vmoe", dir.resolve("tampered"));
        Files.write(tampered.resolve("model.onnx"), new byte[] {0}, StandardOpenOption.APPEND);
        ModelRoster.Change sha = apply(start, shadow(tampered.toString(), null));
        assertFalse(sha.applied());
        assertTrue(sha.reason().contains("sha256"), sha.reason());

        ObjectMapper json = new ObjectMapper();
        Path otherClasses = RepoFiles.copyBundle("de-vmoe", dir.resolve("classes"));
        ObjectNode manifest = (ObjectNode) json.readTree(otherClasses.resolve("model.json").toFile());
        manifest.withArray("classes").set(0, json.getNodeFactory().textNode("Jumper"));
        json.writeValue(otherClasses.resolve("model.json").toFile(), manifest);
        ModelRoster.Change classes = apply(start, shadow(otherClasses.toString(), null));
        assertFalse(classes.applied());
        assertTrue(classes.reason().contains("has classes") && classes.reason().contains("Jumper"), classes.reason());

        Path otherInput = RepoFiles.copyBundle("de-vmoe", dir.resolve("input"));
        manifest = (ObjectNode) json.readTree(otherInput.resolve("model.json").toFile());
        ((ObjectNode) manifest.get("input")).putArray("mean").add(0.5); // normalised differently
        json.writeValue(otherInput.resolve("model.json").toFile(), manifest);
        ModelRoster.Change input = apply(start, shadow(otherInput.toString(), null));
        assertFalse(input.applied());
        assertTrue(input.reason().contains("takes input"), input.reason());
    }

    @Test
    void aRestoredRosterIsKeptOnlyUnderTheSameConfiguration() throws Exception {
        ModelRoster configured = ModelRoster.configured(E3, null, 1.0);
        ModelRoster promoted = apply(apply(configured, shadow(DE_VMOE_DIR, null)).roster(),
                command(ModelCommand.Kind.PROMOTE)).roster();
        ModelRoster restored = roundTrip(promoted);
        assertEquals(promoted.revision(), restored.revision());
        assertEquals(promoted.active(), restored.active());
        assertSame(restored, ModelRoster.restoredOr(restored, ModelRoster.configured(E3, null, 1.0)),
                "a restart under the same configuration keeps the promoted model");
        ModelRoster reconfigured = ModelRoster.configured(DE_VMOE, null, 1.0);
        assertSame(reconfigured, ModelRoster.restoredOr(restored, reconfigured),
                "a restart with another model.bundle starts from it");
        assertSame(configured, ModelRoster.restoredOr(null, configured));
        assertFalse(reconfigured.isSucceededBy(promoted), "a roster of another configuration never takes over");
    }

    @Test
    void writesItsModelsForTheAnswers() {
        ModelRoster promoted = apply(apply(ModelRoster.configured(E3, null, 1.0), shadow(DE_VMOE_DIR, null)).roster(),
                command(ModelCommand.Kind.PROMOTE)).roster();
        ObjectNode node = new ObjectMapper().createObjectNode();
        promoted.writeTo(node);
        assertEquals(2, node.get("revision").asLong());
        assertEquals(DE_VMOE.manifest().name(), node.get("active").get("name").asText());
        assertEquals(DE_VMOE.manifest().sha256(), node.get("active").get("sha256").asText());
        assertEquals(DE_VMOE_DIR, node.get("active").get("directory").asText());
        assertTrue(node.get("shadow").isNull());
        assertEquals(E3.manifest().sha256(), node.get("previous").get("sha256").asText());
    }

    private static ModelRoster roundTrip(ModelRoster roster) throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
            out.writeObject(roster);
        }
        try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray()))) {
            return (ModelRoster) in.readObject();
        }
    }

    @Test
    void aCommandThatNamesTheBundleDigestAppliesOnlyToThatBundle() {
        ModelRoster start = ModelRoster.configured(E3, null, 1.0);
        String other = "0".repeat(64);
        ModelRoster.Change refused = apply(start, new ModelCommand("d", ModelCommand.Kind.SHADOW, DE_VMOE_DIR, null,
                other));
        assertFalse(refused.applied());
        assertTrue(refused.reason().contains("bundle_sha256 " + DE_VMOE.bundleSha256() + " but the command names "
                + other), refused.reason());
        assertSame(start, refused.roster());
        assertTrue(apply(start, new ModelCommand("d", ModelCommand.Kind.SHADOW, DE_VMOE_DIR, null,
                DE_VMOE.bundleSha256())).applied());
    }
}
