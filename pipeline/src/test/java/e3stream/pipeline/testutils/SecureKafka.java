package e3stream.pipeline.testutils;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import e3stream.pipeline.embedded.EmbeddedKafka;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ScramCredentialInfo;
import org.apache.kafka.clients.admin.ScramMechanism;
import org.apache.kafka.clients.admin.UserScramCredentialUpsertion;
import org.apache.kafka.common.errors.SaslAuthenticationException;

/**
 * An in-process broker with, beside PLAINTEXT, an {@code SSL} listener that requires a client certificate (mutual
 * TLS) and a {@code SASL_SSL} listener (SCRAM-SHA-512 over TLS, user {@link #USER}), with keys and certificates made
 * by the JDK's {@code keytool} in a folder of the caller's (PKCS12; nothing committed): a self-signed broker
 * certificate for 127.0.0.1 (host name verification stays on in the clients) and a self-signed client certificate,
 * each trusted by the other side. Passwords are drawn anew on each start. The broker enforces ACLs on the resources
 * that have some (the others stay open); PLAINTEXT clients are super users.
 *
 * <pre>{@code
 * try (SecureKafka kafka = SecureKafka.start(tempDir)) {
 *     Properties tls = ...; tls.putAll(kafka.tlsClient()); // security.protocol=SSL, truststore, keystore
 *     String servers = kafka.broker().bootstrapServers("SSL");
 * }
 * }</pre>
 */
public final class SecureKafka implements AutoCloseable {

    /** The SCRAM user the SASL_SSL listener knows. */
    public static final String USER = "e3-job";

    private final EmbeddedKafka broker;
    private final Path dir;
    private final String storePassword;
    private final String userPassword;

    private SecureKafka(EmbeddedKafka broker, Path dir, String storePassword, String userPassword) {
        this.broker = broker;
        this.dir = dir;
        this.storePassword = storePassword;
        this.userPassword = userPassword;
    }

    /** Makes the keys and certificates in {@code dir}, starts the broker and creates the SCRAM user. */
    public static SecureKafka start(Path dir) throws Exception {
        String storePassword = UUID.randomUUID().toString();
        String userPassword = UUID.randomUUID().toString();
        makeCertificates(dir, storePassword);
        Map<String, String> props = new LinkedHashMap<>();
        props.put("ssl.keystore.location", dir.resolve("broker.p12").toString());
        props.put("ssl.keystore.password", storePassword);
        props.put("ssl.keystore.type", "PKCS12");
        props.put("ssl.truststore.location", dir.resolve("broker-truststore.p12").toString());
        props.put("ssl.truststore.password", storePassword);
        props.put("ssl.truststore.type", "PKCS12");
        props.put("listener.name.ssl.ssl.client.auth", "required");
        props.put("listener.name.sasl_ssl.ssl.client.auth", "none");
        props.put("sasl.enabled.mechanisms", "SCRAM-SHA-512");
        props.put("listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config",
                "org.apache.kafka.common.security.scram.ScramLoginModule required;");
        // ACLs are enforced: a resource without ACLs stays open to every client, one with ACLs only to those they
        // name; the PLAINTEXT listener (the broker itself, its controller and the tests' fixtures) is a super user.
        props.put("authorizer.class.name", "org.apache.kafka.metadata.authorizer.StandardAuthorizer");
        props.put("allow.everyone.if.no.acl.found", "true");
        props.put("super.users", "User:ANONYMOUS");
        EmbeddedKafka broker = EmbeddedKafka.start(List.of("SSL", "SASL_SSL"), props);
        SecureKafka kafka = new SecureKafka(broker, dir, storePassword, userPassword);
        try {
            kafka.createScramUser();
        } catch (Exception e) {
            broker.close();
            throw e;
        }
        return kafka;
    }

    public EmbeddedKafka broker() {
        return broker;
    }

    /** The SCRAM password of {@link #USER}. */
    public String userPassword() {
        return userPassword;
    }

    /** The password of every keystore and truststore made here. */
    public String storePassword() {
        return storePassword;
    }

    /** The clients' truststore: it holds the broker's certificate. */
    public Path clientTruststore() {
        return dir.resolve("client-truststore.p12");
    }

    /** Kafka client properties for the SSL listener: the broker trusted, and a client certificate to show it. */
    public Map<String, String> tlsClient() {
        Map<String, String> p = new LinkedHashMap<>();
        p.put("security.protocol", "SSL");
        p.put("ssl.truststore.location", clientTruststore().toString());
        p.put("ssl.truststore.password", storePassword);
        p.put("ssl.truststore.type", "PKCS12");
        p.put("ssl.keystore.location", dir.resolve("client.p12").toString());
        p.put("ssl.keystore.password", storePassword);
        p.put("ssl.keystore.type", "PKCS12");
        return p;
    }

