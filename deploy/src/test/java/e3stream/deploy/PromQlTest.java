package e3stream.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Set;
import org.junit.jupiter.api.Test;

class PromQlTest {

    @Test
    void findsMetricsInsideFunctionsAggregationsAndBinaryOperators() {
        assertEquals(Set.of("e3_events_total"), PromQl.metricNames(
                "sum by (outcome) (rate(e3_events_total{outcome=\"dead_letter\",job=~\"e3.*\"}[$__rate_interval]))"));
        assertEquals(Set.of("e3_inference_batch_size_sum", "e3_inference_batch_size_count"), PromQl.metricNames(
                "sum(rate(e3_inference_batch_size_sum[1m])) / sum(rate(e3_inference_batch_size_count[1m]))"));
        assertEquals(Set.of("e3_event_latency_seconds_bucket"), PromQl.metricNames(
                "histogram_quantile(0.99, sum by (le) (rate(e3_event_latency_seconds_bucket[5m])))"));
    }

    @Test
    void ignoresLabelsKeywordsNumbersDurationsAndOffsets() {
        assertEquals(Set.of("a_metric", "b_metric"), PromQl.metricNames(
                "(a_metric > 2 * max by (job) (b_metric)) and on (job) (a_metric - 1e-3 > 0.10) "
                        + "or rate(a_metric[1h] offset 10m) * 0 unless ignoring(instance) b_metric"));
        assertEquals(Set.of("flink_taskmanager_job_task_operator_pendingRecords"), PromQl.metricNames(
                "sum by (job_name) (deriv(flink_taskmanager_job_task_operator_pendingRecords[10m:1m])) > 0"));
        assertEquals(Set.of("e3_events_total"), PromQl.metricNames("absent(e3_events_total)"));
    }
}
