//! Rate limits: a token bucket per level (API Gateway's semantics — `burst` is the bucket's
//! capacity, `rate` its refill per second, one token per request), implemented as GCRA by
//! `governor`: one atomic compare-and-swap per check, no timer.
//!
//! A [`Bucket`] limits a whole level (the gateway, a route); a [`KeyedBuckets`] keeps one
//! bucket per client key (source IP or a header's value).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};

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
type Keyed =
    RateLimiter<String, DefaultKeyedStateStore<String>, DefaultClock, StateInformationMiddleware>;

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

/// One bucket per key, forgotten once full again (so idle clients cost no memory).
pub struct KeyedBuckets {
    limiter: Keyed,
    quota: Quota,
    checks: AtomicU64,
}

/// Keyed buckets are swept of full ones every this many checks.
const SWEEP_EVERY: u64 = 4096;

impl KeyedBuckets {
    /// Empty, with `quota` for every key.
    pub fn new(quota: Quota) -> Self {
        KeyedBuckets {
            limiter: RateLimiter::dashmap(quota).with_middleware::<StateInformationMiddleware>(),
            quota,
            checks: AtomicU64::new(0),
        }
    }

    /// Takes a token from `key`'s bucket if there is one.
    pub fn check(&self, key: &str) -> Verdict {
        if self.checks.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            self.limiter.retain_recent();
        }
        let outcome = self.limiter.check_key(&key.to_owned());
        let now = self.limiter.clock().now();
        verdict(
            &self.quota,
            outcome.map_err(|not_until| not_until.wait_time_from(now)),
        )
    }
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
