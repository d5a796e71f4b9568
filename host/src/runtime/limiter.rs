//! The bounds of one invocation, whatever its executor: its memories and tables together
//! within the route's `memory_mb` ([`SandboxLimiter`]), its time (an epoch check every tick
//! against its deadline) and its fuel ([`configure_store`], [`rearm`]).

use std::time::Instant;

use wasmtime::{ResourceLimiter, Store, UpdateDeadline};

use crate::config::limits::InvocationLimits;

/// A guest grew its linear memory past its route's `memory_mb`.
#[derive(Debug, thiserror::Error)]
#[error(
    "the handler tried to grow its memory to {desired_bytes} bytes (all its memories and tables), over its limit of {limit_mb} MiB"
)]
pub struct MemoryLimitExceeded {
    /// The size the guest asked for.
    pub desired_bytes: usize,
    /// The route's limit.
    pub limit_mb: usize,
}

/// Bounds what one invocation may allocate: its linear memories and tables together stay
/// within the route's `memory_mb` — counted across all of them, as an instance may have
/// several (up to [`MAX_MEMORIES`]). A growth past the limit traps with
/// [`MemoryLimitExceeded`] (instead of returning -1 to a guest that usually aborts without
/// saying why), so the gateway can name the limit in its 502.
pub(super) struct SandboxLimiter {
    limit_bytes: usize,
    /// Bytes of every memory and table allocated so far.
    used_bytes: usize,
    /// The last growth allowed (bytes before, after), undone if it then failed.
    last_growth: (usize, usize),
    /// When the invocation must end: the epoch callback interrupts the guest then.
    deadline: Instant,
}

/// Bytes a table element is counted as (a reference).
const TABLE_ELEMENT_BYTES: usize = 8;

impl SandboxLimiter {
    /// Bytes of every memory and table the instance has now (they never shrink).
    pub(super) fn used_bytes(&self) -> usize {
        self.used_bytes
    }

    /// The limits of a route's instances.
    pub(super) fn new(limits: &InvocationLimits) -> Self {
        SandboxLimiter {
            limit_bytes: usize::try_from(limits.memory_bytes).unwrap_or(usize::MAX),
            used_bytes: 0,
            last_growth: (0, 0),
            deadline: Instant::now(),
        }
    }

    /// Counts a memory or table growing from `current` to `desired` bytes, or refuses it.
    fn grow(
        &mut self,
        current: usize,
        desired: usize,
        beyond_maximum: bool,
    ) -> wasmtime::Result<bool> {
        let total = self
            .used_bytes
            .saturating_sub(current)
            .saturating_add(desired);
        if total > self.limit_bytes {
            return Err(wasmtime::Error::new(MemoryLimitExceeded {
                desired_bytes: total,
                limit_mb: self.limit_bytes >> 20,
            }));
        }
        if beyond_maximum {
            return Ok(false);
        }
        self.used_bytes = total;
        self.last_growth = (current, desired);
        Ok(true)
    }

    /// Undoes the count of the last growth, which failed.
    fn growth_failed(&mut self) {
        let (current, desired) = std::mem::take(&mut self.last_growth);
        self.used_bytes = self
            .used_bytes
            .saturating_sub(desired)
            .saturating_add(current);
    }
}

impl ResourceLimiter for SandboxLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.grow(current, desired, maximum.is_some_and(|max| desired > max))
    }

    fn memory_grow_failed(&mut self, _error: wasmtime::Error) -> wasmtime::Result<()> {
        self.growth_failed();
        Ok(())
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        // The pool's `table_elements` is the hard cap; `maximum` carries it.
        let beyond = maximum.is_some_and(|max| desired > max);
        self.grow(
            current.saturating_mul(TABLE_ELEMENT_BYTES),
            desired.saturating_mul(TABLE_ELEMENT_BYTES),
            beyond,
        )
    }

    fn table_grow_failed(&mut self, _error: wasmtime::Error) -> wasmtime::Result<()> {
        self.growth_failed();
        Ok(())
    }

    fn instances(&self) -> usize {
        MAX_CORE_INSTANCES
    }

    fn tables(&self) -> usize {
        MAX_TABLES
    }

    fn memories(&self) -> usize {
        MAX_MEMORIES
    }
}

