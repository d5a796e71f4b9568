//! Per-invocation limits of a route's handler, with their defaults and allowed ranges.
//!
//! Defaults follow API Gateway and Lambda (see `shared/REFERENCE.md`): a 29 s handler
//! timeout and 128 MiB of guest memory.

use std::time::Duration;

use super::Setting;

/// Time one invocation may take, in milliseconds; the default is API Gateway's
/// integration timeout.
pub const TIMEOUT_MS: Setting<u64> = Setting::new(29_000, 50, 29_000, "ms");
/// Guest memory per instance, in MiB: by default Lambda's smallest size, at most what a
/// 32-bit linear memory can address.
pub const MEMORY_MB: Setting<u64> = Setting::new(128, 1, 4096, "MiB");
/// Largest request body, in MiB (the default is API Gateway's payload limit).
pub const MAX_BODY_MB: Setting<u64> = Setting::new(10, 1, 1024, "MiB");

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
            timeout: Duration::from_millis(TIMEOUT_MS.default),
            memory_bytes: MEMORY_MB.default << 20,
            max_body_bytes: MAX_BODY_MB.default << 20,
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
