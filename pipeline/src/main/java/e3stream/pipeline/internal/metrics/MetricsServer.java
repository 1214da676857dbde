package e3stream.pipeline.internal.metrics;

import java.io.IOException;
import java.net.InetSocketAddress;

import io.prometheus.client.CollectorRegistry;
import io.prometheus.client.exporter.HTTPServer;
import io.prometheus.client.hotspot.DefaultExports;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.apache.flink.annotation.Internal;

/**
 * The JVM's Prometheus endpoint ({@code http://host:port/metrics}, default registry): started by the first operator
 * that asks, shared by all later ones; {@link #stop()} closes it (its socket and threads), which the job does when
 * its class loader is released ({@code e3stream.pipeline.internal.JvmStatics}), else it ends with the JVM (daemon threads).
 * Thread-safe.
 */
@Internal
public final class MetricsServer {

    private static final Logger LOG = LoggerFactory.getLogger(MetricsServer.class);

    private static HTTPServer server;
    private static int port = -1;

    private MetricsServer() {
    }

    /**
     * Serves the default registry on the first free port of {@code ports} unless this JVM already serves it;
     * {@link PortRange#NONE} does nothing. Ports taken (several TaskManagers on one host, each taking the next port
     * of the range) are skipped; when all are taken that is logged, not fatal: the job must not fail because of its
     * metrics endpoint.
     *
     * @return the port served, or -1
     */
    public static int ensureStarted(PortRange ports) {
        return ensureStarted(ALL_INTERFACES, ports);
    }

    /** {@code metrics.bind-address}'s default: every interface of the host. */
    public static final String ALL_INTERFACES = "0.0.0.0";

    /**
     * As {@link #ensureStarted(PortRange)}, listening on {@code bindAddress} only ({@value #ALL_INTERFACES}: all
     * interfaces; {@code 127.0.0.1} or {@code localhost}: this host only). An address that is not this host's is
     * logged, not fatal.
     */
    public static synchronized int ensureStarted(String bindAddress, PortRange ports) {
        if (server != null) {
            return port;
        }
        if (ports.isNone()) {
            return -1;
        }
        if (new InetSocketAddress(bindAddress, 0).isUnresolved()) {
            LOG.warn("metrics.bind-address '{}' does not resolve on this host; this JVM serves no Prometheus endpoint",
                    bindAddress);
            return -1;
        }
        DefaultExports.initialize();
        IOException last = null;
        for (int p = ports.from(); p <= ports.to(); p++) {
            try {
                server = new HTTPServer(new InetSocketAddress(bindAddress, p), CollectorRegistry.defaultRegistry, true);
                port = server.getPort();
                LOG.info("Prometheus metrics on http://{}:{}/metrics (metrics.bind-address {}, metrics.port {})",
                        ALL_INTERFACES.equals(bindAddress) ? "localhost" : bindAddress, port, bindAddress, ports);
                return port;
            } catch (IOException e) {
                // BindException: another JVM on this host (or anything else) has it; try the next one
                last = e;
            }
        }
        LOG.warn("metrics.port {}: no port of it is available (last: {}); this JVM serves no Prometheus endpoint. "
                + "Give a range with at least one port per JVM on this host (e.g. one per TaskManager).", ports,
                last == null ? "none" : last.toString());
        return -1;
    }

    /** The port served now, or -1. */
    public static synchronized int port() {
        return port;
    }

    /** Stops the endpoint, freeing its port and threads; a later {@link #ensureStarted} starts it again. */
    public static synchronized void stop() {
        if (server != null) {
            server.close();
            server = null;
            port = -1;
        }
    }
}
