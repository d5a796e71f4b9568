//! Per-invocation limits of a route's handler, with their defaults and allowed ranges.
//!
//! Defaults follow API Gateway and Lambda (see `shared/REFERENCE.md`): a 29 s handler
//! timeout and 128 MiB of guest memory.

use std::time::Duration;

/// Default handler timeout (API Gateway's integration timeout).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(29);
/// Shortest timeout a route may set, in milliseconds.
pub const MIN_TIMEOUT_MS: u64 = 50;
/// Longest timeout a route may set, in milliseconds.
pub const MAX_TIMEOUT_MS: u64 = 29_000;

/// Default guest memory per instance, in MiB (Lambda's smallest size).
pub const DEFAULT_MEMORY_MB: u64 = 128;
/// Largest guest memory a route may set, in MiB (a 32-bit linear memory's maximum).
pub const MAX_MEMORY_MB: u64 = 4096;

/// Default largest request body, in MiB (API Gateway's payload limit).
pub const DEFAULT_MAX_BODY_MB: u64 = 10;
/// Largest request body a route may allow, in MiB.
pub const MAX_MAX_BODY_MB: u64 = 1024;

/// How long and how large one invocation of a handler may get.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvocationLimits {
    /// Wall-clock time from the start of instantiation to the end of the response body.
    pub timeout: Duration,
    /// Bytes of linear memory each instance may grow to.
    pub memory_bytes: u64,
    /// Largest request body, in bytes.
    pub max_body_bytes: u64,
    /// Instructions (roughly) the guest may run, with `--fuel-metering`.
    pub fuel: Option<u64>,
}

impl Default for InvocationLimits {
    fn default() -> Self {
        InvocationLimits {
            timeout: DEFAULT_TIMEOUT,
            memory_bytes: DEFAULT_MEMORY_MB << 20,
            max_body_bytes: DEFAULT_MAX_BODY_MB << 20,
            fuel: None,
        }
    }
}

impl InvocationLimits {
    /// The memory limit in whole MiB, for messages.
    pub fn memory_mb(&self) -> u64 {
        self.memory_bytes >> 20
    }
}
