package e3stream.pipeline.internal.labels;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** What an invalid label's message puts in the log: bounded, on one line. */
class ParseLabelFunctionTest {

    @Test
    void logsAnInvalidLabelsMessageCappedAndOnOneLine() {
        assertEquals("label 'x' is not a class", ParseLabelFunction.logText("label 'x' is not a class"));
        String huge = "label '" + "a".repeat(1_000_000) + "' is not a class";
        String logged = ParseLabelFunction.logText(huge);
        assertEquals("label '" + "a".repeat(ParseLabelFunction.MAX_LOGGED_CHARS - 7) + "... (" + huge.length()
                + " characters)", logged);
        assertEquals("label 'x?2026-01-01 WARN forged?' is not a class",
                ParseLabelFunction.logText("label 'x\n2026-01-01 WARN forged\r' is not a class"));
        assertEquals("", ParseLabelFunction.logText(null));
    }
}
