package e3stream.runtime.stats;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;

class ReferenceDistributionsTest {

    private static double[] range(int n) {
        double[] v = new double[n];
        for (int i = 0; i < n; i++) {
            v[i] = i;
        }
        return v;
    }

    @Test
    void samplesGiveNumpyPercentilesDecileEdgesAndBinShares() {
        SignalReference r = SignalReference.fromSamples(range(101)); // 0..100: percentile p is p
        assertArrayEquals(new double[] {10, 20, 30, 40, 50, 60, 70, 80, 90}, r.edges(), 1e-12);
        assertEquals(100.0, r.quantiles()[100], 0.0);
        assertEquals(37.0, r.quantiles()[37], 1e-12);
        // bins: (-inf,10] holds 0..10 (11 values), (10,20] holds 10 values, ..., (90,inf) holds 10
        assertEquals(11.0 / 101, r.fractions()[0], 1e-15);
        assertEquals(10.0 / 101, r.fractions()[9], 1e-15);

        SignalReference half = SignalReference.fromSamples(new double[] {0, 1}); // percentile p is p/100
        assertEquals(0.25, half.quantiles()[25], 1e-15);
    }

    @Test
    void constantSignalCollapsesToOneEdge() {
        SignalReference r = SignalReference.fromSamples(new double[] {0, 0, 0, 0});
        assertArrayEquals(new double[] {0}, r.edges(), 0.0);
        assertArrayEquals(new double[] {1, 0}, r.fractions(), 0.0);
    }

    @Test
    void binsAreUpperInclusiveAndTheCdfInterpolatesPercentiles() {
        SignalReference r = SignalReference.fromSamples(range(101));
        assertEquals(0, r.bin(10.0));
        assertEquals(1, r.bin(10.000001));
        assertEquals(9, r.bin(1e9));
        assertEquals(0.0, r.cdf(-1), 0.0);
        assertEquals(0.255, r.cdf(25.5), 1e-12);
        assertEquals(1.0, r.cdf(100), 0.0);
    }

    @Test
    void jsonRoundTripsAndBadSectionsAreRefusedByName() throws Exception {
        ReferenceDistributions ref = ReferenceDistributions.fromSamples("validation", new double[] {0.9, 0.8, 0.99},
                new double[] {0.3, 0.6, 0.05}, new double[] {0.01, 0.02, 0.0}, new int[] {0, 1, 1}, 3, 0.66, 0.33);
        ObjectNode json = ref.toJson();
        ReferenceDistributions back = ReferenceDistributions.fromJson(new ObjectMapper().readTree(json.toString()));
        assertEquals(ref, back);
        assertArrayEquals(new double[] {1.0 / 3, 2.0 / 3, 0}, back.predictedClass(), 1e-15);
        assertEquals((0.9 + 0.8 + 0.99) / 3, back.meanConfidence(), 1e-15);
        assertEquals(3, back.numClasses());

        ((ObjectNode) json.get("signals")).remove("entropy");
        IllegalArgumentException missing = assertThrows(IllegalArgumentException.class,
                () -> ReferenceDistributions.fromJson(json));
        assertEquals("reference.signals.entropy is missing; expected {edges, fractions, quantiles}",
                missing.getMessage());
        ObjectNode bad = ref.toJson();
        ((ObjectNode) bad.get("signals").get("confidence")).putArray("quantiles").add(0.5);
        IllegalArgumentException q = assertThrows(IllegalArgumentException.class,
                () -> ReferenceDistributions.fromJson(bad));
        assertEquals("reference.signals.confidence: quantiles must hold the 0th..100th percentiles (101 values), "
                + "got 1", q.getMessage());
    }
}
