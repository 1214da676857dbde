package e3stream.pipeline.demo;

import e3stream.pipeline.embedded.ImageEvents;
import java.util.concurrent.DelayQueue;
import java.util.concurrent.Delayed;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;

/** Publishes labels {@code delayMs} after their image, from its own thread. */
final class LabelSender extends Thread {
    private record Pending(String id, int label, long due) implements Delayed {
        @Override
        public long getDelay(TimeUnit unit) {
            return unit.convert(due - System.currentTimeMillis(), TimeUnit.MILLISECONDS);
        }

        @Override
        public int compareTo(Delayed o) {
            return Long.compare(due, ((Pending) o).due);
        }
    }

    private final DelayQueue<Pending> queue = new DelayQueue<>();
    private final KafkaProducer<byte[], byte[]> producer;
    private final long delayMs;
    private volatile boolean draining;

    LabelSender(KafkaProducer<byte[], byte[]> producer, long delayMs) {
        super("demo-labels");
        setDaemon(true);
        this.producer = producer;
        this.delayMs = delayMs;
    }

    void later(String id, int label) {
        queue.add(new Pending(id, label, System.currentTimeMillis() + delayMs));
    }

    @Override
    public void run() {
        try {
            while (!(draining && queue.isEmpty())) {
                Pending p = queue.poll(100, TimeUnit.MILLISECONDS);
                if (p != null) {
                    long ts = p.due - delayMs;
                    producer.send(new ProducerRecord<>("labels", null, ts, p.id.getBytes(java.nio.charset.StandardCharsets.UTF_8),
                            ImageEvents.labelEvent(p.id, p.label, ts)));
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    void drain() throws InterruptedException {
        draining = true;
        join();
    }
}
