package e3stream.runtime.triage;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import e3stream.runtime.triage.TriageDecision.Decision;
import e3stream.runtime.uncertainty.Uncertainty;
import java.util.List;
import org.junit.jupiter.api.Test;

class TriagePolicyTest {

    /** An uncertainty with the given probabilities and MI; entropy is computed, the rest does not matter here. */
    private static Uncertainty u(double mi, double... p) {
        int best = 0;
        double h = 0;
        for (int c = 0; c < p.length; c++) {
            best = p[c] > p[best] ? c : best;
            h -= p[c] > 0 ? p[c] * Math.log(p[c]) : 0;
        }
        return new Uncertainty(p, best, p[best], 0, h, h - mi, mi, 0);
    }

    @Test
    void acceptsConfidentFamiliarUnambiguousItemsAtTheBoundaries() {
        TriagePolicy policy = new TriagePolicy(new TriageConfig(0.9, null, 0.05,
                new ConformalConfig(ConformalMethod.LAC, 0.05, 0.5)));
        TriageDecision d = policy.decide(u(0.05, 0.9, 0.05, 0.05)); // confidence == min, MI == max: accepted
        assertEquals(new TriageDecision(Decision.ACCEPT, List.of(), new int[] {0}), d);
        assertEquals("accept", d.decision().wireName());
    }

    @Test
    void reportsEveryReasonThatFiredInOrder() {
        TriagePolicy policy = new TriagePolicy(new TriageConfig(0.9, 0.5, 0.05,
                new ConformalConfig(ConformalMethod.LAC, 0.05, 0.7)));
        TriageDecision d = policy.decide(u(0.2, 0.1, 0.5, 0.4));
        assertEquals(Decision.REVIEW, d.decision());
        assertEquals(List.of("low_confidence", "high_epistemic", "high_entropy", "ambiguous_set"), d.reasons());
        assertArrayEquals(new int[] {1, 2}, d.predictionSet());
    }

    @Test
    void emptyConformalSetGoesToReview() {
        TriagePolicy policy = new TriagePolicy(new TriageConfig(0.0, null, null,
                new ConformalConfig(ConformalMethod.LAC, 0.05, 0.5)));
        TriageDecision d = policy.decide(u(0, 0.4, 0.3, 0.3));
        assertEquals(new TriageDecision(Decision.REVIEW, List.of("empty_set"), new int[0]), d);
    }

    @Test
    void withoutConformalTheSetIsThePredictedClass() {
        TriagePolicy policy = new TriagePolicy(new TriageConfig(0.5, null, null, null));
        assertEquals(new TriageDecision(Decision.ACCEPT, List.of(), new int[] {2}), policy.decide(u(0, 0.2, 0.2, 0.6)));
        assertEquals(new TriageDecision(Decision.REVIEW, List.of("low_confidence"), new int[] {0}),
                policy.decide(u(0, 0.4, 0.3, 0.3)));
    }

    @Test
    void decisionRefusesAcceptWithReasons() {
        assertThrows(IllegalArgumentException.class,
                () -> new TriageDecision(Decision.ACCEPT, List.of("low_confidence"), new int[] {0}));
    }
}
