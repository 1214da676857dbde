package e3stream.pipeline.internal.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class PortRangeTest {

    @Test
    void readsAPortARangeAndZeroForNone() {
        PortRange one = PortRange.parse("9464");
        assertEquals(9464, one.from());
        assertEquals(9464, one.to());
        assertEquals("9464", one.toString());
        PortRange range = PortRange.parse(" 9464 - 9473 ");
        assertEquals(9464, range.from());
        assertEquals(9473, range.to());
        assertEquals("9464-9473", range.toString());
        assertFalse(range.isNone());
        assertTrue(PortRange.parse("0").isNone());
        assertEquals(PortRange.NONE, PortRange.parse("0"));
        assertEquals(PortRange.parse("1-65535"), PortRange.parse("1-65535"));
    }

    @Test
    void rejectsWhatIsNotAPortOrRangeSayingWhatIsExpected() {
        for (String bad : new String[] {"", "http", "9464-", "-9464", "9464,9465", "9464-9465-9466", "-1", "1.5"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> PortRange.parse(bad), bad);
            assertEquals("expected a port (1..65535), a range FROM-TO of them (e.g. 9464-9473) or 0 for none, found '"
                    + bad + "'", e.getMessage());
        }
        assertEquals("ports must be in 1..65535, found '70000'",
                assertThrows(IllegalArgumentException.class, () -> PortRange.parse("70000")).getMessage());
        assertEquals("ports must be in 1..65535, found '0-10'",
                assertThrows(IllegalArgumentException.class, () -> PortRange.parse("0-10")).getMessage());
        assertEquals("ports must be in 1..65535, found '9464-99999'",
                assertThrows(IllegalArgumentException.class, () -> PortRange.parse("9464-99999")).getMessage());
        assertEquals("range FROM-TO must have FROM <= TO, found '9473-9464'",
                assertThrows(IllegalArgumentException.class, () -> PortRange.parse("9473-9464")).getMessage());
    }
}
