import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;
import java.util.zip.GZIPInputStream;
import javax.imageio.ImageIO;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Replays images of an idx file (Fashion-MNIST / MNIST format, gzip) into Kafka as E3 image events (PNG, JSON per
 * docs/design.md, "Events and snapshots"), and their labels into the labels topic, optionally mixing in malformed
 * events (which the job must dead-letter). An independent client: it needs only kafka-clients (with slf4j-api) and a
 * JDK, not the pipeline's code.
 *
 * <pre>
 * java -cp 'deploy/local/lib/kafka/*' ReplayProducer.java     (kafka-clients and slf4j-api on the class path) --bootstrap-servers 127.0.0.1:19092 \
 *     --images data/fashion-mnist-test-2000-images-idx3-ubyte.gz --labels data/fashion-mnist-test-2000-labels-idx1-ubyte.gz \
 *     [--count 2000] [--rate 200 (events/s; 0 = as fast as it can)] [--malformed-every 50] [--id-prefix run1-] [--loop]
 * </pre>
 * Prints one line per 500 events and a summary (events, malformed, labels). Ids are {@code <prefix><n>}.
 */
public class ReplayProducer {

    public static void main(String[] args) throws Exception {
        Map<String, String> opts = new HashMap<>(Map.of("--count", "2000", "--rate", "200", "--malformed-every", "0",
                "--id-prefix", "img-", "--images-topic", "images", "--labels-topic", "labels", "--source", "replay"));
        boolean loop = false;
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--loop")) {
                loop = true;
            } else if (args[i].startsWith("--") && i + 1 < args.length) {
                opts.put(args[i], args[++i]);
            } else {
                throw new IllegalArgumentException("unknown argument " + args[i] + "; see the class comment for usage");
            }
        }
        String bootstrap = require(opts, "--bootstrap-servers");
        byte[][] images = readImages(Path.of(require(opts, "--images")));
        int[] labels = opts.containsKey("--labels") ? readLabels(Path.of(opts.get("--labels"))) : null;
        int count = Integer.parseInt(opts.get("--count"));
        double rate = Double.parseDouble(opts.get("--rate"));
        int malformedEvery = Integer.parseInt(opts.get("--malformed-every"));
        String prefix = opts.get("--id-prefix");

        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        p.put(ProducerConfig.LINGER_MS_CONFIG, "5");
        if (rate <= 0) { // as fast as it can: large batches, so that the broker's round trips do not set the pace
            p.put(ProducerConfig.LINGER_MS_CONFIG, "20");
            p.put(ProducerConfig.BATCH_SIZE_CONFIG, Integer.toString(256 * 1024));
        }
        int sent = 0, malformed = 0, labelled = 0;
        String[] encoded = new String[images.length];
        long start = System.nanoTime();
        try (KafkaProducer<String, byte[]> producer =
                     new KafkaProducer<>(p, new StringSerializer(), new ByteArraySerializer())) {
            do {
                for (int n = 0; n < count; n++) {
                    String id = prefix + sent;
                    byte[] value;
                    if (malformedEvery > 0 && (sent + 1) % malformedEvery == 0) {
                        // alternate two kinds of bad input: not JSON at all, and a PNG that is not a PNG
                        value = (malformed % 2 == 0)
                                ? ("not json " + id).getBytes(StandardCharsets.UTF_8)
                                : event(id, "image/png", "bm90IGEgcG5n", opts.get("--source"));
                        malformed++;
                    } else {
                        int index = n % images.length;
                        if (encoded[index] == null) { // each image encoded once: a fast producer can overload the job
                            encoded[index] = Base64.getEncoder().encodeToString(png(images[index]));
                        }
                        value = event(id, "image/png", encoded[index], opts.get("--source"));
                        if (labels != null) {
                            String label = "{\"id\":\"" + id + "\",\"label\":" + labels[index] + ",\"timestamp\":"
                                    + System.currentTimeMillis() + "}";
                            producer.send(new ProducerRecord<>(opts.get("--labels-topic"), id,
                                    label.getBytes(StandardCharsets.UTF_8)));
                            labelled++;
                        }
                    }
                    producer.send(new ProducerRecord<>(opts.get("--images-topic"), id, value));
                    sent++;
                    if (sent % 500 == 0) {
                        System.out.println("sent " + sent + " events (" + malformed + " malformed)");
                    }
                    if (rate > 0) {
                        long due = start + (long) (sent * 1e9 / rate);
                        long wait = due - System.nanoTime();
                        if (wait > 0) {
                            Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
                        }
                    }
                }
            } while (loop);
            producer.flush();
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        System.out.printf(java.util.Locale.ROOT, "done: %d events, %d malformed, %d labels in %.2f s (%.0f events/s)%n",
                sent, malformed, labelled, seconds, sent / seconds);
    }

    private static String require(Map<String, String> opts, String key) {
        String v = opts.get(key);
        if (v == null) {
            throw new IllegalArgumentException(key + " is required");
        }
        return v;
    }

    private static byte[] event(String id, String contentType, String base64, String source) {
        String json = "{\"id\":\"" + id + "\",\"timestamp\":" + System.currentTimeMillis() + ",\"source\":\"" + source
                + "\",\"content_type\":\"" + contentType + "\",\"image\":\"" + base64 + "\"}";
        return json.getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] png(byte[] pixels) throws IOException {
        BufferedImage image = new BufferedImage(28, 28, BufferedImage.TYPE_BYTE_GRAY);
        int[] row = new int[28];
        for (int y = 0; y < 28; y++) {
            for (int x = 0; x < 28; x++) {
                row[x] = pixels[y * 28 + x] & 0xff;
            }
            image.getRaster().setPixels(0, y, 28, 1, row);
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream(1024);
        ImageIO.write(image, "png", out);
        return out.toByteArray();
    }

    private static byte[][] readImages(Path file) throws IOException {
        try (DataInputStream in = new DataInputStream(open(file))) {
            if (in.readInt() != 0x803) {
                throw new IOException(file + " is not an idx3 image file");
            }
            int n = in.readInt(), rows = in.readInt(), cols = in.readInt();
            if (rows != 28 || cols != 28) {
                throw new IOException(file + ": expected 28x28 images, found " + rows + "x" + cols);
            }
            byte[][] images = new byte[n][rows * cols];
            for (byte[] image : images) {
                in.readFully(image);
            }
            return images;
        }
    }

    private static int[] readLabels(Path file) throws IOException {
        try (DataInputStream in = new DataInputStream(open(file))) {
            if (in.readInt() != 0x801) {
                throw new IOException(file + " is not an idx1 label file");
            }
            int[] labels = new int[in.readInt()];
            for (int i = 0; i < labels.length; i++) {
                labels[i] = in.readUnsignedByte();
            }
            return labels;
        }
    }

    private static InputStream open(Path file) throws IOException {
        InputStream in = Files.newInputStream(file);
        return file.toString().endsWith(".gz") ? new GZIPInputStream(in, 1 << 16) : in;
    }
}
