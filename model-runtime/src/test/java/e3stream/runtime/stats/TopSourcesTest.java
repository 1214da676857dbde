package e3stream.runtime.stats;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The bounded "k busiest sources + other" accumulator, over real (compact) calibration accumulators. */
class TopSourcesTest {

    private static final int CLASSES = 3;

    /** A labelled item drawn from {@code rnd}: probabilities over 3 classes, label, review flag. */
    private record Item(String source, double[] p, int label, boolean reviewed) {
        static Item draw(String source, Random rnd) {
            double a = rnd.nextDouble();
            double b = rnd.nextDouble() * (1 - a);
            return new Item(source, new double[] {a, b, 1 - a - b}, rnd.nextInt(CLASSES), rnd.nextBoolean());
        }

        void addTo(CalibrationStats s) {
            s.add(p, label, reviewed);
        }
    }

    private static TopSources<CalibrationStats> topSources(int k) {
        return new TopSources<>(k, CalibrationStats.compact(CLASSES));
    }

    private static void add(TopSources<CalibrationStats> t, Item item) {
        item.addTo(t.forItem(item.source()));
    }

    @Test
    void reportsTheBusiestSourcesMostItemsFirstAndEverythingElseAsOther() {
        Random rnd = new Random(1);
        // 5 sources with 400, 300, 200, 20, 10 items, and 50 items without a source, shuffled
        List<Item> items = new ArrayList<>();
        String[] names = {"cam-a", "cam-b", "cam-c", "cam-d", "cam-e"};
        int[] counts = {400, 300, 200, 20, 10};
        for (int s = 0; s < names.length; s++) {
            for (int i = 0; i < counts[s]; i++) {
                items.add(Item.draw(names[s], rnd));
            }
        }
        for (int i = 0; i < 50; i++) {
            items.add(Item.draw(i % 2 == 0 ? null : "", rnd));
        }
        java.util.Collections.shuffle(items, rnd);
        TopSources<CalibrationStats> top = topSources(3);
        Map<String, CalibrationStats> exact = new HashMap<>();
        for (Item item : items) {
            add(top, item);
            String bucket = item.source() != null && item.source().compareTo("cam-d") < 0 && !item.source().isEmpty()
                    ? item.source() : "other"; // cam-a, cam-b, cam-c by name
            item.addTo(exact.computeIfAbsent(bucket, b -> CalibrationStats.compact(CLASSES)));
        }
        Map<String, CalibrationStats> by = top.bySource();
        assertEquals(List.of("cam-a", "cam-b", "cam-c", "other"), List.copyOf(by.keySet()));
        // 6 slots for 5 sources: nothing was evicted, so each source's accumulator is exactly its items
        for (String name : by.keySet()) {
            assertEquals(exact.get(name), by.get(name), name);
        }
        assertEquals(20 + 10 + 50, by.get("other").count());
        assertEquals(items.size(), top.count());
    }

    @Test
    void manyOneOffSourcesNeverTakeTheBusiestSlotsAndMemoryStaysBounded() throws Exception {
        Random rnd = new Random(2);
        TopSources<CalibrationStats> top = topSources(2);
        int n = 0;
        int serialisedAfter10k = 0;
        for (int i = 0; i < 40_000; i++) {
            // 35 % each from two busy sources, 30 % from sources seen once
            double u = rnd.nextDouble();
            String source = u < 0.35 ? "busy-1" : u < 0.70 ? "busy-2" : "once-" + i;
            add(top, Item.draw(source, rnd));
            n++;
            if (i == 10_000) {
                serialisedAfter10k = serialise(top).length;
            }
        }
        Map<String, CalibrationStats> by = top.bySource();
        // Space-Saving with 2k = 4 slots: a source with more than N/4 of the items always holds a slot
        assertEquals(List.of("busy-1", "busy-2", "other"), List.copyOf(by.keySet()));
        assertEquals(n, by.values().stream().mapToLong(CalibrationStats::count).sum(), "every item counted once");
        assertTrue(by.get("busy-1").count() > 0.30 * n, "busy-1 holds most of its items: " + by.get("busy-1").count());
        int serialisedAfter40k = serialise(top).length;
        assertTrue(serialisedAfter40k <= serialisedAfter10k + 200,
                "state does not grow with sources: " + serialisedAfter10k + " then " + serialisedAfter40k + " bytes");
        assertTrue(serialisedAfter40k < 20_000, serialisedAfter40k + " bytes for 4 slots + other");
    }

    @Test
    void aSourceThatFallsOutOfTheSlotsHandsItsItemsToOther() {
        Random rnd = new Random(3);
        TopSources<CalibrationStats> top = topSources(1); // 2 slots
        for (int i = 0; i < 10; i++) {
            add(top, Item.draw("a", rnd));
        }
        add(top, Item.draw("b", rnd));
        add(top, Item.draw("c", rnd)); // evicts b (count 1), inherits its count: 2
        Map<String, CalibrationStats> by = top.bySource();
        assertEquals(List.of("a", "other"), List.copyOf(by.keySet()));
        assertEquals(10, by.get("a").count());
        assertEquals(2, by.get("other").count(), "b's item (evicted) and c's (a slot, but not among the top 1)");
    }

