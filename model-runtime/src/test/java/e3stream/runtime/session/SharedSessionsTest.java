package e3stream.runtime.session;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import e3stream.runtime.model.BundleDescription;
import e3stream.runtime.model.ExecutionOptions;
import e3stream.runtime.testutils.RepoFiles;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** JVM-wide sharing of real model sessions on the shipped e3 bundle: reference counts, idle release, healing. */
class SharedSessionsTest {

    private static final BundleDescription E3 = BundleDescription.load(RepoFiles.bundle("e3"));

    private final SharedSessions sessions = new SharedSessions(ModelSession::open);

    @AfterEach
    void closeAll() {
        sessions.closeAll();
    }

    private static SessionSpec spec(Duration idleRelease) {
        return new SessionSpec(E3, ExecutionOptions.Device.CPU, 0, 1, false, 8, Duration.ofMillis(1), 64, idleRelease);
    }

    private static float[] zeroImage() {
        return new float[E3.manifest().input().pixelsPerImage()];
    }

    @Test
    void leasesOfOneBundleShareOneLoadedSession() {
        try (SessionLease a = sessions.acquire(spec(Duration.ofSeconds(30)));
             SessionLease b = sessions.acquire(spec(Duration.ofSeconds(30)))) {
            assertSame(a.session(), b.session());
            assertEquals(1, sessions.loads());
        }
    }

