//! Where log lines wait for stderr: appended to one buffer under a short lock, written by a
//! thread of its own in batches — when the buffer holds [`WAKE_AT`] bytes, or every
//! [`FLUSH_INTERVAL`] otherwise. A reader of stderr that stalls costs log lines (beyond
//! [`MAX_PENDING`] bytes they are dropped, and counted in a line of their own), never a
//! blocked worker.
//!
//! Written here rather than taken from `tracing-appender`: its queue wakes its thread for
//! every line, and with an access-log line per request those wake-ups cost a tenth of a
//! core's requests (`scripts/measure-observability.sh`, one pinned worker).

use std::io::{self, Write};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use tracing_subscriber::fmt::MakeWriter;

/// Longest a line waits before it is written.
const FLUSH_INTERVAL: Duration = Duration::from_millis(10);

/// Bytes waiting that wake the thread at once.
const WAKE_AT: usize = 256 << 10;

/// Most bytes waiting; lines beyond are dropped.
const MAX_PENDING: usize = 16 << 20;

#[derive(Default)]
struct Pending {
    bytes: Vec<u8>,
    dropped: u64,
    closed: bool,
}

#[derive(Default)]
struct Queue {
    pending: Mutex<Pending>,
    wake: Condvar,
}

impl Queue {
    fn lock(&self) -> MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Makes the writers log lines go through (one per event).
#[derive(Clone)]
pub(super) struct LogQueue(Arc<Queue>);

/// Writes what is still queued, and stops the thread, when dropped.
pub(super) struct LogQueueGuard {
    queue: Arc<Queue>,
    thread: Option<JoinHandle<()>>,
}

/// A queue for `out`, written by a thread of its own.
pub(super) fn log_queue(mut out: impl Write + Send + 'static) -> (LogQueue, LogQueueGuard) {
    let queue = Arc::new(Queue::default());
    let drained = queue.clone();
    let thread = std::thread::Builder::new()
        .name("wasmgate-log".into())
        .spawn(move || {
            let mut batch = Vec::new();
            loop {
                let (dropped, closed) = {
                    let mut pending = drained.lock();
                    if !pending.closed && pending.bytes.len() < WAKE_AT {
                        pending = drained
                            .wake
                            .wait_timeout(pending, FLUSH_INTERVAL)
                            .unwrap_or_else(|p| p.into_inner())
                            .0;
                    }
                    std::mem::swap(&mut batch, &mut pending.bytes);
                    (std::mem::take(&mut pending.dropped), pending.closed)
                };
                // A log that cannot be written has nowhere to report it.
                let _ = out.write_all(&batch);
                if dropped > 0 {
                    let _ = writeln!(
                        out,
                        "wasmgate: {dropped} log lines dropped (stderr was not read fast enough)"
                    );
                }
                let _ = out.flush();
                batch.clear();
                if closed && drained.lock().bytes.is_empty() {
                    break;
                }
            }
        })
        .ok();
    let guard = LogQueueGuard {
        queue: queue.clone(),
        thread,
    };
    (LogQueue(queue), guard)
}

impl Drop for LogQueueGuard {
    fn drop(&mut self) {
        self.queue.lock().closed = true;
        self.queue.wake.notify_one();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Appends one event's line to the queue.
pub(super) struct LineWriter<'a>(&'a Queue);

impl Write for LineWriter<'_> {
    fn write(&mut self, line: &[u8]) -> io::Result<usize> {
        let mut pending = self.0.lock();
        if pending.bytes.len() + line.len() > MAX_PENDING {
            pending.dropped += 1;
        } else {
            pending.bytes.extend_from_slice(line);
            if pending.bytes.len() >= WAKE_AT {
                self.0.wake.notify_one();
            }
        }
        Ok(line.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for LogQueue {
    type Writer = LineWriter<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        LineWriter(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `Write` whose bytes a test can read.
    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            self.0.lock().expect("lock").extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn lines_are_written_soon_and_all_at_the_end() {
        let out = Shared::default();
        let (queue, guard) = log_queue(out.clone());
        queue.make_writer().write_all(b"first\n").expect("write");
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while out.0.lock().expect("lock").is_empty() {
            assert!(std::time::Instant::now() < deadline, "never written");
            std::thread::sleep(Duration::from_millis(1));
        }
        for n in 0..1000 {
            queue
                .make_writer()
                .write_all(format!("line {n}\n").as_bytes())
                .expect("write");
        }
        drop(guard);
        let written = String::from_utf8(out.0.lock().expect("lock").clone()).expect("utf-8");
        assert_eq!(written.lines().count(), 1001);
        assert!(written.ends_with("line 999\n"));
    }
}
