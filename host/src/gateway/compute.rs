//! Compute quotas per API key: a usage plan's `compute = { cpu_ms, memory_gb_s, period }`
//! counts what its keys' invocations use, not how many there are.
//!
//! - **What is counted**: the time the guest ran on a gateway thread
//!   (`runtime/compute.rs`), and memory-time: the instance's peak memory times how long it
//!   lived, in GB-seconds (1 GB = 1024 MiB, as Lambda counts).
//! - **When**: a request is checked when it is admitted (429 once either budget is used
//!   up, with the reset time); its use is charged when its invocation ends, body
//!   included ([`ComputeCharge`], held with the admission). Requests of one key already
//!   running when the budget runs out still finish, so a key can go over by what those
//!   use.
//! - **Where**: beside the request quota's counts (`QuotaUsage`, saved with them), or with
//!   a store the nodes share, in Redis counters per key and period (checked with one
//!   round trip, charged with another after the response).

use std::sync::Arc;
use std::time::Instant;

use super::Gateway;
use super::keys::{PlanRuntime, QuotaUsage, period_of, unix_now};
use super::rejection::Rejection;
use super::request::RequestCtx;
use super::shared_throttle::{SharedThrottle, StoreDown};
use crate::config::{ComputeConfig, QuotaPeriod};
use crate::runtime::PhaseTimes;

/// Memory-time is counted in MiB-milliseconds: this many make a GB-second.
const MIB_MS_PER_GB_S: f64 = 1024.0 * 1000.0;

/// The two counters of a key: CPU microseconds, memory MiB-milliseconds.
const KINDS: [&str; 2] = ["cpu_us", "memory_mib_ms"];

/// The counters of key `id` in period `number`: kept here, or in the shared store.
pub(super) fn counters(id: &str, period: QuotaPeriod, number: u64, shared: bool) -> [String; 2] {
    KINDS.map(|kind| match shared {
        true => format!("wasmgate:compute:{kind}:{id}:{period:?}:{number}"),
        false => format!("compute:{kind}:{id}"),
    })
}

/// Which compute budget a key used up.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ComputeBudget {
    /// Milliseconds of guest CPU time.
    CpuMs(u64),
    /// GB-seconds of memory.
    MemoryGbS(f64),
}

impl std::fmt::Display for ComputeBudget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ComputeBudget::CpuMs(ms) => write!(f, "{ms} ms of CPU time"),
            ComputeBudget::MemoryGbS(gb_s) => write!(f, "{gb_s} GB-seconds of memory"),
        }
    }
}

/// A key's compute use in the current period, for the admin API.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct ComputeQuotaUse {
    /// CPU time used, in milliseconds.
    pub cpu_ms: f64,
    /// The plan's CPU budget.
    pub cpu_ms_limit: Option<u64>,
    /// Memory-time used, in GB-seconds.
    pub memory_gb_s: f64,
    /// The plan's memory budget.
    pub memory_gb_s_limit: Option<f64>,
    /// The kind of period.
    pub period: QuotaPeriod,
    /// When the next period starts (seconds since the epoch, UTC).
    pub resets_at: u64,
}

/// Checks the request's key against its plan's compute quota (429 when a budget is used
/// up): the charge to hold until its invocation ends, when the plan has one.
pub(super) async fn check(
    gateway: &Gateway,
    ctx: &RequestCtx,
) -> Result<Option<ComputeCharge>, Rejection> {
    let Some(key) = &ctx.key else {
        return Ok(None);
    };
    let Some((compute, plan)) = key.compute() else {
        return Ok(None);
    };
    let now = unix_now();
    let (number, resets_at) = period_of(now, compute.period);
    let shared = gateway.options.shared_throttle.clone();
    let used = match &shared {
        Some(store) => {
            let keys = counters(key.id(), compute.period, number, true);
            match store.read(&keys).await {
                Ok(used) => used,
                Err(StoreDown) => return Err(Rejection::ThrottleStoreDown),
            }
        }
        None => {
            let usage = &gateway.live.usage;
            let keys = counters(key.id(), compute.period, number, false);
            Some(
                keys.iter()
                    .map(|k| usage.used(k, compute.period, number))
                    .collect(),
            )
        }
    };
    if let Some(used) = used
        && let Some(budget) = used_up(&compute, &used)
    {
        return Err(Rejection::ComputeExceeded {
            budget,
            resets_at,
            now,
        });
    }
    Ok(Some(ComputeCharge {
        id: key.id().to_owned(),
        period: compute.period,
        number,
        resets_at,
        times: ctx.times.clone(),
        admitted: Instant::now(),
        usage: gateway.live.usage.clone(),
        shared,
        plan: plan.clone(),
    }))
}