    /**
     * Kafka client properties for the SASL_SSL listener as {@link #USER}, with {@code password} (the real one, a
     * wrong one, or a config-provider reference) in the JAAS configuration and {@code truststorePassword} likewise.
     */
    public Map<String, String> saslClient(String password, String truststorePassword) {
        Map<String, String> p = new LinkedHashMap<>();
        p.put("security.protocol", "SASL_SSL");
        p.put("sasl.mechanism", "SCRAM-SHA-512");
        p.put("sasl.jaas.config", "org.apache.kafka.common.security.scram.ScramLoginModule required username=\""
                + USER + "\" password=\"" + password + "\";");
        p.put("ssl.truststore.location", clientTruststore().toString());
        p.put("ssl.truststore.password", truststorePassword);
        p.put("ssl.truststore.type", "PKCS12");
        return p;
    }

    /**
     * Creates the SCRAM credential through the PLAINTEXT listener, then waits until the SASL_SSL listener accepts
     * it: the broker learns new credentials from the metadata log a moment after the controller took them.
     */
    private void createScramUser() throws Exception {
        try (Admin plain = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers()))) {
            plain.alterUserScramCredentials(List.of(new UserScramCredentialUpsertion(USER,
                    new ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 4096), userPassword))).all().get(30, TimeUnit.SECONDS);
        }
        Map<String, Object> sasl = new LinkedHashMap<>(saslClient(userPassword, storePassword));
        sasl.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers("SASL_SSL"));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (true) {
            try (Admin admin = Admin.create(sasl)) {
                admin.describeCluster().nodes().get(30, TimeUnit.SECONDS);
                return;
            } catch (ExecutionException e) {
                if (!(e.getCause() instanceof SaslAuthenticationException) || System.nanoTime() > deadline) {
                    throw e;
                }
            }
            Thread.sleep(100);
        }
    }

    /**
     * keytool, in three rounds of two processes each: key pairs with self-signed certificates (the broker's for
     * 127.0.0.1), their certificates exported, each imported into the other side's truststore.
     */
    private static void makeCertificates(Path dir, String password) throws IOException, InterruptedException {
        Files.createDirectories(dir);
        String[] store = {"-storetype", "PKCS12", "-storepass", password};
        keytool(dir, List.of(
                concat(List.of("-genkeypair", "-alias", "broker", "-keyalg", "EC", "-groupname", "secp256r1",
                        "-dname", "CN=localhost", "-ext", "SAN=ip:127.0.0.1,dns:localhost", "-validity", "2",
                        "-keystore", "broker.p12"), store),
                concat(List.of("-genkeypair", "-alias", "client", "-keyalg", "EC", "-groupname", "secp256r1",
                        "-dname", "CN=" + USER, "-validity", "2", "-keystore", "client.p12"), store)));
        keytool(dir, List.of(
                concat(List.of("-exportcert", "-rfc", "-alias", "broker", "-keystore", "broker.p12", "-file",
                        "broker.pem"), store),
                concat(List.of("-exportcert", "-rfc", "-alias", "client", "-keystore", "client.p12", "-file",
                        "client.pem"), store)));
        keytool(dir, List.of(
                concat(List.of("-importcert", "-noprompt", "-alias", "broker", "-file", "broker.pem", "-keystore",
                        "client-truststore.p12"), store),
                concat(List.of("-importcert", "-noprompt", "-alias", "client", "-file", "client.pem", "-keystore",
                        "broker-truststore.p12"), store)));
    }

    private static List<String> concat(List<String> a, String[] b) {
        List<String> out = new ArrayList<>(a);
        out.addAll(List.of(b));
        return out;
    }

    /** Runs the keytool commands side by side in {@code dir}; throws with keytool's output if one fails. */
    private static void keytool(Path dir, List<List<String>> commands) throws IOException, InterruptedException {
        String keytool = Path.of(System.getProperty("java.home"), "bin", "keytool").toString();
        List<Process> running = new ArrayList<>();
        for (List<String> args : commands) {
            List<String> command = new ArrayList<>(List.of(keytool, "-J-XX:TieredStopAtLevel=1")); // starts faster
            command.addAll(args);
            running.add(new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start());
        }
        for (int i = 0; i < running.size(); i++) {
            Process p = running.get(i);
            String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
                p.destroyForcibly();
                throw new IOException("keytool " + commands.get(i).get(0) + " failed: " + output);
            }
        }
    }

    @Override
    public void close() {
        broker.close();
    }
}
