//! A route's recent service times: how long its last [`SAMPLES`] invocations held their
//! concurrency slot, and their median, which deadline-aware admission (`gate.rs`) uses to
//! tell how fast the queue drains.
//!
//! Written by every invocation of a gated route and read only when a request has to queue,
//! so the ring is a fixed array of atomics (no lock on the request path); the histograms of
//! `telemetry/latency.rs` are cumulative and cannot say what is recent.

use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::time::Duration;

/// How many of the latest invocations the median is taken over.
const SAMPLES: usize = 64;

/// The latest service times, in microseconds.
pub(super) struct ServiceTimes {
    samples: [AtomicU32; SAMPLES],
    recorded: AtomicUsize,
}

impl Default for ServiceTimes {
    fn default() -> Self {
        ServiceTimes {
            samples: std::array::from_fn(|_| AtomicU32::new(0)),
            recorded: AtomicUsize::new(0),
        }
    }
}

impl ServiceTimes {
    /// Notes one invocation's service time (capped at about 71 minutes).
    pub(super) fn record(&self, took: Duration) {
        let micros = u32::try_from(took.as_micros()).unwrap_or(u32::MAX);
        let at = self.recorded.fetch_add(1, Ordering::Relaxed) % SAMPLES;
        self.samples[at].store(micros, Ordering::Relaxed);
    }

    /// The median of the latest service times; `None` before the first one.
    pub(super) fn median(&self) -> Option<Duration> {
        let count = self.recorded.load(Ordering::Relaxed).min(SAMPLES);
        if count == 0 {
            return None;
        }
        let mut latest = [0u32; SAMPLES];
        for (kept, sample) in latest.iter_mut().zip(&self.samples).take(count) {
            *kept = sample.load(Ordering::Relaxed);
        }
        let latest = &mut latest[..count];
        let (_, median, _) = latest.select_nth_unstable(count / 2);
        Some(Duration::from_micros(u64::from(*median)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_median_follows_the_latest_samples() {
        let times = ServiceTimes::default();
        assert_eq!(times.median(), None);
        for ms in [10, 30, 20] {
            times.record(Duration::from_millis(ms));
        }
        assert_eq!(times.median(), Some(Duration::from_millis(20)));
        // A slower period replaces the older samples entirely.
        for _ in 0..SAMPLES {
            times.record(Duration::from_millis(500));
        }
        assert_eq!(times.median(), Some(Duration::from_millis(500)));
    }
}
