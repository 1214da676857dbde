package e3stream.runtime.stats;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * One statistics accumulator per source for the {@code k} busiest sources of a stream, and one, {@value #OTHER}, for
 * all the rest: bounded memory and a bounded set of names (metric labels) however many sources there are.
 *
 * <p>Which sources get their own accumulator is decided by Space-Saving (Metwally, Agrawal and El Abbadi 2005) over
 * {@code 2k} slots: a source already in a slot counts one more; a new source takes a free slot, or else the slot of
 * the source with the smallest count, which it inherits plus one (an over-estimate of its frequency by at most that
 * count), while the evicted source's accumulator is merged into {@value #OTHER}. So every item is in exactly one
 * accumulator (the per-source counts and {@value #OTHER}'s add up to all items), each accumulator holds exactly the
 * items of its source since the source last took its slot, and any source with more than {@code N / 2k} of {@code N}
 * items is certain to hold a slot. Chosen over exact counts with periodic eviction because its memory is fixed and
 * its guarantee holds for every prefix of the stream; the cost is one scan of the {@code 2k} slots when a source
 * without a slot arrives while all are taken. {@link #bySource()} reports the {@code k} slots with the most items
 * (ties by name) and merges the others into {@value #OTHER}.
 *
 * <p>Names: a missing or empty source, and a source called {@value #OTHER}, count under {@value #OTHER}; a name is
 * cut to its first {@value #MAX_SOURCE_CHARS} characters and cleaned ({@link #name}). {@link #merge} (of two subtasks' accumulators) adds the
 * counts and accumulators of the sources both know and then evicts down to {@code 2k} slots as above: every item is
 * still counted once, but which sources keep a slot may differ from one accumulator fed the union. Not thread-safe.
 *
 * <pre>{@code
 * TopSources<DriftStats> sources = new TopSources<>(20, DriftStats.compact(reference));
 * sources.forItem(event.source).add(confidence, entropy, mi, predictedClass, reviewed);
 * Map<String, DriftStats> busiest = sources.bySource(); // at most 20 sources, then "other"
 * }</pre>
 *
 * @param <A> the accumulator kept per source
 */
public final class TopSources<A extends MergeableStats<A>> implements Serializable {

    private static final long serialVersionUID = 1L;

    /** The name under which every source outside the busiest (and events without a source) are counted. */
    public static final String OTHER = "other";
    /** Longest source name kept; longer names are cut to this many characters. */
    public static final int MAX_SOURCE_CHARS = 128;
    /** Largest {@code k} accepted (each reported source is a set of metric series). */
    public static final int MAX_TOP = 1000;

    private final int top;
    private final int slots;
    /** Never added to: the template of each new source's accumulator. */
    private final A empty;
    private final HashMap<String, Slot<A>> tracked = new HashMap<>();
    private final A other;

    /**
     * @param top   how many sources {@link #bySource()} reports by name, in {@code [1, MAX_TOP]}
     * @param empty an empty accumulator: each source gets one {@link MergeableStats#emptyLike() like it}
     */
    public TopSources(int top, A empty) {
        if (top < 1 || top > MAX_TOP) {
            throw new IllegalArgumentException("the number of sources reported by name must be in [1, " + MAX_TOP
                    + "], got " + top);
        }
        Objects.requireNonNull(empty, "empty accumulator");
        if (empty.count() != 0) {
            throw new IllegalArgumentException("the template accumulator must be empty, it holds " + empty.count()
                    + " items");
        }
        this.top = top;
        this.slots = 2 * top;
        this.empty = empty;
        this.other = empty.emptyLike();
    }

    /** How many sources {@link #bySource()} reports by name. */
    public int top() {
        return top;
    }

    /** What replaces each character of a source name that {@link #name} cleans away. */
    public static final char REPLACEMENT = '\uFFFD';

    /**
     * The name {@code source} is counted under: {@value #OTHER} for null, empty or "other"; else its first
     * {@value #MAX_SOURCE_CHARS} characters, each control, format (bidirectional overrides, zero-width), line or
     * paragraph separator, private-use or unpaired surrogate character replaced by U+FFFD, so that the name is safe
     * as a metric label and a JSON key and shows what was there.
     */
    public static String name(String source) {
        if (source == null || source.isEmpty() || OTHER.equals(source)) {
            return OTHER;
        }
        int end = source.length();
        if (end > MAX_SOURCE_CHARS) {
            end = Character.isHighSurrogate(source.charAt(MAX_SOURCE_CHARS - 1))
                    && Character.isLowSurrogate(source.charAt(MAX_SOURCE_CHARS))
                    ? MAX_SOURCE_CHARS - 1 : MAX_SOURCE_CHARS; // never split a surrogate pair
        }
        StringBuilder clean = null;
        for (int i = 0; i < end; ) {
            int cp = source.codePointAt(i);
            int n = Character.charCount(cp);
            if (unsafe(cp)) {
                if (clean == null) {
                    clean = new StringBuilder(end).append(source, 0, i);
                }
                clean.append(REPLACEMENT);
            } else if (clean != null) {
                clean.appendCodePoint(cp);
            }
            i += n;
        }
        String name = clean != null ? clean.toString() : source.substring(0, end);
        return OTHER.equals(name) ? OTHER : name;
    }

    private static boolean unsafe(int cp) {
        return switch (Character.getType(cp)) {
            case Character.CONTROL, Character.FORMAT, Character.LINE_SEPARATOR, Character.PARAGRAPH_SEPARATOR,
                    Character.PRIVATE_USE, Character.SURROGATE -> true;
            default -> false;
        };
    }

    /**
     * Counts one item of {@code source} and returns the accumulator it must be added to (the source's own, or
     * {@value #OTHER}'s). The caller adds the item to it before the next call.
     */
    public A forItem(String source) {
        String name = name(source);
        if (OTHER.equals(name)) {
            return other;
        }
        Slot<A> slot = tracked.get(name);
        if (slot == null) {
            long inherited = 0;
            if (tracked.size() >= slots) {
                Map.Entry<String, Slot<A>> min = smallest();
                tracked.remove(min.getKey());
                other.merge(min.getValue().stats);
                inherited = min.getValue().count;
            }
            slot = new Slot<>(inherited, empty.emptyLike());
            tracked.put(name, slot);
        }
        slot.count++;
        return slot.stats;
    }

    /** The slot with the smallest Space-Saving count; of equal counts, the one with the largest name. */
    private Map.Entry<String, Slot<A>> smallest() {
        Map.Entry<String, Slot<A>> min = null;
        for (Map.Entry<String, Slot<A>> e : tracked.entrySet()) {
            if (min == null || e.getValue().count < min.getValue().count
                    || (e.getValue().count == min.getValue().count && e.getKey().compareTo(min.getKey()) > 0)) {
                min = e;
            }
        }
        return min;
    }

    /**
     * The busiest sources by items held (at most {@link #top()} of them, most items first, ties by name), then
     * {@value #OTHER} with the items of every other source; sources without items are left out (so is
     * {@value #OTHER} when it has none). The per-source accumulators are this object's own (do not add to them);
     * {@value #OTHER}'s is a new one.
     */
    public Map<String, A> bySource() {
        List<Map.Entry<String, Slot<A>>> ranked = new ArrayList<>(tracked.entrySet());
        ranked.sort(Comparator.<Map.Entry<String, Slot<A>>>comparingLong(e -> -e.getValue().stats.count())
                .thenComparing(Map.Entry::getKey));
        Map<String, A> out = new LinkedHashMap<>();
        A rest = other.emptyLike().merge(other);
        for (Map.Entry<String, Slot<A>> e : ranked) {
            if (out.size() < top && e.getValue().stats.count() > 0) {
                out.put(e.getKey(), e.getValue().stats);
            } else {
                rest.merge(e.getValue().stats);
            }
        }
        if (rest.count() > 0) {
            out.put(OTHER, rest);
        }
        return Collections.unmodifiableMap(out);
    }

    /** Items counted, over all sources and {@value #OTHER}. */
    public long count() {
        long n = other.count();
        for (Slot<A> s : tracked.values()) {
            n += s.stats.count();
        }
        return n;
    }

    /**
     * Adds {@code o}'s sources to this one (see the class comment) and returns this.
     *
     * @throws IllegalArgumentException if the two report a different number of sources
     */
    public TopSources<A> merge(TopSources<A> o) {
        if (o.top != top) {
            throw new IllegalArgumentException("cannot merge the " + o.top + " busiest sources into the " + top
                    + " busiest");
        }
        for (Map.Entry<String, Slot<A>> e : o.tracked.entrySet()) {
            Slot<A> mine = tracked.get(e.getKey());
            if (mine == null) {
                tracked.put(e.getKey(), new Slot<>(e.getValue().count, empty.emptyLike().merge(e.getValue().stats)));
            } else {
                mine.count += e.getValue().count;
                mine.stats.merge(e.getValue().stats);
            }
        }
        other.merge(o.other);
        while (tracked.size() > slots) {
            Map.Entry<String, Slot<A>> min = smallest();
            tracked.remove(min.getKey());
            other.merge(min.getValue().stats);
        }
        return this;
    }

    /** An independent copy. */
    public TopSources<A> copy() {
        return new TopSources<>(top, empty).merge(this);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TopSources<?> t && top == t.top && tracked.equals(t.tracked) && other.equals(t.other);
    }

    @Override
    public int hashCode() {
        return tracked.keySet().hashCode() * 31 + Long.hashCode(other.count());
    }

    /** A source's Space-Saving count (an upper bound of its items) and its accumulator. */
    private static final class Slot<A extends MergeableStats<A>> implements Serializable {
        private static final long serialVersionUID = 1L;
        long count;
        final A stats;

        Slot(long count, A stats) {
            this.count = count;
            this.stats = stats;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Slot<?> s && count == s.count && stats.equals(s.stats);
        }

        @Override
        public int hashCode() {
            return Long.hashCode(count);
        }
    }
}
