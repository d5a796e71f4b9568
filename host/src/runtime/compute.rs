//! What an invocation used of the machine, for compute quotas: the time its guest code ran
//! on a gateway thread, and its peak memory.
//!
//! The time is measured around each poll of the invocation's future ([`Timed`]): the
//! guest's code, and the host calls it makes, run inside those polls, while time it spends
//! waiting (timers, outbound requests, a client's body) passes between them and is not
//! counted. That is the thread time the guest took from other requests. Fuel would count
//! instructions instead, but costs every guest ~10% of its speed and is an engine-wide
//! setting; a clock read per poll costs tens of nanoseconds.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use super::observe::PhaseTimes;

/// An invocation's use, recorded while it runs.
#[derive(Debug, Default)]
pub struct ComputeUse {
    busy_ns: AtomicU64,
    memory_peak: AtomicU64,
}

impl ComputeUse {
    /// Time its code ran on a thread so far.
    pub fn busy(&self) -> Duration {
        Duration::from_nanos(self.busy_ns.load(Ordering::Relaxed))
    }

    /// The most memory (linear memories and tables) its instance had, in bytes.
    pub fn memory_peak(&self) -> u64 {
        self.memory_peak.load(Ordering::Relaxed)
    }

    fn add_busy(&self, took: Duration) {
        let nanos = u64::try_from(took.as_nanos()).unwrap_or(u64::MAX);
        self.busy_ns.fetch_add(nanos, Ordering::Relaxed);
    }

    pub(super) fn note_memory(&self, bytes: usize) {
        let bytes = u64::try_from(bytes).unwrap_or(u64::MAX);
        self.memory_peak.fetch_max(bytes, Ordering::Relaxed);
    }
}

/// `future`, with the time spent in its polls added to `times`' compute use.
pub(super) fn timed<F: Future>(times: Arc<PhaseTimes>, future: F) -> Timed<F> {
    Timed {
        times,
        future: Box::pin(future),
    }
}

/// A future whose polls are timed.
pub(super) struct Timed<F> {
    times: Arc<PhaseTimes>,
    future: Pin<Box<F>>,
}

impl<F: Future> Future for Timed<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let started = Instant::now();
        let polled = self.future.as_mut().poll(cx);
        self.times.compute().add_busy(started.elapsed());
        polled
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn only_time_spent_running_is_counted() {
        let times = Arc::new(PhaseTimes::default());
        timed(times.clone(), async {
            // Waiting is not counted…
            tokio::time::sleep(Duration::from_millis(100)).await;
            // …running is.
            let started = Instant::now();
            while started.elapsed() < Duration::from_millis(30) {
                std::hint::spin_loop();
            }
        })
        .await;
        let usage = times.compute();
        let busy = usage.busy();
        assert!(
            busy >= Duration::from_millis(30) && busy < Duration::from_millis(90),
            "{busy:?}"
        );
        usage.note_memory(10 << 20);
        usage.note_memory(2 << 20);
        assert_eq!(usage.memory_peak(), 10 << 20);
    }
}