    @Test
    void namesAreCleanedOfControlFormatAndSeparatorCharactersWhereTheyAreCut() {
        assertEquals("cam\uFFFD1\uFFFD\uFFFDx", TopSources.name("cam\n1\u0000\u202Ex"), "newline, NUL, bidi override");
        assertEquals("a\uFFFDb\uFFFDc", TopSources.name("a\u2028b\u200Bc"), "line separator, zero-width space");
        assertEquals("caf\u00e9 \uD83D\uDE00 \u6771\u4eac", TopSources.name("caf\u00e9 \uD83D\uDE00 \u6771\u4eac"),
                "letters, emoji and spaces stay");
        assertEquals("\uFFFD".repeat(128), TopSources.name("\u0007".repeat(300)), "cleaned and cut");
        assertEquals("\uFFFDend", TopSources.name("\uDE00end"), "an unpaired low surrogate");
    }

    @Test
    void namesOfMissingLongAndReservedSources() {
        assertEquals("other", TopSources.name(null));
        assertEquals("other", TopSources.name(""));
        assertEquals("other", TopSources.name("other"));
        assertEquals("Other", TopSources.name("Other"));
        String longName = "x".repeat(300);
        assertEquals("x".repeat(128), TopSources.name(longName));
        // a surrogate pair across the cut is dropped whole, not split
        String emoji = "x".repeat(127) + "\uD83D\uDE00" + "y";
        assertEquals("x".repeat(127), TopSources.name(emoji));
        // a high surrogate alone at the cut is kept as the cut's last char only when its pair follows; alone it is cleaned
        assertEquals("x".repeat(127) + "\uFFFD", TopSources.name("x".repeat(127) + "\uD83D" + "y".repeat(5)));
        TopSources<CalibrationStats> top = topSources(5);
        add(top, Item.draw(longName, new Random(4)));
        add(top, Item.draw("x".repeat(129), new Random(4)));
        assertEquals(List.of("x".repeat(128)), List.copyOf(top.bySource().keySet()), "one source, cut to 128 chars");
        assertEquals(2, top.bySource().get("x".repeat(128)).count());
    }

    @Test
    void mergeAddsTheSourcesOfBothAndCountsEveryItemOnce() throws Exception {
        Random rnd = new Random(5);
        TopSources<CalibrationStats> left = topSources(3);
        TopSources<CalibrationStats> right = topSources(3);
        Map<String, CalibrationStats> exact = new HashMap<>();
        String[] names = {"a", "b", "c", "d"};
        for (int i = 0; i < 4_000; i++) {
            Item item = Item.draw(names[Math.min(3, (int) Math.floor(-Math.log(rnd.nextDouble())))], rnd);
            add(rnd.nextBoolean() ? left : right, item);
            item.addTo(exact.computeIfAbsent(item.source(), s -> CalibrationStats.compact(CLASSES)));
        }
        TopSources<CalibrationStats> merged = left.copy().merge(right);
        assertEquals(4_000, merged.count());
        // 4 sources, 6 slots: nothing evicted, so each source is exactly the union of its items
        Map<String, CalibrationStats> by = merged.bySource();
        assertEquals(List.of("a", "b", "c", "other"), List.copyOf(by.keySet()));
        for (String name : List.of("a", "b", "c")) {
            assertEquals(exact.get(name), by.get(name), name);
        }
        assertEquals(exact.get("d"), by.get("other"));
        assertEquals(merged, deserialise(serialise(merged)));

        assertEquals("cannot merge the 2 busiest sources into the 3 busiest",
                assertThrows(IllegalArgumentException.class, () -> left.merge(topSources(2))).getMessage());
    }

    @Test
    void mergeBeyondTheSlotsEvictsTheSmallestIntoOther() {
        Random rnd = new Random(6);
        TopSources<CalibrationStats> left = topSources(1);
        TopSources<CalibrationStats> right = topSources(1);
        for (int i = 0; i < 5; i++) {
            add(left, Item.draw("a", rnd));
            add(right, Item.draw("c", rnd));
        }
        add(left, Item.draw("b", rnd));
        add(right, Item.draw("d", rnd));
        add(right, Item.draw("d", rnd));
        TopSources<CalibrationStats> merged = left.merge(right); // a 5, b 1, c 5, d 2: b and d leave the 2 slots
        Map<String, CalibrationStats> by = merged.bySource();
        assertEquals(List.of("a", "other"), List.copyOf(by.keySet()), "a before c: equal counts go by name");
        assertEquals(13, merged.count());
        assertEquals(8, by.get("other").count());
    }

    @Test
    void refusesABadNumberOfSourcesOrAFilledTemplate() {
        assertEquals("the number of sources reported by name must be in [1, 1000], got 0",
                assertThrows(IllegalArgumentException.class, () -> topSources(0)).getMessage());
        assertThrows(IllegalArgumentException.class, () -> topSources(1001));
        CalibrationStats filled = CalibrationStats.compact(CLASSES);
        filled.add(new double[] {1, 0, 0}, 0, false);
        assertEquals("the template accumulator must be empty, it holds 1 items",
                assertThrows(IllegalArgumentException.class, () -> new TopSources<>(3, filled)).getMessage());
    }

    static byte[] serialise(Object o) throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
            out.writeObject(o);
        }
        return bytes.toByteArray();
    }

    static Object deserialise(byte[] bytes) throws Exception {
        try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bytes))) {
            return in.readObject();
        }
    }
}
