//! API keys at request time: the `x-api-key` header must name an enabled key (else 403);
//! its usage plan's rate limit and quota apply per key (else 429).
//!
//! Quota usage is counted per key and period in memory, kept across deploys, and saved to
//! the registry's store (every second while it changes, and when the gateway stops), so a
//! restart resumes the counts; a crash loses at most the last second's. With a store the
//! nodes share (Redis), it is counted there instead, once for every node.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

mod periods;

pub(super) use periods::{period_of, unix_now};

use super::rejection::{KeyRefusal, Rejection};
use super::shared_throttle::{Counted, SharedBucket, SharedThrottle, StoreDown};
use super::throttle::{KeyedBuckets, Verdict, quota_tag};
use crate::config::{ComputeConfig, PlanConfig, QuotaConfig, QuotaPeriod};
use crate::registry::{QuotaUsed, RegistryState, sha256_hex};
use crate::telemetry::metrics::{PlanLabels, metrics};
use prometheus_client::metrics::counter::Counter;

/// The header clients send their key in.
pub const API_KEY_HEADER: &str = "x-api-key";

/// A plan at run time: its per-key buckets.
pub(super) struct PlanRuntime {
    config: PlanConfig,
    buckets: Option<KeyedBuckets>,
    /// Requests counted against its keys' quotas (`wasmgate_api_key_requests_total`).
    counted: Counter,
    /// Its keys' guest CPU seconds and memory GB-seconds, with a compute quota.
    pub(super) compute_used: (Counter<f64, AtomicU64>, Counter<f64, AtomicU64>),
}

/// One key as the gateway checks it.
pub(super) struct KeyEntry {
    id: String,
    enabled: bool,
    plan: Option<Arc<PlanRuntime>>,
}

/// Every key by the hash of its secret.
#[derive(Default)]
pub(super) struct KeyRing {
    by_hash: HashMap<String, Arc<KeyEntry>>,
}

/// Requests used per key in its current quota period.
#[derive(Default)]
pub(super) struct QuotaUsage {
    used: Mutex<HashMap<String, QuotaUsed>>,
    /// Set by each counted request, cleared when the usage is taken to be saved.
    changed: AtomicBool,
}

impl KeyRing {
    /// The keys of `state`; plans keep their buckets while their settings do.
    pub(super) fn build(
        state: &RegistryState,
        plans: &Mutex<HashMap<String, Arc<PlanRuntime>>>,
    ) -> Self {
        let mut plans = plans.lock().unwrap_or_else(|poison| poison.into_inner());
        plans.retain(|name, kept| state.plans.get(name) == Some(&kept.config));
        for (name, config) in &state.plans {
            plans.entry(name.clone()).or_insert_with(|| {
                let labels = PlanLabels {
                    plan: Arc::from(name.as_str()),
                };
                Arc::new(PlanRuntime {
                    counted: metrics().api_key_requests.get_or_create_owned(&labels),
                    compute_used: (
                        metrics().api_key_cpu_seconds.get_or_create_owned(&labels),
                        (metrics().api_key_memory_gb_seconds).get_or_create_owned(&labels),
                    ),
                    buckets: config
                        .throttle
                        .and_then(|t| t.validate().ok())
                        .map(KeyedBuckets::new),
                    config: config.clone(),
                })
            });
        }
        let by_hash = state
            .keys
            .iter()
            .map(|(id, key)| {
                let entry = KeyEntry {
                    id: id.clone(),
                    enabled: key.enabled,
                    plan: key.plan.as_ref().and_then(|plan| plans.get(plan).cloned()),
                };
                (key.hash.clone(), Arc::new(entry))
            })
            .collect();
        KeyRing { by_hash }
    }

    /// The request's key: 403 if it is missing, unknown or disabled.
    pub(super) fn identify(&self, headers: &http::HeaderMap) -> Result<Arc<KeyEntry>, Rejection> {
        let presented = headers
            .get(API_KEY_HEADER)
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty())
            .ok_or(Rejection::ApiKey(KeyRefusal::Missing))?;
        let key = self
            .by_hash
            .get(&sha256_hex(presented.as_bytes()))
            .ok_or(Rejection::ApiKey(KeyRefusal::Unknown))?;
        if !key.enabled {
            return Err(Rejection::ApiKey(KeyRefusal::Disabled));
        }
        Ok(key.clone())
    }
}

impl KeyEntry {
    /// The key's id.
    pub(super) fn id(&self) -> &str {
        &self.id
    }

    /// Its plan's compute quota, and the plan.
    pub(super) fn compute(&self) -> Option<(ComputeConfig, &Arc<PlanRuntime>)> {
        let plan = self.plan.as_ref()?;
        Some((plan.config.compute?, plan))
    }

    /// Takes a token from the key's bucket, if its plan has a rate limit.
    pub(super) fn throttle(&self) -> Result<Option<Verdict>, Rejection> {
        let Some(buckets) = self.plan.as_ref().and_then(|plan| plan.buckets.as_ref()) else {
            return Ok(None);
        };
        let verdict = buckets.check(&self.id);
        if verdict.allowed() {
            Ok(Some(verdict))
        } else {
            Err(Rejection::Throttled(verdict))
        }
    }

    /// The key's shared bucket, if its plan has a rate limit.
    pub(super) fn shared_bucket(&self) -> Option<SharedBucket> {
        let quota = self.plan.as_ref()?.buckets.as_ref()?.quota();
        Some(SharedBucket {
            key: format!("wasmgate:throttle:key:{}:{}", self.id, quota_tag(&quota)),
            quota,
        })
    }

