package e3stream.pipeline.metrics;

import java.io.IOException;
import java.net.InetSocketAddress;

import io.prometheus.client.CollectorRegistry;
import io.prometheus.client.exporter.HTTPServer;
import io.prometheus.client.hotspot.DefaultExports;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The JVM's Prometheus endpoint ({@code http://host:port/metrics}, default registry): started by the first operator
 * that asks, shared by all later ones, stopped with the JVM (daemon thread). Thread-safe.
 */
public final class MetricsServer {

    private static final Logger LOG = LoggerFactory.getLogger(MetricsServer.class);

    private static HTTPServer server;
    private static int port = -1;

    private MetricsServer() {
    }

    /**
     * Serves the default registry on {@code requestedPort} unless this JVM already serves it; 0 does nothing.
     * A port that is taken is logged, not fatal: the job must not fail because two TaskManagers share a host.
     *
     * @return the port served, or -1
     */
    public static synchronized int ensureStarted(int requestedPort) {
        if (server != null) {
            return port;
        }
        if (requestedPort == 0) {
            return -1;
        }
        try {
            DefaultExports.initialize();
            server = new HTTPServer(new InetSocketAddress(requestedPort), CollectorRegistry.defaultRegistry, true);
            port = server.getPort();
            LOG.info("Prometheus metrics on http://localhost:{}/metrics", port);
        } catch (IOException e) {
            LOG.warn("metrics.port {} is not available ({}); this JVM serves no Prometheus endpoint", requestedPort,
                    e.toString());
            return -1;
        }
        return port;
    }

    /** Stops the endpoint (embedded use: the demo and tests). */
    public static synchronized void stop() {
        if (server != null) {
            server.close();
            server = null;
            port = -1;
        }
    }
}
