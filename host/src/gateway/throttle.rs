//! Rate limits: a token bucket per level (API Gateway's semantics — `burst` is the bucket's
//! capacity, `rate` its refill per second, one token per request), implemented as GCRA by
//! `governor`: one atomic compare-and-swap per check, no timer.
//!
//! A [`Bucket`] limits a whole level (the gateway, a route); a [`KeyedBuckets`] keeps one
//! bucket per client key (source IP or a header's value).

use std::sync::Arc;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};
use sha2::{Digest, Sha256};

/// The outcome of taking a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Allowed; the values of the `RateLimit-*` headers.
    Allowed {
        /// `RateLimit-Limit`: the bucket's capacity.
        limit: u32,
        /// `RateLimit-Remaining`: tokens left.
        remaining: u32,
        /// `RateLimit-Reset`: seconds until the bucket is full again.
        reset: Duration,
    },
    /// Refused; retry after `retry_after`.
    Throttled {
        /// The bucket's capacity.
        limit: u32,
        /// Time until a token is available (`Retry-After`).
        retry_after: Duration,
    },
}

impl Verdict {
    /// Whether the request may go on.
    pub fn allowed(&self) -> bool {
        matches!(self, Verdict::Allowed { .. })
    }

    /// Of two verdicts, the one to report: a refusal, else the one with fewer tokens left.
    pub fn tighter(self, other: Verdict) -> Verdict {
        match (self, other) {
            (Verdict::Throttled { .. }, _) => self,
            (_, Verdict::Throttled { .. }) => other,
            (Verdict::Allowed { remaining: a, .. }, Verdict::Allowed { remaining: b, .. }) => {
                if b < a { other } else { self }
            }
        }
    }
}

type Direct = RateLimiter<NotKeyed, InMemoryState, DefaultClock, StateInformationMiddleware>;

/// One bucket.
pub struct Bucket {
    limiter: Direct,
    quota: Quota,
}

impl Bucket {
    /// A full bucket for `config` (already validated).
    pub fn new(quota: Quota) -> Self {
        Bucket {
            limiter: RateLimiter::direct(quota).with_middleware::<StateInformationMiddleware>(),
            quota,
        }
    }

    /// Its capacity and refill.
    pub fn quota(&self) -> Quota {
        self.quota
    }

    /// Takes a token if there is one.
    pub fn check(&self) -> Verdict {
        let outcome = self.limiter.check();
        let now = self.limiter.clock().now();
        verdict(
            &self.quota,
            outcome.map_err(|not_until| not_until.wait_time_from(now)),
        )
    }
}

/// One bucket per key (a client, an API key), bounded in what clients control: a key
/// longer than [`MAX_KEY_BYTES`] is kept as its sha256, at most [`MAX_KEYED_BUCKETS`]
/// buckets are kept (the least recently used go first), and a bucket idle long enough to
/// be full again is forgotten (a fresh one is the same).
///
/// Written over `moka` rather than `governor`'s keyed limiter, whose map has no bound.
pub struct KeyedBuckets {
    buckets: moka::sync::Cache<String, Arc<Bucket>>,
    quota: Quota,
}

/// Most buckets one [`KeyedBuckets`] keeps.
pub const MAX_KEYED_BUCKETS: u64 = 16_384;

/// Longest key kept as it is; longer ones are hashed.
pub const MAX_KEY_BYTES: usize = 64;

impl KeyedBuckets {
    /// Empty, with `quota` for every key.
    pub fn new(quota: Quota) -> Self {
        Self::with_capacity(quota, MAX_KEYED_BUCKETS)
    }

    /// Empty, keeping at most `capacity` buckets.
    pub fn with_capacity(quota: Quota, capacity: u64) -> Self {
        // After this long without a request a bucket is full again: forgetting it is free.
        let refill = quota
            .replenish_interval()
            .saturating_mul(quota.burst_size().get())
            .clamp(Duration::from_secs(1), Duration::from_secs(86_400));
        KeyedBuckets {
            buckets: moka::sync::Cache::builder()
                .max_capacity(capacity)
                .time_to_idle(refill)
                .eviction_policy(moka::policy::EvictionPolicy::lru())
                .build(),
            quota,
        }
    }

    /// Takes a token from `key`'s bucket (a full one if it has none).
    pub fn check(&self, key: &str) -> Verdict {
        self.buckets
            .get_with(kept_key(key), || Arc::new(Bucket::new(self.quota)))
            .check()
    }