    /// Counts the request against the key's quota, if its plan has one: what is left of
    /// it, as a verdict for the `RateLimit-*` headers. Called once the request is about to
    /// run, so refused requests do not use the quota up.
    pub(super) fn take_quota(&self, usage: &QuotaUsage) -> Result<Option<Verdict>, Rejection> {
        let Some(plan) = &self.plan else {
            return Ok(None);
        };
        let Some(quota) = plan.config.quota else {
            return Ok(None);
        };
        let left = usage.take(&self.id, quota)?;
        plan.counted.inc();
        Ok(Some(left))
    }

    /// [`KeyEntry::take_quota`] with the count kept in the store every node shares: one
    /// counter per key and period, so the quota holds across nodes.
    pub(super) async fn take_shared_quota(
        &self,
        shared: &SharedThrottle,
    ) -> Result<Option<Verdict>, Rejection> {
        let Some(plan) = &self.plan else {
            return Ok(None);
        };
        let Some(quota) = plan.config.quota else {
            return Ok(None);
        };
        let now = unix_now();
        let (number, resets_at) = period_of(now, quota.period);
        let key = shared_quota_key(&self.id, quota.period, number);
        match shared.count(&key, quota.limit, resets_at).await {
            Ok(Counted::Used(used)) => {
                plan.counted.inc();
                Ok(Some(quota_left(quota, used, resets_at, now)))
            }
            Ok(Counted::Full) => Err(Rejection::QuotaExceeded {
                limit: quota.limit,
                resets_at,
                now,
            }),
            Ok(Counted::Skipped) => Ok(None),
            Err(StoreDown) => Err(Rejection::ThrottleStoreDown),
        }
    }
}

/// The shared store's counter of key `id`'s requests in period `number`.
fn shared_quota_key(id: &str, period: QuotaPeriod, number: u64) -> String {
    format!("wasmgate:quota:{id}:{period:?}:{number}")
}

/// The quota counter of key `id` in period `number`: kept here (by the key's id), or in
/// the shared store.
pub(super) fn quota_counter(id: &str, period: QuotaPeriod, number: u64, shared: bool) -> String {
    match shared {
        true => shared_quota_key(id, period, number),
        false => id.to_owned(),
    }
}

/// How much of a key's quota its current period has used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct QuotaUse {
    /// Requests counted in the current period.
    pub used: u64,
    /// The plan's quota.
    pub limit: u64,
    /// The kind of period.
    pub period: QuotaPeriod,
    /// When the next period starts (seconds since the epoch, UTC).
    pub resets_at: u64,
}

/// What is left of `quota` once `used` requests of its period (ending at `resets_at`) were
/// counted, as a verdict for the `RateLimit-*` headers.
fn quota_left(quota: QuotaConfig, used: u64, resets_at: u64, now: u64) -> Verdict {
    let limit = u32::try_from(quota.limit).unwrap_or(u32::MAX);
    let left = quota.limit.saturating_sub(used);
    Verdict::Allowed {
        limit,
        remaining: u32::try_from(left).unwrap_or(u32::MAX),
        reset: std::time::Duration::from_secs(resets_at.saturating_sub(now)),
    }
}

impl QuotaUsage {
    /// Usage as saved by an earlier run.
    pub(super) fn restored(saved: crate::registry::SavedQuotaUsage) -> Self {
        QuotaUsage {
            used: Mutex::new(saved.into_iter().collect()),
            changed: AtomicBool::new(false),
        }
    }

    /// The usage to save, if any request was counted since the last call; periods that
    /// are over are left out.
    pub(super) fn changes(&self) -> Option<crate::registry::SavedQuotaUsage> {
        if !self.changed.swap(false, Ordering::AcqRel) {
            return None;
        }
        let now = unix_now();
        let used = self.lock();
        Some(
            used.iter()
                .filter(|(_, u)| period_of(now, u.period).0 == u.number)
                .map(|(key, u)| (key.clone(), *u))
                .collect(),
        )
    }

    /// Marks the usage as changed again (its save failed: the next one retries).
    pub(super) fn unsaved(&self) {
        self.changed.store(true, Ordering::Release);
    }

    /// Counts one request for `key`, refusing it past the quota; what is left of it.
    fn take(&self, key: &str, quota: QuotaConfig) -> Result<Verdict, Rejection> {
        let now = unix_now();
        let (number, resets_at) = period_of(now, quota.period);
        let mut used = self.lock();
        let fresh = QuotaUsed {
            period: quota.period,
            number,
            used: 0,
        };
        let entry = used.entry(key.to_owned()).or_insert(fresh);
        if entry.period != quota.period || entry.number != number {
            *entry = fresh;
        }
        if entry.used >= quota.limit {
            return Err(Rejection::QuotaExceeded {
                limit: quota.limit,
                resets_at,
                now,
            });
        }
        entry.used += 1;
        self.changed.store(true, Ordering::Release);
        Ok(quota_left(quota, entry.used, resets_at, now))
    }

    /// Adds `amount` to what `key` used in period `number` of its kind.
    pub(super) fn add(&self, key: &str, period: QuotaPeriod, number: u64, amount: u64) {
        let mut used = self.lock();
        let fresh = QuotaUsed {
            period,
            number,
            used: 0,
        };
        let entry = used.entry(key.to_owned()).or_insert(fresh);
        if entry.period != period || entry.number != number {
            *entry = fresh;
        }
        entry.used = entry.used.saturating_add(amount);
        self.changed.store(true, Ordering::Release);
    }

    /// Requests counted for `key` in period `number` of its kind.
    pub(super) fn used(&self, key: &str, period: QuotaPeriod, number: u64) -> u64 {
        self.lock()
            .get(key)
            .filter(|u| u.period == period && u.number == number)
            .map_or(0, |u| u.used)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, QuotaUsed>> {
        self.used
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }
}

#[cfg(test)]
mod tests;