/// Per-invocation caps on core instances, tables and memories: a component from any common
/// toolchain needs a handful of each.
const MAX_CORE_INSTANCES: usize = 64;
const MAX_TABLES: usize = 64;
const MAX_MEMORIES: usize = 8;

/// Bounds a store, of any executor, to `limits`: memory through `limiter`, hostcall fuel,
/// the route's fuel, and an epoch check every tick — until the deadline a running guest
/// yields through tokio's `yield_now` (so its worker thread polls its sockets and timers
/// before resuming it), at the deadline it traps.
pub(super) fn configure_store<T: 'static>(
    store: &mut Store<T>,
    limiter: fn(&mut T) -> &mut SandboxLimiter,
    limits: &InvocationLimits,
    deadline: Instant,
) {
    store.limiter(move |state| limiter(state) as &mut dyn ResourceLimiter);
    store.set_hostcall_fuel(HOSTCALL_FUEL);
    store.epoch_deadline_callback(move |mut context| {
        Ok(if Instant::now() >= limiter(context.data_mut()).deadline {
            UpdateDeadline::Interrupt
        } else {
            UpdateDeadline::YieldCustom(1, Box::pin(tokio::task::yield_now()))
        })
    });
    rearm(store, limiter, limits, deadline);
}

/// Gives an invocation (the first of a store, or the next one of a reused instance) its
/// fuel and `deadline`.
pub(super) fn rearm<T: 'static>(
    store: &mut Store<T>,
    limiter: fn(&mut T) -> &mut SandboxLimiter,
    limits: &InvocationLimits,
    deadline: Instant,
) {
    limiter(store.data_mut()).deadline = deadline;
    // With fuel metering on, every store needs fuel (a new one has none); without it this
    // fails, harmlessly.
    let _ = store.set_fuel(limits.fuel.unwrap_or(u64::MAX));
    // Check the deadline every tick (a new Store's deadline is 0 ticks: it would trap at
    // once).
    store.set_epoch_deadline(1);
}

/// Most bytes a guest may pass to the host in one call (wasmtime's default: 128 MiB).
pub(super) const HOSTCALL_FUEL: usize = 16 << 20;

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(mb: u64) -> SandboxLimiter {
        SandboxLimiter::new(&InvocationLimits {
            memory_bytes: mb << 20,
            ..InvocationLimits::default()
        })
    }

    #[test]
    fn the_limit_counts_every_memory_of_the_instance() {
        let mut limiter = limiter(32);
        assert!(
            limiter
                .memory_growing(0, 20 << 20, None)
                .expect("first memory")
        );
        // A second memory of 20 MiB would make 40: refused, though each is under 32.
        let second = limiter.memory_growing(0, 20 << 20, None);
        let error = second.expect_err("over the limit in all");
        assert!(
            error.to_string().contains("over its limit of 32 MiB"),
            "{error}"
        );
        assert!(limiter.memory_growing(0, 10 << 20, None).expect("within"));
        // Growing the first memory counts only the difference.
        assert!(
            limiter
                .memory_growing(20 << 20, 21 << 20, None)
                .expect("1 MiB more")
        );
        assert!(limiter.memory_growing(21 << 20, 23 << 20, None).is_err());
    }

    #[test]
    fn tables_count_too_and_failed_growths_are_given_back() {
        let mut limiter = limiter(1);
        assert!(
            limiter
                .table_growing(0, 100_000, Some(200_000))
                .expect("800 KB")
        );
        assert!(limiter.memory_growing(0, 256 << 10, None).is_err());
        // Beyond the table's own maximum: refused, and nothing counted.
        assert!(
            !limiter
                .table_growing(100_000, 300_000, Some(200_000))
                .is_ok_and(|ok| ok)
        );
        // A growth allowed, then failed: given back.
        assert!(limiter.memory_growing(0, 64 << 10, None).expect("64 KiB"));
        limiter
            .memory_grow_failed(wasmtime::Error::msg("no memory"))
            .expect("noted");
        assert!(
            limiter
                .memory_growing(0, 192 << 10, None)
                .expect("room again")
        );
    }
}
