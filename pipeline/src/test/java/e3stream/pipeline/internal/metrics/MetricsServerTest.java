package e3stream.pipeline.internal.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The JVM's endpoint on real sockets: which port of a {@code metrics.port} range it takes, and when it takes none. */
class MetricsServerTest {

    @BeforeEach
    @AfterEach
    void noEndpoint() {
        MetricsServer.stop();
    }

    @Test
    void takesTheNextPortOfTheRangeWhenAnotherProcessHasTheFirst() throws Exception {
        int first = freeConsecutivePorts(3);
        try (ServerSocket otherJvm = new ServerSocket(first)) { // e.g. the first TaskManager on this host
            int served = MetricsServer.ensureStarted(PortRange.parse(first + "-" + (first + 2)));
            assertEquals(first + 1, served);
            HttpResponse<String> scrape = scrape(served);
            assertEquals(200, scrape.statusCode());
            assertTrue(scrape.body().contains("e3_events_total"), "the job's metrics are served:\n" + scrape.body());
            // later operators of this JVM share the endpoint; nothing else of the range is taken
            assertEquals(served, MetricsServer.ensureStarted(PortRange.parse(first + "-" + (first + 2))));
            assertFalse(listening(first + 2), "port " + (first + 2) + " left free for a third JVM");
        }
    }

    @Test
    void servesNoneWhenEveryPortOfTheRangeIsTakenAndStartsOnceOneIsFree() throws Exception {
        int first = freeConsecutivePorts(2);
        PortRange range = PortRange.parse(first + "-" + (first + 1));
        try (ServerSocket a = new ServerSocket(first); ServerSocket b = new ServerSocket(first + 1)) {
            assertEquals(-1, MetricsServer.ensureStarted(range), "all taken: no endpoint, and no exception");
        }
        // not stuck in the failed state: a later operator (e.g. after a restart) gets the freed port
        assertEquals(first, MetricsServer.ensureStarted(range));
        assertEquals(200, scrape(first).statusCode());
    }

    @Test
    void bindAddressLoopbackServesThisHostOnlyAndAllInterfacesServesTheOthers() throws Exception {
        java.net.InetAddress external = nonLoopbackAddress();
        int port = freeConsecutivePorts(1);
        assertEquals(port, MetricsServer.ensureStarted("127.0.0.1", PortRange.parse(Integer.toString(port))));
        assertEquals(200, scrape(port).statusCode());
        if (external != null) {
            assertFalse(listening(external, port), "bound to 127.0.0.1: not reachable on " + external);
        }
        MetricsServer.stop();
        assertFalse(listening(java.net.InetAddress.getLoopbackAddress(), port), "stop() frees the port");
        assertEquals(port, MetricsServer.ensureStarted(MetricsServer.ALL_INTERFACES, PortRange.parse(Integer.toString(port))));
        assertEquals(200, scrape(port).statusCode());
        if (external != null) {
            assertTrue(listening(external, port), "bound to 0.0.0.0: reachable on " + external);
        }
    }

    @Test
    void anUnresolvableBindAddressServesNoneWithoutFailing() {
        assertEquals(-1, MetricsServer.ensureStarted("no-such-host.invalid", PortRange.parse("9464")));
        assertEquals(-1, MetricsServer.port());
    }

    /** An address of this host other than loopback, or null when it has none. */
    private static java.net.InetAddress nonLoopbackAddress() throws Exception {
        for (var nic : java.util.Collections.list(java.net.NetworkInterface.getNetworkInterfaces())) {
            if (!nic.isUp() || nic.isLoopback()) {
                continue;
            }
            for (var address : java.util.Collections.list(nic.getInetAddresses())) {
                if (address instanceof java.net.Inet4Address && !address.isLoopbackAddress()) {
                    return address;
                }
            }
        }
        return null;
    }

    private static boolean listening(java.net.InetAddress address, int port) {
        try (Socket s = new Socket()) {
            s.connect(new java.net.InetSocketAddress(address, port), 2000);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    @Test
    void zeroServesNothing() {
        assertEquals(-1, MetricsServer.ensureStarted(PortRange.NONE));
    }

    private static HttpResponse<String> scrape(int port) throws Exception {
        PipelineMetrics.get(); // the job's collectors are registered when the class is first used
        return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics"))
                .timeout(Duration.ofSeconds(20)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private static boolean listening(int port) {
        try (Socket s = new Socket("127.0.0.1", port)) {
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /** A port p such that p..p+count-1 are all free now. */
    private static int freeConsecutivePorts(int count) throws IOException {
        for (int attempt = 0; attempt < 50; attempt++) {
            int port;
            try (ServerSocket s = new ServerSocket(0)) {
                port = s.getLocalPort();
            }
            if (port + count - 1 > 65535) {
                continue;
            }
            boolean free = true;
            for (int p = port; p < port + count && free; p++) {
                try (ServerSocket s = new ServerSocket(p)) {
                    s.getLocalPort();
                } catch (IOException e) {
                    free = false;
                }
            }
            if (free) {
                return port;
            }
        }
        throw new IllegalStateException("no " + count + " consecutive free ports found");
    }
}
