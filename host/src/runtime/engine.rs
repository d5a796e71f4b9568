//! The serving [`wasmtime::Engine`] of the process: async calls, epoch interruption, and
//! the pooling instance allocator tuned for a fresh instance per request. (Modules compile
//! on engines of their own with the same settings but the allocator: `compiler.rs`.)
//!
//! What `shared/PERF-NOTES.md` measured on wasmtime 48, applied here: the pool resets only
//! the pages a guest dirtied (`linear_memory_keep_resident` + `table_keep_resident` with
//! `pagemap_scan`), instead of `madvise`-ing whole slots away on every Store drop. Without
//! `pagemap_scan` keep-resident gains nothing, so its state is logged at start-up. Where the
//! kernel may swap the gateway's memory out, the scan is not safe and is turned off
//! (`runtime/swap.rs`).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

use wasmtime::{
    Config, Enabled, Engine, InstanceAllocationStrategy, OptLevel, PoolingAllocationConfig,
};

use crate::config::limits;

/// How often the epoch advances: the granularity of timeouts and of a busy guest's yields
/// to the other requests on its thread. Spin uses 10 ms; 1 ms keeps a CPU-bound guest from
/// adding more than a millisecond to its neighbours' latency (measured by
/// `tests/all/isolation.rs`), for a thousand wake-ups a second of one thread.
pub const EPOCH_TICK: Duration = Duration::from_millis(1);

/// Bytes of each memory and table that stay resident between instances and are reset by
/// copying back only the dirty pages.
const KEEP_RESIDENT: usize = 1 << 20;

/// Slots the pool keeps warm (their memory image mapped, their keep-resident pages dirty)
/// beyond those in use. Each holds up to a couple of MiB of a big guest's image (JS,
/// Python), so with wasmtime's default of 100, RSS after a load stayed ~3x idle; with 0
/// the slots ever used are as many as the most instances alive at once, and a module
/// with no free slot of its own takes the least recently used one of another module
/// (measured: 313 → 200 MB after the benchmark's loads, same req/s).
const UNUSED_WARM_SLOTS: u32 = 0;

/// Engine-wide settings.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// The most component instances alive at once, across all routes; beyond it requests
    /// get 503. Also sizes the pool's memories, tables and stacks.
    pub max_instances: u32,
    /// Count the instructions guests run, so routes can set a `fuel` budget (costs some
    /// speed on every route).
    pub fuel_metering: bool,
    /// Most fresh instances made ahead of requests while the gateway is idle (`spares.rs`);
    /// at most an eighth of `max_instances`. 0: none.
    pub spare_instances: u32,
    /// How long an idle instance of an `isolation = "reuse"` route is kept (`reuse.rs`).
    pub reuse_idle_timeout: std::time::Duration,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            max_instances: 1000,
            fuel_metering: false,
            spare_instances: 2,
            reuse_idle_timeout: super::reuse::IDLE_LIFETIME,
        }
    }
}

/// Builds the engine; returns it with the settings of an engine that only compiles for it
/// (the same, but for the instance allocator: `compiler.rs`).
pub(super) fn build_engine(options: &EngineOptions) -> wasmtime::Result<(Engine, Config)> {
    let instances = options.max_instances.max(1);
    let mut pool = PoolingAllocationConfig::default();
    // A component is several core instances (the guest, WASI adapters, shims) and usually
    // one memory and a few tables; size the core pools so the component count binds first.
    pool.total_component_instances(instances)
        .total_core_instances(instances.saturating_mul(8))
        .total_memories(instances.saturating_mul(2))
        .total_tables(instances.saturating_mul(8))
        .total_stacks(instances)
        .max_memory_size(usize::try_from(limits::MEMORY_MB.max << 20).unwrap_or(usize::MAX))
        .linear_memory_keep_resident(KEEP_RESIDENT)
        .table_keep_resident(KEEP_RESIDENT)
        .max_unused_warm_slots(UNUSED_WARM_SLOTS)
        .pagemap_scan(Enabled::Auto);
    if let Some(why) = super::swap::swap_possible() {
        // See `runtime/swap.rs`: the scan would miss dirty pages that were swapped out.
        pool.pagemap_scan(Enabled::No);
        tracing::warn!(
            "instance pool: {why}, so instances are reset without pagemap_scan (a swapped-out page \
             would escape the dirty-page scan and reach the next instance); this is slower: \
             turn swap off for the gateway (its cgroup's memory.swap.max = 0) to get it back"
        );
    } else if PoolingAllocationConfig::is_pagemap_scan_available() {
        tracing::info!("instance pool: dirty-page reset with pagemap_scan");
    } else {
        tracing::warn!(
            "instance pool: pagemap_scan is unavailable (Linux >= 6.7 needed); instances are reset with madvise, which is slower"
        );
    }

    let mut compiling = Config::new();
    compiling
        .wasm_component_model(true)
        .epoch_interruption(true)
        .consume_fuel(options.fuel_metering)
        .cranelift_opt_level(OptLevel::Speed);
    let mut serving = compiling.clone();
    serving.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    Ok((Engine::new(&serving)?, compiling))
}

/// What native code compiled by `engine` needs of the engine that loads it (wasmtime
/// version, settings, CPU features): equal for two engines when either loads the other's.
pub(super) fn compatibility(engine: &Engine) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut hasher);
    hasher.finish()
}

/// Advances the engine's epoch every [`EPOCH_TICK`] on a thread of its own, until dropped.
pub(super) struct EpochTicker {
    stop: Arc<AtomicBool>,
    thread: Option<thread::JoinHandle<()>>,
}

impl EpochTicker {
    pub(super) fn start(engine: &Engine) -> std::io::Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let engine = engine.weak();
        let thread = thread::Builder::new()
            .name("wasmgate-epoch".into())
            .spawn({
                let stop = stop.clone();
                move || {
                    while !stop.load(Ordering::Relaxed) {
                        thread::sleep(EPOCH_TICK);
                        match engine.upgrade() {
                            Some(engine) => engine.increment_epoch(),
                            None => break,
                        }
                    }
                }
            })?;
        Ok(EpochTicker {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            // The thread wakes within one tick; a panic there has nothing left to clean up.
            let _ = thread.join();
        }
    }
}
