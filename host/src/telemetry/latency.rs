//! The gateway's latency histogram: Prometheus's classic histogram over
//! [`LATENCY_BUCKETS`], whose counts the gateway can also read back (prometheus-client's own
//! `Histogram` keeps them to itself). The web console's live figures (`GET /stats`) are
//! then the same counts `/metrics` shows, read without encoding and parsing text.
//!
//! Written here because no metrics crate offers a readable classic histogram; it is also
//! lock-free: an observation is two relaxed atomic additions.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use prometheus_client::encoding::{EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::{MetricType, TypedMetric};

/// The buckets' upper bounds, in seconds: 0.5 ms to 30 s (a handler may run for 29 s); a
/// last bucket takes what is slower.
pub const LATENCY_BUCKETS: [f64; 15] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// How many counts a [`Latency`] keeps: one per bucket and one past the last.
pub const LATENCY_COUNTS: usize = LATENCY_BUCKETS.len() + 1;

/// A latency histogram; clones share their counts.
#[derive(Debug, Clone, Default)]
pub struct Latency(Arc<Counts>);

#[derive(Debug, Default)]
struct Counts {
    /// Observations per bucket (not cumulative); the last is past [`LATENCY_BUCKETS`].
    buckets: [AtomicU64; LATENCY_COUNTS],
    /// The sum of the observations, in nanoseconds.
    sum_nanos: AtomicU64,
}

impl Latency {
    /// Counts one duration of `seconds`.
    pub fn observe(&self, seconds: f64) {
        let bucket = LATENCY_BUCKETS
            .iter()
            .position(|bound| seconds <= *bound)
            .unwrap_or(LATENCY_BUCKETS.len());
        self.0.buckets[bucket].fetch_add(1, Ordering::Relaxed);
        // Saturating float-to-int conversion: a negative or NaN duration adds nothing.
        let nanos = (seconds * 1e9) as u64;
        self.0.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    /// The observations per bucket (not cumulative), the last past [`LATENCY_BUCKETS`].
    pub fn counts(&self) -> [u64; LATENCY_COUNTS] {
        std::array::from_fn(|i| self.0.buckets[i].load(Ordering::Relaxed))
    }
}

impl TypedMetric for Latency {
    const TYPE: MetricType = MetricType::Histogram;
}

impl EncodeMetric for Latency {
    fn encode(&self, mut encoder: MetricEncoder<'_>) -> Result<(), std::fmt::Error> {
        let counts = self.counts();
        let buckets: Vec<(f64, u64)> = LATENCY_BUCKETS
            .iter()
            .copied()
            .chain([f64::INFINITY])
            .zip(counts)
            .collect();
        let sum = self.0.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9;
        encoder.encode_histogram::<NoLabelSet>(sum, counts.iter().sum(), &buckets, None)
    }

    fn metric_type(&self) -> MetricType {
        Self::TYPE
    }
}

#[cfg(test)]
mod tests {
    use prometheus_client::registry::Registry;

    use super::*;

    #[test]
    fn encodes_as_a_cumulative_classic_histogram() {
        let latency = Latency::default();
        for seconds in [0.0003, 0.0007, 0.004, 45.0] {
            latency.observe(seconds);
        }
        assert_eq!(latency.counts()[..4], [1, 1, 0, 1]);
        assert_eq!(latency.counts()[LATENCY_BUCKETS.len()], 1);
        let mut registry = Registry::default();
        registry.register("d", "Durations", latency.clone());
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).expect("encode");
        for line in [
            "d_count 4\n",
            "d_bucket{le=\"0.0005\"} 1\n",
            "d_bucket{le=\"0.001\"} 2\n",
            "d_bucket{le=\"0.005\"} 3\n",
            "d_bucket{le=\"30.0\"} 3\n",
            "d_bucket{le=\"+Inf\"} 4\n",
        ] {
            assert!(text.contains(line), "{line} in {text}");
        }
        assert!(text.contains("d_sum 45.005"), "{text}");
    }
}
