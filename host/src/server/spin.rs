//! Polling before parking: after a response, a worker keeps polling its sockets for a short
//! window instead of going to sleep in `epoll_wait` at once, so a request that follows soon
//! (the next one on a kept-alive connection) finds the thread running.
//!
//! Why: on a virtual machine a core that goes idle halts its vCPU, and the next request
//! then runs, most likely, on caches and TLBs the host has emptied, which hurts a request
//! that touches an instance's code and memory far more than a native hello. Measured at
//! one connection on a 2-vCPU VM (`bench/RESULTS.md`, "One connection: polling before
//! sleeping"), the SDK hello's p50 fell from about 100 to 53–75 µs with a 50 µs window.
//! tokio has no poll mode, so one task per worker yields in a loop for the window: each
//! `yield_now` lets the runtime poll its I/O driver without blocking, and once the window
//! passes with no new response it waits on a [`Notify`] like any idle task. The cost is
//! the CPU of the window after the last response of a burst (at most `window` per
//! response); the windows' time (an upper bound on it) is counted in
//! `wasmgate_busy_poll_seconds_total`. Off unless `--busy-poll-us` is given.

use std::cell::RefCell;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

/// One worker's polling window: when it last answered, and how to wake its polling task.
pub(super) struct Spin {
    window: Duration,
    start: Instant,
    /// Nanoseconds since `start` at the last response's end.
    last_response: AtomicU64,
    wake: Notify,
}

thread_local! {
    /// The window of the worker running on this thread, if it polls.
    static CURRENT: RefCell<Option<Arc<Spin>>> = const { RefCell::new(None) };
}

impl Spin {
    /// Starts polling windows of `window` on this worker thread (none when it is zero);
    /// call from inside the worker's runtime.
    pub(super) fn start_on_this_worker(window: Duration) {
        if window.is_zero() {
            return;
        }
        let spin = Arc::new(Spin {
            window,
            start: Instant::now(),
            last_response: AtomicU64::new(0),
            wake: Notify::new(),
        });
        CURRENT.with(|current| *current.borrow_mut() = Some(spin.clone()));
        tokio::spawn(async move { spin.poll_after_responses().await });
    }

    /// A response of this worker ended: it polls for the next window.
    pub(super) fn response_ended() {
        CURRENT.with(|current| {
            if let Some(spin) = &*current.borrow() {
                let now = u64::try_from(spin.start.elapsed().as_nanos()).unwrap_or(u64::MAX);
                spin.last_response.store(now, Ordering::Relaxed);
                spin.wake.notify_one();
            }
        });
    }

    async fn poll_after_responses(&self) {
        let mut polling_since = None;
        loop {
            let last = Duration::from_nanos(self.last_response.load(Ordering::Relaxed));
            if self.start.elapsed() < last + self.window {
                polling_since.get_or_insert_with(Instant::now);
                tokio::task::yield_now().await;
            } else {
                if let Some(since) = polling_since.take() {
                    let polled = since.elapsed().as_secs_f64();
                    crate::telemetry::metrics().busy_poll_seconds.inc_by(polled);
                }
                self.wake.notified().await;
            }
        }
    }
}
