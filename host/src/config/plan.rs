//! Usage plans: a rate limit, a request quota and a compute quota for each API key of the
//! plan.

use serde::{Deserialize, Serialize};

use super::ThrottleConfig;

/// The period of a quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum QuotaPeriod {
    /// A UTC calendar day.
    Day,
    /// A UTC calendar week, from Monday.
    Week,
    /// A UTC calendar month.
    Month,
}

/// Requests allowed per period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuotaConfig {
    /// Requests per period.
    pub limit: u64,
    /// The period.
    pub period: QuotaPeriod,
}

/// A usage plan.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanConfig {
    /// Each key's rate limit.
    pub throttle: Option<ThrottleConfig>,
    /// Each key's quota.
    pub quota: Option<QuotaConfig>,
    /// Each key's guest compute per period.
    pub compute: Option<ComputeConfig>,
}

/// Guest compute allowed per period: CPU time, memory-time, or both.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComputeConfig {
    /// Milliseconds the key's handlers may run on the gateway's threads.
    pub cpu_ms: Option<u64>,
    /// Gigabyte-seconds of memory: each invocation's peak memory times how long it ran.
    pub memory_gb_s: Option<f64>,
    /// The period.
    pub period: QuotaPeriod,
}

/// Most of either compute budget a plan may give: ten years of one thread a day.
const MAX_COMPUTE: f64 = 1e12;

impl ComputeConfig {
    /// Checks the budgets: at least one, each above zero.
    pub fn validate(&self) -> Result<(), String> {
        if self.cpu_ms.is_none() && self.memory_gb_s.is_none() {
            return Err("sets `cpu_ms`, `memory_gb_s` or both".into());
        }
        if let Some(cpu_ms) = self.cpu_ms
            && !(1..=MAX_COMPUTE as u64).contains(&cpu_ms)
        {
            return Err(format!("cpu_ms {cpu_ms} is not from 1 to {MAX_COMPUTE:e}"));
        }
        if let Some(gb_s) = self.memory_gb_s
            && !(gb_s > 0.0 && gb_s <= MAX_COMPUTE)
        {
            return Err(format!(
                "memory_gb_s {gb_s} is not above 0 and at most {MAX_COMPUTE:e}"
            ));
        }
        Ok(())
    }
}
