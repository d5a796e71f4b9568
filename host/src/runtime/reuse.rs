//! Warm instances for routes with `isolation = "reuse"`: an instance that answered a
//! request cleanly goes back to its version's pool and serves the next request, like a
//! warm Lambda execution environment, up to the route's `max_reuse` requests.
//!
//! The trade-off, stated in the README: what one request leaves in the guest's memory
//! (globals, caches, a leaked secret) the next request on that instance can read. An
//! instance that trapped, ran out of time or fuel, or left resources behind is never
//! reused; a request that is observed (`POST /invoke`) always gets a fresh one.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use wasmtime::Store;
use wasmtime_wasi_http::p2::bindings::Proxy;

use super::state::{InvocationState, Sandbox};
use crate::config::limits::InvocationLimits;

/// Most idle instances one version keeps for reuse: each holds an instance slot of the
/// pooling allocator and its memory. Requests beyond them get fresh instances, which join
/// the pool when they end while there is room.
pub const MAX_IDLE_INSTANCES: usize = 8;

/// How long an idle instance is kept by default (`--reuse-idle-timeout`): one idle longer
/// is dropped, by the sweeper or when a request looks for one.
pub const IDLE_LIFETIME: Duration = Duration::from_secs(300);

/// How many idle instances all versions' pools may keep together (half of
/// `--max-instances`), how many they keep now, and how long each may stay idle.
pub(super) struct IdleBudget {
    max: usize,
    now: AtomicUsize,
    lifetime: Duration,
    /// Every version's pool, for the sweeper.
    pools: Mutex<Vec<Weak<InstancePool>>>,
    /// Whether the sweeper thread runs (started with the first idle instance).
    sweeping: AtomicBool,
}

impl IdleBudget {
    pub(super) fn new(max: usize, lifetime: Duration) -> Self {
        IdleBudget {
            max,
            now: AtomicUsize::new(0),
            lifetime,
            pools: Mutex::default(),
            sweeping: AtomicBool::new(false),
        }
    }

