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
        createTopics(prefix, 2);
    }

    /** As {@link #createTopics(String)}, with {@code inputPartitions} partitions of the images and labels topics. */
    public static void createTopics(String prefix, int inputPartitions) throws Exception {
        get().createTopics(inputPartitions, prefix + "images", prefix + "labels");
        get().createTopics(2, prefix + "predictions", prefix + "review", prefix + "images-dlq", prefix + "calibration");
    }
}