/// The budget `used` (CPU µs, memory MiB-ms) has reached, if any.
fn used_up(compute: &ComputeConfig, used: &[u64]) -> Option<ComputeBudget> {
    let (cpu_us, memory) = (used.first().copied()?, used.get(1).copied()?);
    if let Some(ms) = compute.cpu_ms
        && cpu_us >= ms.saturating_mul(1000)
    {
        return Some(ComputeBudget::CpuMs(ms));
    }
    if let Some(gb_s) = compute.memory_gb_s
        && memory as f64 >= gb_s * MIB_MS_PER_GB_S
    {
        return Some(ComputeBudget::MemoryGbS(gb_s));
    }
    None
}

/// Charges an invocation's compute use to its key when dropped (when the invocation ends).
pub(super) struct ComputeCharge {
    id: String,
    period: QuotaPeriod,
    number: u64,
    resets_at: u64,
    times: Arc<PhaseTimes>,
    admitted: Instant,
    usage: Arc<QuotaUsage>,
    shared: Option<Arc<SharedThrottle>>,
    plan: Arc<PlanRuntime>,
}

impl Drop for ComputeCharge {
    fn drop(&mut self) {
        let busy = self.times.compute().busy();
        let cpu_us = u64::try_from(busy.as_micros()).unwrap_or(u64::MAX);
        // The instance lived from its creation (or, without one, its admission) until now.
        let born = (self.times.instantiate_span()).map_or(self.admitted, |(created, _)| created);
        let mib = self.times.compute().memory_peak() as f64 / f64::from(1 << 20);
        let mib_ms = mib * born.elapsed().as_secs_f64() * 1000.0;
        let (cpu_seconds, memory_gb_seconds) = &self.plan.compute_used;
        cpu_seconds.inc_by(busy.as_secs_f64());
        memory_gb_seconds.inc_by(mib_ms / MIB_MS_PER_GB_S);
        let amounts = [cpu_us, mib_ms.round() as u64];
        match self.shared.clone() {
            None => {
                let keys = counters(&self.id, self.period, self.number, false);
                for (key, amount) in keys.iter().zip(amounts) {
                    self.usage.add(key, self.period, self.number, amount);
                }
            }
            Some(store) => {
                let keys = counters(&self.id, self.period, self.number, true);
                let counted: Vec<(String, u64)> = keys.into_iter().zip(amounts).collect();
                let resets_at = self.resets_at;
                // An invocation ends on a runtime's thread (its task, or a response
                // body's drop); the charge goes out after it, off the request's path.
                if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                    runtime.spawn(async move { store.add(&counted, resets_at).await });
                }
            }
        }
    }
}

/// What `compute`'s period counted so far: `used` CPU microseconds and memory
/// MiB-milliseconds, at `now`.
pub(super) fn compute_use(compute: ComputeConfig, used: [u64; 2], now: u64) -> ComputeQuotaUse {
    ComputeQuotaUse {
        cpu_ms: used[0] as f64 / 1000.0,
        cpu_ms_limit: compute.cpu_ms,
        memory_gb_s: used[1] as f64 / MIB_MS_PER_GB_S,
        memory_gb_s_limit: compute.memory_gb_s,
        period: compute.period,
        resets_at: period_of(now, compute.period).1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn either_budget_used_up_refuses() {
        let compute = ComputeConfig {
            cpu_ms: Some(1_000),
            memory_gb_s: Some(2.0),
            period: QuotaPeriod::Day,
        };
        assert_eq!(used_up(&compute, &[999_999, 0]), None);
        assert_eq!(
            used_up(&compute, &[1_000_000, 0]),
            Some(ComputeBudget::CpuMs(1_000))
        );
        assert_eq!(
            used_up(&compute, &[0, 2 * 1_024_000]),
            Some(ComputeBudget::MemoryGbS(2.0))
        );
        let cpu_only = ComputeConfig {
            memory_gb_s: None,
            ..compute
        };
        assert_eq!(used_up(&cpu_only, &[0, u64::MAX]), None);
    }
}
