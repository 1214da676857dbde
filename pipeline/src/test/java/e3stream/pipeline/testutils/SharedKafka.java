package e3stream.pipeline.testutils;

import e3stream.pipeline.embedded.EmbeddedKafka;

/** One in-process broker for all test classes of this JVM (each test uses its own topic prefix); stopped at exit. */
public final class SharedKafka {

    private static EmbeddedKafka kafka;

    private SharedKafka() {
    }

    public static synchronized EmbeddedKafka get() throws Exception {
        if (kafka == null) {
            kafka = EmbeddedKafka.start();
            EmbeddedKafka k = kafka;
            Runtime.getRuntime().addShutdownHook(new Thread(k::close, "embedded-kafka-stop"));
        }
        return kafka;
    }

    /** Creates the six topics of a test, named {@code prefix + default name}, with two partitions each. */
    public static void createTopics(String prefix) throws Exception {
        get().createTopics(2, prefix + "images", prefix + "labels", prefix + "predictions", prefix + "review",
                prefix + "images-dlq", prefix + "calibration");
    }
}
