//! Spare instances: fresh instances made ahead of requests while the gateway is idle.
//!
//! When a fresh instance has answered cleanly on a gateway worker that is not under load
//! (it slept since its last hand-over, and no other instance is alive), its `Store` goes
//! to the preparer thread, which drops it there and makes a spare: a new instance of
//! the same version with the same limits and sandbox, which no request has touched. The
//! next request to that version takes the spare instead of instantiating. Instantiating
//! and dropping an instance, about 40% of a small handler's cost, so leave the path of a
//! request on an idle connection and run on a core that was idle.
//!
//! A spare is a fresh instance made early: it has served nothing, so isolation is that of
//! `isolation = "fresh"`. Only a request that gets a fresh instance anyway takes one (not
//! an observed or recorded one, nor a reused route's).
//!
//! Under load (a worker that does not sleep, or another instance alive) nothing is handed
//! over: the work would only move between busy cores, at a cost (measured: 15-20% fewer
//! requests a second at 32 connections when every request handed over). Spares hold
//! instance slots, so there are few: at most `--spare-instances` for all versions
//! together, and never more than an eighth of `--max-instances`; an instantiation that
//! finds the pool full drops them and tries again, so a spare does not cost a request its
//! slot.

use std::cell::Cell;
use std::collections::VecDeque;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, sync_channel};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use wasmtime::{PoolConcurrencyLimitError, Store};
use wasmtime_wasi_http::p2::bindings::{Proxy, ProxyPre};

use super::reuse::InstancePool;
use super::state::{InvocationState, Sandbox, StoreSetting, new_store};
use crate::config::limits::InvocationLimits;

/// How long a spare is kept: an older one is dropped instead of serving, or by the
/// preparer when it has had nothing else to do for [`SWEEP_EVERY`].
const SPARE_LIFETIME: Duration = Duration::from_secs(60);
/// How often an idle preparer drops the spares past their lifetime.
const SWEEP_EVERY: Duration = Duration::from_secs(15);

/// The gateway's spare instances and the thread that makes them.
pub(super) struct Spares {
    /// Oldest first.
    shelf: Mutex<VecDeque<Spare>>,
    max: usize,
    /// Where retired stores go; `None` when spares are off.
    preparer: Option<SyncSender<Retired>>,
}

/// What a spare is an instance of, and made with: only a request of the same version,
/// with the same limits and sandbox, takes it.
pub(super) struct SpareKind {
    /// Identifies the version (held, so its address is never another version's).
    pub(super) version: Arc<InstancePool>,
    pub(super) pre: ProxyPre<InvocationState>,
    pub(super) limits: InvocationLimits,
    pub(super) sandbox: Arc<Sandbox>,
}

impl SpareKind {
    fn is(
        &self,
        version: &Arc<InstancePool>,
        limits: &InvocationLimits,
        sandbox: &Sandbox,
    ) -> bool {
        Arc::ptr_eq(&self.version, version) && self.limits == *limits && *self.sandbox == *sandbox
    }
}

/// A fresh instance waiting for its request.
struct Spare {
    kind: SpareKind,
    store: Store<InvocationState>,
    proxy: Proxy,
    made: Instant,
}

/// What the preparer gets: an instance to drop, and the kind of spare to make.
struct Retired {
    store: Store<InvocationState>,
    proxy: Proxy,
    kind: SpareKind,
}

impl Spares {
    /// Up to `max` spares; with 0, none, and no thread.
    pub(super) fn new(max: usize) -> std::io::Result<Arc<Self>> {
        if max == 0 {
            return Ok(Arc::new(Spares {
                shelf: Mutex::default(),
                max,
                preparer: None,
            }));
        }
        // One retired instance may wait while another is being handled: more is load.
        let (sender, receiver) = sync_channel(1);
        let spares = Arc::new(Spares {
            shelf: Mutex::default(),
            max,
            preparer: Some(sender),
        });
        let weak = Arc::downgrade(&spares);
        std::thread::Builder::new()
            .name("wasmgate-spares".into())
            .spawn(move || prepare(receiver, weak))?;
        Ok(spares)
    }

    /// Whether spares are made at all.
    pub(super) fn enabled(&self) -> bool {
        self.preparer.is_some()
    }

    /// A spare of `version` made with `limits` and `sandbox`, if there is one.
    pub(super) fn take(
        &self,
        version: &Arc<InstancePool>,
        limits: &InvocationLimits,
        sandbox: &Sandbox,
    ) -> Option<(Store<InvocationState>, Proxy)> {
        if !self.enabled() {
            return None;
        }
        let mut shelf = self.lock();
        let position = shelf
            .iter()
            .position(|spare| spare.kind.is(version, limits, sandbox))?;
        let spare = shelf.remove(position)?;
        set_gauge(shelf.len());
        drop(shelf);
        if spare.made.elapsed() >= SPARE_LIFETIME {
            return None;
        }
        crate::telemetry::metrics().spare_instances_taken.inc();
        Some((spare.store, spare.proxy))
    }

