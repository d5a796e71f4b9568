//! Warm instances for routes with `isolation = "reuse"`: an instance that answered a
//! request cleanly goes back to its version's pool and serves the next request, like a
//! warm Lambda execution environment, up to the route's `max_reuse` requests.
//!
//! The trade-off, stated in the README: what one request leaves in the guest's memory
//! (globals, caches, a leaked secret) the next request on that instance can read. An
//! instance that trapped, ran out of time or fuel, or left resources behind is never
//! reused; a request that is observed (`POST /invoke`) always gets a fresh one.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use wasmtime::Store;
use wasmtime_wasi_http::p2::bindings::Proxy;

use super::state::{InvocationState, Sandbox};
use crate::config::limits::InvocationLimits;

/// Most idle instances one version keeps for reuse: each holds an instance slot of the
/// pooling allocator and its memory. Requests beyond them get fresh instances, which join
/// the pool when they end while there is room.
pub const MAX_IDLE_INSTANCES: usize = 8;

/// How long an idle instance is kept: one older is dropped instead of serving.
pub const IDLE_LIFETIME: Duration = Duration::from_secs(300);

/// How many idle instances all versions' pools may keep together (half of
/// `--max-instances`), and how many they keep now.
pub(super) struct IdleBudget {
    max: usize,
    now: AtomicUsize,
}

impl IdleBudget {
    pub(super) fn new(max: usize) -> Self {
        IdleBudget {
            max,
            now: AtomicUsize::new(0),
        }
    }

    /// A place for one more idle instance, if the budget has one.
    fn reserve(self: &Arc<Self>) -> Option<IdleSlot> {
        self.now
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |now| {
                (now < self.max).then_some(now + 1)
            })
            .ok()?;
        Some(IdleSlot(self.clone()))
    }
}

/// One idle instance's place in the [`IdleBudget`], given back when dropped.
struct IdleSlot(Arc<IdleBudget>);

impl Drop for IdleSlot {
    fn drop(&mut self) {
        self.0.now.fetch_sub(1, Ordering::AcqRel);
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
    pub(super) fn new(budget: Arc<IdleBudget>) -> Self {
        InstancePool {
            idle: Mutex::default(),
            budget,
            refused: AtomicBool::new(false),
        }
    }

    /// The most recently used idle instance made with `limits` and `sandbox`, if any;
    /// instances idle for longer than [`IDLE_LIFETIME`] are dropped on the way.
    pub(super) fn take(
        &self,
        limits: &InvocationLimits,
        sandbox: &Sandbox,
    ) -> Option<WarmInstance> {
        if self.refused.load(Ordering::Relaxed) {
            return None;
        }
        let mut idle = self.lock();
        idle.retain(|(warm, _)| warm.idle_since.elapsed() < IDLE_LIFETIME);
        let position = idle
            .iter()
            .rposition(|(warm, _)| warm.limits == *limits && *warm.sandbox == *sandbox)?;
        Some(idle.remove(position).0)
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
        if let Some(slot) = slot {
            idle.push((warm, slot));
        }
        drop(idle);
        drop(evicted);
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
        self.idle.lock().unwrap_or_else(|p| p.into_inner())
    }
}
