package e3stream.pipeline.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Properties;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class KafkaConfigReferencesTest {

    private static Properties providers() {
        Properties p = new Properties();
        p.setProperty("config.providers", "file,env");
        p.setProperty("config.providers.file.class", "org.apache.kafka.common.config.provider.FileConfigProvider");
        p.setProperty("config.providers.env.class", "org.apache.kafka.common.config.provider.EnvVarConfigProvider");
        return p;
    }

    @Test
    void resolvesFileAndEnvironmentReferencesAsTheKafkaClientsDo(@TempDir Path dir) throws Exception {
        Path secrets = Files.writeString(dir.resolve("secrets.properties"), "password=file-secret\n");
        // any variable of this JVM's environment stands in for a secret set on the TaskManager
        Map.Entry<String, String> variable = System.getenv().entrySet().stream()
                .filter(e -> !e.getValue().isEmpty() && !e.getValue().contains("${")).findFirst().orElseThrow();
        Properties p = providers();
        p.setProperty("sasl.jaas.config", "PlainLoginModule required password=\"${file:" + secrets + ":password}\";");
        p.setProperty("ssl.truststore.password", "${env:" + variable.getKey() + "}");
        p.setProperty("client.id", "e3");
        assertEquals("PlainLoginModule required password=\"file-secret\";", KafkaConfigReferences.resolve(p, "sasl.jaas.config"));
        assertEquals(variable.getValue(), KafkaConfigReferences.resolve(p, "ssl.truststore.password"));
        assertEquals("e3", KafkaConfigReferences.resolve(p, "client.id"));
        assertNull(KafkaConfigReferences.resolve(p, "max.request.size"));
        // the properties themselves keep the references
        assertTrue(p.getProperty("sasl.jaas.config").contains("${file:"));
    }

    @Test
    void aProviderThatFailsNamesTheKey(@TempDir Path dir) {
        Properties p = providers();
        p.setProperty("max.request.size", "${file:" + dir.resolve("missing.properties") + ":size}");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> KafkaConfigReferences.resolve(p, "max.request.size"));
        assertTrue(e.getMessage().startsWith("cannot resolve the config-provider reference in max.request.size (${file:"
                + dir.resolve("missing.properties") + ":size}): "), e.getMessage());
    }
}