    /// A place for one more idle instance, if the budget has one.
    fn reserve(self: &Arc<Self>) -> Option<IdleSlot> {
        self.now
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |now| {
                (now < self.max).then_some(now + 1)
            })
            .ok()?;
        crate::telemetry::metrics().idle_instances.inc();
        Some(IdleSlot(self.clone()))
    }

    /// Drops the instances idle for longer than their lifetime in every pool, so that a
    /// route that went quiet gives back its instances' slots and memory.
    fn sweep(&self) {
        let pools: Vec<Arc<InstancePool>> = {
            let mut pools = lock(&self.pools);
            pools.retain(|pool| pool.strong_count() > 0);
            pools.iter().filter_map(Weak::upgrade).collect()
        };
        for pool in pools {
            pool.drop_expired();
        }
    }

    /// Starts the sweeper once: a thread that sweeps a few times per lifetime until the
    /// budget is dropped. Started with the first idle instance, so a gateway without
    /// `isolation = "reuse"` routes has none.
    fn start_sweeper(self: &Arc<Self>) {
        if self.sweeping.swap(true, Ordering::AcqRel) {
            return;
        }
        let every = (self.lifetime / 4).clamp(Duration::from_millis(100), Duration::from_secs(30));
        let started = crate::periodic::every("wasmgate-idle", every, self, IdleBudget::sweep);
        if let Err(error) = started {
            // Idle instances are then dropped only when a request looks for one.
            tracing::warn!(%error, "cannot start the idle instances' sweeper");
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

/// One idle instance's place in the [`IdleBudget`], given back when dropped.
struct IdleSlot(Arc<IdleBudget>);

impl Drop for IdleSlot {
    fn drop(&mut self) {
        self.0.now.fetch_sub(1, Ordering::AcqRel);
        crate::telemetry::metrics().idle_instances.dec();
    }
}

/// The idle instances of one handler version (kept with its compiled code, so across
/// route rebuilds), most recently used last.
pub struct InstancePool {
    idle: Mutex<Vec<(WarmInstance, IdleSlot)>>,
    budget: Arc<IdleBudget>,
    /// Set when a reused instance returned without a response where a fresh one had
    /// answered: the module cannot be called twice (componentize-js's JavaScript runtime,
    /// say), so its instances are not reused any more.
    refused: AtomicBool,
}

/// An instance that served requests and may serve another.
pub(super) struct WarmInstance {
    pub(super) store: Store<InvocationState>,
    pub(super) proxy: Proxy,
    /// Requests it served.
    pub(super) served: u32,
    /// What its store was made with (routes sharing a version may differ, and a module's
    /// settings may change): it serves only requests with the same.
    pub(super) limits: InvocationLimits,
    pub(super) sandbox: Arc<Sandbox>,
    /// When it went back to the pool.
    pub(super) idle_since: Instant,
}

impl InstancePool {
    /// An empty pool, known to `budget`'s sweeper.
    pub(super) fn new(budget: &Arc<IdleBudget>) -> Arc<Self> {
        let pool = Arc::new(InstancePool {
            idle: Mutex::default(),
            budget: budget.clone(),
            refused: AtomicBool::new(false),
        });
        let mut pools = lock(&budget.pools);
        // Versions come and go with deploys: forget those gone.
        pools.retain(|pool| pool.strong_count() > 0);
        pools.push(Arc::downgrade(&pool));
        drop(pools);
        pool
    }

    /// The most recently used idle instance made with `limits` and `sandbox`, if any;
    /// instances idle for longer than their lifetime are dropped on the way.
    pub(super) fn take(
        &self,
        limits: &InvocationLimits,
        sandbox: &Sandbox,
    ) -> Option<WarmInstance> {
        if self.refused.load(Ordering::Relaxed) {
            return None;
        }
        let mut idle = self.lock();
        let lifetime = self.budget.lifetime;
        let expired = take_expired(&mut idle, lifetime);
        let position = idle
            .iter()
            .rposition(|(warm, _)| warm.limits == *limits && *warm.sandbox == *sandbox);
        let taken = position.map(|position| idle.remove(position).0);
        // Dropped after the lock is released.
        drop(idle);
        drop(expired);
        taken
    }

    /// Drops the instances idle for longer than their lifetime (after the lock is
    /// released: dropping a store resets its memory).
    fn drop_expired(&self) {
        let lifetime = self.budget.lifetime;
        let expired = take_expired(&mut self.lock(), lifetime);
        drop(expired);
    }

    /// Keeps an instance that served a request cleanly; when the pool, or the budget of
    /// all pools, is full, this pool's instance idle longest makes room (dropped after the
    /// lock is released); with none, `warm` is dropped.
    pub(super) fn put(&self, mut warm: WarmInstance) {
        if self.refused.load(Ordering::Relaxed) {
            return;
        }
        warm.idle_since = Instant::now();
        let mut idle = self.lock();
        let mut evicted = None;
        // Room in this pool, and a place in the budget: the place of the instance this pool
        // drops for room, a new one, or else that of its instance idle longest.
        let slot = if idle.len() >= MAX_IDLE_INSTANCES {
            let (oldest, slot) = idle.remove(0);
            evicted = Some(oldest);
            Some(slot)
        } else {
            self.budget.reserve().or_else(|| {
                (!idle.is_empty()).then(|| {
                    let (oldest, slot) = idle.remove(0);
                    evicted = Some(oldest);
                    slot
                })
            })
        };
        let kept = slot.is_some();
        if let Some(slot) = slot {
            idle.push((warm, slot));
        }
        drop(idle);
        drop(evicted);
        if kept {
            self.budget.start_sweeper();
        }
    }

    /// A reused instance returned without a response to `request_id`: from now on the
    /// version's instances serve one request each (said once in the log), and the idle
    /// ones go.
    pub(super) fn refuse_reuse(&self, request_id: &str) {
        if !self.refused.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                request_id,
                "a reused instance returned without a response: this module cannot serve two \
                 requests from one instance, so `isolation = \"reuse\"` is off for it; each \
                 request gets a fresh instance"
            );
            let idle = std::mem::take(&mut *self.lock());
            drop(idle);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<(WarmInstance, IdleSlot)>> {
        lock(&self.idle)
    }
}

/// Takes the instances of `idle` (most recently used last) idle for `lifetime` or longer.
fn take_expired(
    idle: &mut Vec<(WarmInstance, IdleSlot)>,
    lifetime: Duration,
) -> Vec<(WarmInstance, IdleSlot)> {
    // The oldest come first: those up to the first one still young have expired.
    let fresh_from = idle
        .iter()
        .position(|(warm, _)| warm.idle_since.elapsed() < lifetime)
        .unwrap_or(idle.len());
    idle.drain(..fresh_from).collect()
}
