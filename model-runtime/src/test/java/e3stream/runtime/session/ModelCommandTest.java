package e3stream.runtime.session;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Test;

/** Reading the control topic's commands, and the reason given for each kind of bad one. */
class ModelCommandTest {

    private static ModelCommand parse(String json) {
        return ModelCommand.parse(json.getBytes(StandardCharsets.UTF_8));
    }

    private static String refusal(String json) {
        return assertThrows(IllegalArgumentException.class, () -> parse(json)).getMessage();
    }

    @Test
    void readsEachCommand() {
        assertEquals(new ModelCommand("c1", ModelCommand.Kind.SHADOW, "/m/de-vmoe", 0.25),
                parse("{\"id\": \"c1\", \"command\": \"shadow\", \"bundle\": \"/m/de-vmoe\", \"share\": 0.25}"));
        assertEquals(new ModelCommand(null, ModelCommand.Kind.SHADOW, "/m/de-vmoe", null),
                parse("{\"command\": \"shadow\", \"bundle\": \"/m/de-vmoe\"}"));
        assertEquals(ModelCommand.Kind.PROMOTE, parse("{\"command\": \"promote\"}").kind());
        assertEquals(ModelCommand.Kind.ROLLBACK, parse("{\"command\": \"ROLLBACK\"}").kind());
        assertEquals(ModelCommand.Kind.STOP_SHADOW, parse("{\"command\": \"stop-shadow\"}").kind());
        ModelCommand status = parse("{\"id\": \"s\", \"command\": \"status\", \"bundle\": \"ignored\"}");
        assertEquals(ModelCommand.Kind.STATUS, status.kind());
        assertNull(status.bundle(), "only shadow takes a bundle");
    }

    @Test
    void saysWhatIsWrongWithABadCommand() {
        assertTrue(refusal("").contains("empty"));
        assertTrue(refusal("promote").contains("not JSON"));
        assertTrue(refusal("[1, 2]").contains("not a JSON object"));
        assertTrue(refusal("{\"id\": \"x\"}").contains("\"command\" is missing"));
        assertTrue(refusal("{\"command\": 3}").contains("\"command\" is missing or not a string"));
        assertTrue(refusal("{\"command\": \"deploy\"}").contains("unknown command 'deploy'"));
        assertTrue(refusal("{\"command\": \"shadow\"}").contains("needs \"bundle\""));
        assertTrue(refusal("{\"command\": \"shadow\", \"bundle\": \" \"}").contains("needs \"bundle\""));
        assertTrue(refusal("{\"command\": \"shadow\", \"bundle\": \"/m\", \"share\": 1.5}").contains("\"share\""));
        assertTrue(refusal("{\"command\": \"shadow\", \"bundle\": \"/m\", \"share\": \"half\"}").contains("\"share\""));
        assertTrue(refusal("{\"id\": 7, \"command\": \"promote\"}").contains("\"id\""));
        assertTrue(refusal("{\"id\": \"" + "x".repeat(ModelCommand.MAX_ID_LENGTH + 1) + "\", \"command\": \"promote\"}")
                .contains("\"id\""));
    }

    @Test
    void echoesAnOversizedIdOrBundleCutToItsMaximumAndSaysSo() {
        String longId = "i".repeat(ModelCommand.MAX_ID_LENGTH + 500);
        ModelCommand.InvalidCommand e = assertThrows(ModelCommand.InvalidCommand.class,
                () -> parse("{\"id\": \"" + longId + "\", \"command\": \"promote\"}"));
        assertEquals(longId.substring(0, ModelCommand.MAX_ID_LENGTH), e.id());
        assertTrue(e.truncated());
        String longBundle = "/m/" + "b".repeat(ModelCommand.MAX_BUNDLE_LENGTH);
        e = assertThrows(ModelCommand.InvalidCommand.class,
                () -> parse("{\"id\": \"c\", \"command\": \"shadow\", \"bundle\": \"" + longBundle + "\"}"));
        assertTrue(e.getMessage().contains("\"bundle\" must be at most 1024 characters"), e.getMessage());
        assertEquals("c", e.id());
        assertEquals(longBundle.substring(0, ModelCommand.MAX_BUNDLE_LENGTH), e.bundle());
        assertTrue(e.truncated());
        String longName = "x".repeat(10_000);
        e = assertThrows(ModelCommand.InvalidCommand.class, () -> parse("{\"command\": \"" + longName + "\"}"));
        assertTrue(e.getMessage().length() < 200, "an unknown command is quoted cut: " + e.getMessage().length());
        assertEquals(false, e.truncated());
    }

    @Test
    void refusesDeepNestingUnreadAndQuotesNoneOfABadRecord() {
        String deep = "{\"command\": \"status\", \"x\": " + "[".repeat(100_000) + "]".repeat(100_000) + "}";
        String reason = refusal(deep);
        assertTrue(reason.contains("nested deeper than " + ModelCommand.MAX_NESTING), reason);
        String junk = "{\"command\": \"status\" " + "z".repeat(50_000);
        reason = refusal(junk);
        assertTrue(reason.startsWith("control record is not JSON") && reason.length() < 200, reason);
    }

    @Test
    void readsAndChecksTheBundleDigestACommandNames() {
        String digest = "ab".repeat(32);
        assertEquals(digest, parse("{\"command\": \"shadow\", \"bundle\": \"/m\", \"bundle_sha256\": \""
                + digest + "\"}").bundleSha256());
        assertTrue(refusal("{\"command\": \"shadow\", \"bundle\": \"/m\", \"bundle_sha256\": \"abc\"}")
                .contains("\"bundle_sha256\""));
    }
}