    /// An instance that answered cleanly: handed to the preparer when its worker slept
    /// since its last hand-over ([`worker_idle`]: it is not under load), no other instance
    /// is alive (the gauge counts this one) and the preparer is free; else dropped here.
    pub(super) fn retire(&self, store: Store<InvocationState>, proxy: Proxy, kind: SpareKind) {
        let Some(preparer) = &self.preparer else {
            return;
        };
        let alive = crate::telemetry::metrics().instances.get();
        if alive > 1 || !SLEPT.replace(false) {
            return;
        }
        // At once, before the response is written: the spare is then made while the
        // response and the next request travel (measured: handing over after the write
        // left the next request without its spare more often).
        let retired = Retired { store, proxy, kind };
        // A busy preparer: the instance is dropped here (in the error), as without spares.
        let _ = preparer.try_send(retired);
    }

    /// Whether this thread is a gateway worker that slept since its last hand-over: what
    /// [`Spares::retire`] asks again at the end of the invocation.
    pub(super) fn worker_slept() -> bool {
        SLEPT.get()
    }

    /// Drops every spare; whether there were any.
    pub(super) fn clear(&self) -> bool {
        let dropped = std::mem::take(&mut *self.lock());
        set_gauge(0);
        !dropped.is_empty()
    }

    /// Drops the spares past their lifetime (a version that went quiet, or was replaced,
    /// gives back their slots and its compiled code).
    fn drop_expired(&self) {
        let mut shelf = self.lock();
        // Oldest first: those up to the first one still young have expired.
        let young_from = shelf
            .iter()
            .position(|spare| spare.made.elapsed() < SPARE_LIFETIME)
            .unwrap_or(shelf.len());
        let expired: Vec<Spare> = shelf.drain(..young_from).collect();
        set_gauge(shelf.len());
        drop(shelf);
        drop(expired);
    }

    /// Keeps `spare`, dropping the oldest when the shelf is full.
    fn put(&self, spare: Spare) {
        let mut shelf = self.lock();
        let evicted = (shelf.len() >= self.max).then(|| shelf.pop_front());
        shelf.push_back(spare);
        let count = shelf.len();
        drop(shelf);
        drop(evicted);
        set_gauge(count);
    }

    /// Whether a spare of `kind` waits already.
    fn has(&self, kind: &SpareKind) -> bool {
        self.lock()
            .iter()
            .any(|spare| spare.kind.is(&kind.version, &kind.limits, &kind.sandbox))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<Spare>> {
        self.shelf.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn set_gauge(count: usize) {
    crate::telemetry::metrics()
        .spare_instances
        .set(i64::try_from(count).unwrap_or(i64::MAX));
}

thread_local! {
    /// Whether this gateway worker slept since it last handed an instance over.
    static SLEPT: Cell<bool> = const { Cell::new(false) };
}

/// Called by a gateway worker each time it has nothing to run, before it sleeps. A worker
/// that never sleeps is under load: it hands nothing over, so nothing moves between busy
/// cores.
pub fn worker_idle() {
    SLEPT.set(true);
}

/// Instantiates `pre` into `store`; when the pool has no free slot and spares hold some,
/// they are dropped and the instantiation tried again.
pub(super) async fn instantiate(
    pre: &ProxyPre<InvocationState>,
    store: &mut Store<InvocationState>,
    spares: &Spares,
) -> wasmtime::Result<Proxy> {
    match pre.instantiate_async(&mut *store).await {
        Err(error)
            if error
                .chain()
                .any(|cause| cause.is::<PoolConcurrencyLimitError>())
                && spares.clear() =>
        {
            pre.instantiate_async(store).await
        }
        other => other,
    }
}

/// The preparer thread: makes the spares and drops retired instances, on a runtime of
/// its own (a guest's start may yield to it), and drops spares past their lifetime when
/// it has nothing else to do, until the gateway's `Spares` are dropped.
fn prepare(receiver: Receiver<Retired>, spares: Weak<Spares>) {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            tracing::warn!(%error, "cannot start the spare instances' runtime: no spares");
            return;
        }
    };
    loop {
        let retired = match receiver.recv_timeout(SWEEP_EVERY) {
            Ok(retired) => retired,
            Err(RecvTimeoutError::Timeout) => {
                let Some(spares) = spares.upgrade() else {
                    return;
                };
                spares.drop_expired();
                continue;
            }
            Err(RecvTimeoutError::Disconnected) => return,
        };
        let Some(spares) = spares.upgrade() else {
            return;
        };
        // The spare is made first and the retired instance dropped after: the spare is
        // ready sooner (measured at one connection: 70-75% of requests found theirs, against
        // 57-67% when dropping first).
        let Retired { store, proxy, kind } = retired;
        let retired = (store, proxy);
        if spares.has(&kind) {
            continue;
        }
        let setting = StoreSetting {
            facts: Default::default(),
            sandbox: &kind.sandbox,
            observation: None,
            tape: None,
        };
        let deadline = Instant::now() + kind.limits.timeout;
        let mut store = new_store(kind.pre.engine(), setting, &kind.limits, deadline);
        match runtime.block_on(kind.pre.instantiate_async(&mut store)) {
            Ok(proxy) => spares.put(Spare {
                kind,
                store,
                proxy,
                made: Instant::now(),
            }),
            Err(error) => tracing::debug!("no spare instance: {error:#}"),
        }
        drop(retired);
    }
}
