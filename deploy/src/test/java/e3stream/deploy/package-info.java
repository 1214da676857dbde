/**
 * Tests of the deployment artefacts under {@code deploy/}: Prometheus alert rules run through {@code promtool}, the
 * Grafana dashboard's structure and metric names, the compose and Kubernetes manifests (offline schema checks), and
 * the local multi-process cluster scripts against real Kafka, Flink and Prometheus processes.
 */
package e3stream.deploy;