    /// Every key's capacity and refill.
    pub fn quota(&self) -> Quota {
        self.quota
    }

    /// How many buckets are kept now.
    #[cfg(test)]
    fn kept(&self) -> u64 {
        self.buckets.run_pending_tasks();
        self.buckets.entry_count()
    }
}

/// A client's key as a bucket is kept under: as it is, or its sha256 when longer than
/// [`MAX_KEY_BYTES`].
pub fn kept_key(key: &str) -> String {
    if key.len() > MAX_KEY_BYTES {
        format!("sha256:{}", hex::encode(Sha256::digest(key.as_bytes())))
    } else {
        key.to_owned()
    }
}

/// A tag naming a quota's settings, in shared bucket keys: a bucket whose settings change
/// starts full, as a local one does.
pub fn quota_tag(quota: &Quota) -> String {
    format!(
        "{}us{}",
        quota.replenish_interval().as_micros(),
        quota.burst_size()
    )
}

fn verdict(
    quota: &Quota,
    outcome: Result<governor::middleware::StateSnapshot, Duration>,
) -> Verdict {
    let limit = quota.burst_size().get();
    match outcome {
        Ok(snapshot) => {
            let remaining = snapshot.remaining_burst_capacity();
            Verdict::Allowed {
                limit,
                remaining,
                reset: quota
                    .replenish_interval()
                    .saturating_mul(limit - remaining.min(limit)),
            }
        }
        Err(retry_after) => Verdict::Throttled { limit, retry_after },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ThrottleConfig;

    fn quota(rate: f64, burst: u32) -> Quota {
        ThrottleConfig { rate, burst }.validate().expect("valid")
    }

    #[test]
    fn a_burst_is_allowed_then_throttled() {
        let bucket = Bucket::new(quota(1.0, 3));
        let verdicts: Vec<Verdict> = (0..4).map(|_| bucket.check()).collect();
        assert!(verdicts[..3].iter().all(Verdict::allowed));
        assert!(matches!(
            verdicts[0],
            Verdict::Allowed {
                limit: 3,
                remaining: 2,
                ..
            }
        ));
        assert!(matches!(verdicts[2], Verdict::Allowed { remaining: 0, .. }));
        match verdicts[3] {
            Verdict::Throttled {
                limit: 3,
                retry_after,
            } => {
                assert!(
                    retry_after > Duration::from_millis(900)
                        && retry_after <= Duration::from_secs(1)
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn keys_have_their_own_buckets() {
        let buckets = KeyedBuckets::new(quota(1.0, 1));
        assert!(buckets.check("a").allowed());
        assert!(!buckets.check("a").allowed());
        assert!(buckets.check("b").allowed());
        // A long key is one bucket too, however it is kept.
        let long = "k".repeat(8 << 10);
        assert!(buckets.check(&long).allowed());
        assert!(!buckets.check(&long).allowed());
    }

    #[test]
    fn the_number_of_buckets_is_bounded() {
        let buckets = KeyedBuckets::with_capacity(quota(0.001, 5), 100);
        for i in 0..3_200 {
            buckets.check(&format!("{i}-{}", "x".repeat(8 << 10)));
        }
        let kept = buckets.kept();
        assert!(kept <= 100, "{kept} buckets kept");
        // The most recent client keeps its bucket.
        let last = format!("3199-{}", "x".repeat(8 << 10));
        assert!(matches!(
            buckets.check(&last),
            Verdict::Allowed { remaining: 3, .. }
        ));
    }

    #[test]
    fn invalid_configs_say_why() {
        for (rate, burst, expected) in [
            (0.0, 1, "out of range"),
            (-1.0, 1, "out of range"),
            (f64::NAN, 1, "out of range"),
            (1.0, 0, "burst must be at least 1"),
        ] {
            let err = ThrottleConfig { rate, burst }
                .validate()
                .expect_err("invalid");
            assert!(err.contains(expected), "{err}");
        }
    }

    #[test]
    fn the_tighter_verdict_is_reported() {
        let loose = Verdict::Allowed {
            limit: 10,
            remaining: 9,
            reset: Duration::ZERO,
        };
        let tight = Verdict::Allowed {
            limit: 5,
            remaining: 1,
            reset: Duration::ZERO,
        };
        let refused = Verdict::Throttled {
            limit: 5,
            retry_after: Duration::ZERO,
        };
        assert_eq!(loose.tighter(tight), tight);
        assert_eq!(tight.tighter(refused), refused);
        assert_eq!(refused.tighter(loose), refused);
    }
}
