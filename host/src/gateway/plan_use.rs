//! What each API key has used of its plan in the current period, for the admin API: the
//! requests counted against its quota and the CPU and memory-time against its compute
//! quota, every counter read at once (here, or with one `MGET` from the store the nodes
//! share).

use super::Gateway;
use super::compute::{self, ComputeQuotaUse};
use super::keys::{self, QuotaUse, period_of, unix_now};
use crate::config::{ComputeConfig, QuotaConfig, QuotaPeriod};

/// One key and the limits of its plan to report on.
#[derive(Debug, Clone, Copy)]
pub struct PlanLimits<'a> {
    /// The key's id.
    pub key: &'a str,
    /// Its plan's request quota, if it has one.
    pub quota: Option<QuotaConfig>,
    /// Its plan's compute quota, if it has one.
    pub compute: Option<ComputeConfig>,
}

/// What one key used of the quotas its plan has.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlanUse {
    /// Of its request quota.
    pub quota: Option<QuotaUse>,
    /// Of its compute quota.
    pub compute: Option<ComputeQuotaUse>,
}

impl Gateway {
    /// What each of `keys` used of its plan in the current period; `None` when the store
    /// the nodes share does not answer.
    pub async fn plan_use(&self, keys: &[PlanLimits<'_>]) -> Option<Vec<PlanUse>> {
        let shared = self.options.shared_throttle.as_deref();
        let now = unix_now();
        // Every counter's name, and the period it counts (`usage.used` checks it).
        let mut names = Vec::new();
        let mut periods: Vec<(QuotaPeriod, u64)> = Vec::new();
        for limits in keys {
            if let Some(quota) = limits.quota {
                let (number, _) = period_of(now, quota.period);
                names.push(keys::quota_counter(
                    limits.key,
                    quota.period,
                    number,
                    shared.is_some(),
                ));
                periods.push((quota.period, number));
            }
            if let Some(compute) = limits.compute {
                let (number, _) = period_of(now, compute.period);
                let counters =
                    compute::counters(limits.key, compute.period, number, shared.is_some());
                names.extend(counters);
                periods.extend([(compute.period, number); 2]);
            }
        }
        let used = match shared {
            Some(store) => store.read_counts(&names).await.ok()?,
            None => (names.iter().zip(&periods))
                .map(|(name, (period, number))| self.live.usage.used(name, *period, *number))
                .collect(),
        };
        let mut used = used.into_iter();
        let mut next = || used.next().unwrap_or(0);
        let reported = keys.iter().map(|limits| PlanUse {
            quota: limits.quota.map(|quota| QuotaUse {
                used: next(),
                limit: quota.limit,
                period: quota.period,
                resets_at: period_of(now, quota.period).1,
            }),
            compute: (limits.compute)
                .map(|compute| compute::compute_use(compute, [next(), next()], now)),
        });
        Some(reported.collect())
    }
}