    @Test
    void aSlowOpenHoldsUpOnlyTheCallersOfThatBundle() throws Exception {
        // e3's open waits for a latch, as a large model on a slow disk would; vit opens at once.
        BundleDescription vit = BundleDescription.load(RepoFiles.bundle("vit"));
        CountDownLatch e3MayOpen = new CountDownLatch(1);
        CountDownLatch e3Opening = new CountDownLatch(1);
        SharedSessions shared = new SharedSessions(spec -> {
            if (spec.bundle().equals(E3)) {
                e3Opening.countDown();
                try {
                    e3MayOpen.await();
                } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                }
            }
            return ModelSession.open(spec);
        });
        SessionSpec e3 = spec(Duration.ofSeconds(30));
        SessionSpec vitSpec = new SessionSpec(vit, ExecutionOptions.Device.CPU, 0, 1, false, 8, Duration.ofMillis(1),
                64, Duration.ofSeconds(30));
        try {
            CompletableFuture<SessionLease> first = CompletableFuture.supplyAsync(() -> shared.acquire(e3));
            assertTrue(e3Opening.await(10, TimeUnit.SECONDS));
            CompletableFuture<SessionLease> second = CompletableFuture.supplyAsync(() -> shared.acquire(e3));
            try (SessionLease other = CompletableFuture.supplyAsync(() -> shared.acquire(vitSpec))
                    .get(30, TimeUnit.SECONDS)) {
                assertEquals("vit", other.manifest().name(), "another bundle is leased while e3 still opens");
            }
            assertFalse(first.isDone() || second.isDone(), "e3's callers wait for its open");
            e3MayOpen.countDown();
            try (SessionLease a = first.get(30, TimeUnit.SECONDS); SessionLease b = second.get(30, TimeUnit.SECONDS)) {
                assertSame(a.session(), b.session(), "the waiting caller gets the session the first one opened");
                assertEquals(2, shared.loads(), "e3 and vit, each opened once");
            }
        } finally {
            e3MayOpen.countDown();
            shared.closeAll();
        }
    }

    @Test
    void whenAnOpenFailsTheCallerWaitingForItOpensTheBundleItself() throws Exception {
        CountDownLatch firstMayFail = new CountDownLatch(1);
        CountDownLatch firstOpening = new CountDownLatch(1);
        AtomicInteger attempts = new AtomicInteger();
        SharedSessions shared = new SharedSessions(spec -> {
            if (attempts.getAndIncrement() == 0) {
                firstOpening.countDown();
                try {
                    firstMayFail.await();
                } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                }
                throw new IllegalStateException("model.onnx unreadable (first try)");
            }
            return ModelSession.open(spec);
        });
        try {
            CompletableFuture<SessionLease> first = CompletableFuture.supplyAsync(() -> shared.acquire(spec(
                    Duration.ofSeconds(30))));
            assertTrue(firstOpening.await(10, TimeUnit.SECONDS));
            CompletableFuture<SessionLease> second = CompletableFuture.supplyAsync(() -> shared.acquire(spec(
                    Duration.ofSeconds(30))));
            firstMayFail.countDown();
            ExecutionException failed = assertThrows(ExecutionException.class, () -> first.get(30, TimeUnit.SECONDS));
            assertTrue(failed.getCause().getMessage().contains("first try"), failed.getCause().getMessage());
            try (SessionLease lease = second.get(30, TimeUnit.SECONDS)) {
                assertEquals(E3.manifest().classes().size(),
                        lease.session().memberLogits(zeroImage()).get(10, TimeUnit.SECONDS)[0].length);
                assertEquals(1, shared.loads());
                assertEquals(1, shared.open());
            }
        } finally {
            firstMayFail.countDown();
            shared.closeAll();
        }
    }

    @Test
    void theLastLeaseReleasesTheSessionAfterTheIdleDelayUnlessAcquiredAgain() throws Exception {
        SessionSpec spec = spec(Duration.ofMillis(300));
        ModelSession first;
        try (SessionLease lease = sessions.acquire(spec)) {
            first = lease.session();
        }
        // Acquired again within the delay (a task restart): the same session, not a second load.
        try (SessionLease again = sessions.acquire(spec)) {
            assertSame(first, again.session());
        }
        assertEquals(1, sessions.loads());
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (sessions.open() > 0 && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertEquals(0, sessions.open(), "released after the idle delay");
        assertFalse(first.isHealthy(), "the released session is closed");
        try (SessionLease later = sessions.acquire(spec)) {
            assertNotSame(first, later.session());
        }
        assertEquals(2, sessions.loads());
    }

    @Test
    void aSessionWhoseBatcherStoppedIsReplacedOnTheNextAcquire() throws Exception {
        SessionSpec spec = spec(Duration.ofSeconds(30));
        SessionLease held = sessions.acquire(spec);
        ModelSession broken = held.session();
        broken.batcher().close(); // as if its worker thread had died
        assertFalse(broken.isHealthy());
        ExecutionException failed = assertThrows(ExecutionException.class,
                () -> held.session().memberLogits(zeroImage()).get(10, TimeUnit.SECONDS));
        assertTrue(failed.getCause().getMessage().contains("closed"), failed.getCause().getMessage());

        try (SessionLease fresh = sessions.acquire(spec)) {
            assertNotSame(broken, fresh.session());
            assertTrue(fresh.session().isHealthy());
            assertEquals(E3.manifest().classes().size(),
                    fresh.session().memberLogits(zeroImage()).get(10, TimeUnit.SECONDS)[0].length);
        }
        assertEquals(2, sessions.loads());
        held.close(); // the last user of the broken one lets go: nothing else happens
        held.close();
        assertEquals(1, sessions.open());
    }

    @Test
    void aSessionWhoseWorkerHangsIsReplacedAndTheReplacementServes() throws Exception {
        // The first session's batch function hangs once told to, ignoring interrupts as a native call would: the
        // fault a hung ONNX Runtime call or GPU would cause. Every other session runs the real model.
        AtomicBoolean hang = new AtomicBoolean();
        CountDownLatch release = new CountDownLatch(1);
        AtomicInteger opened = new AtomicInteger();
        SharedSessions hanging = new SharedSessions(spec -> ModelSession.open(spec, model -> opened.getAndIncrement() > 0
                ? model : images -> {
                    while (hang.get()) {
                        try {
                            release.await();
                            break;
                        } catch (InterruptedException e) {
                            // ignored, as a native call would
                        }
                    }
                    return model.apply(images);
                }));
        SessionSpec spec = new SessionSpec(E3, ExecutionOptions.Device.CPU, 0, 1, false, 8, Duration.ofMillis(1), 64,
                Duration.ofSeconds(30), Duration.ofMillis(500));
        try {
            SessionLease held = hanging.acquire(spec);
            ModelSession hung = held.session();
            assertEquals(E3.manifest().classes().size(),
                    hung.memberLogits(zeroImage()).get(10, TimeUnit.SECONDS)[0].length, "serves before it hangs");
            hang.set(true);
            CompletableFuture<float[][]> stuck = hung.memberLogits(zeroImage());
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (hung.isHealthy() && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertFalse(hung.isHealthy(), "a worker without progress for the stall timeout is not healthy");
            ExecutionException failed = assertThrows(ExecutionException.class, () -> stuck.get(10, TimeUnit.SECONDS));
            assertTrue(failed.getCause().getMessage().contains("stalled"), failed.getCause().getMessage());
            held.close(); // the task that waited on it fails and lets go

            // The restarted task's acquire: a new session, opened while the old worker is still stuck in its batch.
            try (SessionLease fresh = CompletableFuture.supplyAsync(() -> hanging.acquire(spec))
                    .get(60, TimeUnit.SECONDS)) {
                assertNotSame(hung, fresh.session());
                assertTrue(fresh.session().isHealthy());
                for (int i = 0; i < 3; i++) {
                    assertEquals(E3.manifest().classes().size(),
                            fresh.session().memberLogits(zeroImage()).get(10, TimeUnit.SECONDS)[0].length);
                }
            }
            assertEquals(2, hanging.loads());
            assertFalse(hung.batcher().workerStopped(), "the hung worker is still inside its batch");
        } finally {
            release.countDown();
            hanging.closeAll();
        }
    }

    @Test
    void closeAllClosesLeasedSessionsAndTheReleaseThread() throws Exception {
        SessionLease lease = sessions.acquire(spec(Duration.ofMillis(10)));
        try (SessionLease other = sessions.acquire(spec(Duration.ofMillis(10)))) {
            assertSame(lease.session(), other.session());
        }
        sessions.closeAll();
        assertFalse(lease.session().isHealthy());
        assertEquals(0, sessions.open());
        lease.close();
        assertFalse(sessions.releaseThreadRunning(), "no release thread left behind");
    }
}
