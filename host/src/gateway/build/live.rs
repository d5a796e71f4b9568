//! What outlives one route table: the state a rebuild keeps while a route's settings stay
//! the same, and the snapshot of routes swapped in as one.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::Semaphore;

use super::Route;
use super::authorizers::CacheIdentity;
use crate::config::{CorsPolicy, Protection, ThrottleConfig};
use crate::gateway::authorization::AuthorizerCache;
use crate::gateway::keys::{KeyRing, PlanRuntime, QuotaUsage};
use crate::gateway::protection::{RouteGuards, RouteStats};
use crate::gateway::recording::RecordingWriter;
use crate::gateway::throttle::Bucket;
use crate::routing::RouteTable;

/// State that outlives one route table: what a rebuild keeps while its settings stay the same:
/// decision caches by authorizer, guards (buckets, gates) and counters by route id, and
/// the gateway-wide bucket.
#[derive(Default)]
pub(in crate::gateway) struct LiveState {
    pub(super) caches: Mutex<HashMap<String, (CacheIdentity, Arc<AuthorizerCache>)>>,
    guards: Mutex<HashMap<String, Arc<RouteGuards>>>,
    stats: Mutex<HashMap<String, Arc<RouteStats>>>,
    global: Mutex<Option<(ThrottleConfig, Arc<Bucket>)>>,
    pub(super) plans: Mutex<HashMap<String, Arc<PlanRuntime>>>,
    unreserved: Mutex<Option<(usize, Arc<Semaphore>)>>,
    /// Quota usage of API keys (shared with invocations, which charge their compute use
    /// when they end).
    pub usage: Arc<QuotaUsage>,
    /// Where routes' recordings are stored.
    pub recordings: Option<Arc<RecordingWriter>>,
}

/// The routes and the gateway-wide bucket, swapped in as one.
pub(in crate::gateway) struct Snapshot {
    pub routes: RouteTable<Arc<Route>>,
    pub global: Option<Arc<Bucket>>,
    pub keys: Arc<KeyRing>,
    /// The instances no route reserves: routes without `concurrency`, and authorizers,
    /// share them.
    pub unreserved: Arc<Semaphore>,
    /// The gateway's CORS policy, also for requests no route takes.
    pub cors: Option<Arc<CorsPolicy>>,
}

pub(super) fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poison| poison.into_inner())
}

impl LiveState {
    /// Nothing yet but API keys' quota usage (as an earlier run left it).
    pub fn with_usage(usage: QuotaUsage) -> Self {
        LiveState {
            usage: Arc::new(usage),
            ..LiveState::default()
        }
    }

    /// The route's guards: the previous ones if its settings did not change.
    pub(super) fn guards(&self, id: &str, settings: &Protection) -> Arc<RouteGuards> {
        let stats = lock(&self.stats).entry(id.to_owned()).or_default().clone();
        let mut guards = lock(&self.guards);
        match guards.get(id) {
            Some(live) if live.settings == *settings => live.clone(),
            _ => {
                let fresh = Arc::new(RouteGuards::new(settings.clone(), stats));
                guards.insert(id.to_owned(), fresh.clone());
                fresh
            }
        }
    }

    /// The pool's instances that no route reserves: the previous semaphore while the
    /// reservations' sum is unchanged (its permits in use stay counted), else a new one.
    pub(super) fn unreserved(&self, pool: u32, reserved: u64) -> Arc<Semaphore> {
        let size = u64::from(pool).saturating_sub(reserved);
        let size = usize::try_from(size).unwrap_or(usize::MAX);
        let mut unreserved = lock(&self.unreserved);
        match &*unreserved {
            Some((kept, semaphore)) if *kept == size => semaphore.clone(),
            _ => {
                let semaphore = Arc::new(Semaphore::new(size));
                *unreserved = Some((size, semaphore.clone()));
                semaphore
            }
        }
    }

    pub(super) fn global(&self, config: Option<ThrottleConfig>) -> Option<Arc<Bucket>> {
        let mut global = lock(&self.global);
        let config = config?;
        match &*global {
            Some((live, bucket)) if *live == config => Some(bucket.clone()),
            _ => {
                let bucket = Arc::new(Bucket::new(config.validate().ok()?));
                *global = Some((config, bucket.clone()));
                Some(bucket)
            }
        }
    }

    /// The counters of route `id`, if it ever existed.
    pub(in crate::gateway) fn stats(&self, id: &str) -> Option<Arc<RouteStats>> {
        lock(&self.stats).get(id).cloned()
    }
}
