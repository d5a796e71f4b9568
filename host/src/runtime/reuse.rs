//! Warm instances for routes with `isolation = "reuse"`: an instance that answered a
//! request cleanly goes back to its version's pool and serves the next request, like a
//! warm Lambda execution environment, up to the route's `max_reuse` requests.
//!
//! The trade-off, stated in the README: what one request leaves in the guest's memory
//! (globals, caches, a leaked secret) the next request on that instance can read. An
//! instance that trapped, ran out of time or fuel, or left resources behind is never
//! reused; a request that is observed (`POST /invoke`) always gets a fresh one.

use std::sync::atomic::{AtomicBool, Ordering};
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

/// The idle instances of one handler version (kept with its compiled code, so across
/// route rebuilds), most recently used last.
#[derive(Default)]
pub struct InstancePool {
    idle: Mutex<Vec<WarmInstance>>,
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
        idle.retain(|warm| warm.idle_since.elapsed() < IDLE_LIFETIME);
        let position = idle
            .iter()
            .rposition(|warm| warm.limits == *limits && *warm.sandbox == *sandbox)?;
        Some(idle.remove(position))
    }

    /// Keeps an instance that served a request cleanly; when the pool is full, the one
    /// idle longest makes room (it is dropped after the lock is released).
    pub(super) fn put(&self, mut warm: WarmInstance) {
        if self.refused.load(Ordering::Relaxed) {
            return;
        }
        warm.idle_since = Instant::now();
        let mut idle = self.lock();
        let evicted = (idle.len() >= MAX_IDLE_INSTANCES).then(|| idle.remove(0));
        idle.push(warm);
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

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<WarmInstance>> {
        self.idle.lock().unwrap_or_else(|p| p.into_inner())
    }
}
