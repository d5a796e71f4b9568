//! A rate limit as written (`throttle = { rate = 50, burst = 10 }`), checked into a
//! `governor` quota.

use std::num::NonZeroU32;
use std::time::Duration;

use governor::Quota;
use serde::{Deserialize, Serialize};

/// A rate limit as written: `throttle = { rate = 50, burst = 10 }`.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ThrottleConfig {
    /// Requests per second the bucket refills (may be fractional, e.g. 0.5).
    pub rate: f64,
    /// The bucket's capacity: requests allowed at once after a quiet spell.
    pub burst: u32,
}

impl ThrottleConfig {
    /// Checks the values.
    pub fn validate(&self) -> Result<Quota, String> {
        // At least one request a day, at most a million a second.
        if !(self.rate.is_finite() && self.rate >= 1.0 / 86_400.0 && self.rate <= 1_000_000.0) {
            return Err(format!(
                "rate {} is out of range: from 1/86400 (one a day) to 1000000 per second",
                self.rate
            ));
        }
        let burst =
            NonZeroU32::new(self.burst).ok_or_else(|| "burst must be at least 1".to_owned())?;
        let period = Duration::from_secs_f64(1.0 / self.rate);
        let quota = Quota::with_period(period).ok_or_else(|| "rate is too high".to_owned())?;
        Ok(quota.allow_burst(burst))
    }
}
