//! The gateway: routes a request, runs its authorizer and handler, and turns every outcome
//! into a response.
//!
//! The routes live in a snapshot built from the registry (`build.rs`). A deploy builds a
//! new snapshot and swaps it in atomically: new requests see it at once, requests in flight
//! keep the `Route` (and handler version) they started with. `pipeline/` takes each
//! request through its steps (route, identify, throttle, read body, authorize, admit,
//! invoke, respond) with one [`RequestId`] and context; the other files are the mechanisms
//! the steps use (buckets, API keys, authorizers, deadlines, the concurrency gate).

mod authorization;
mod body;
mod build;
pub mod cache;
mod compute;
mod cors;
mod deadline;
mod decisions;
mod forwarded;
mod gate;
mod gauges;
mod jwt;
mod keys;
mod live_counts;
mod pipeline;
mod plan_use;
mod protection;
mod proxy;
pub mod record;
pub mod recording;
pub mod rejection;
mod request;
mod service_time;
mod shadow;
pub mod shared_throttle;
pub mod throttle;

use std::sync::Arc;

use arc_swap::ArcSwap;

pub use build::Route;
pub use compute::{ComputeBudget, ComputeQuotaUse};
pub use deadline::REQUEST_TIMEOUT;
pub use keys::{API_KEY_HEADER, QuotaUse};
pub use plan_use::{PlanLimits, PlanUse};
pub use protection::RouteStats;
pub use request::RequestId;

use crate::config::ModuleName;
use crate::registry::{Registry, RegistryError, RegistryState, WaitingRoute};
use crate::routing::RouteTable;
use crate::runtime::GuestBody;
use crate::runtime::Observation;
use crate::server::response::ResponseBody;

/// The response header naming the module version that answered (`hello@3`).
pub const EXECUTED_VERSION: http::HeaderName = http::HeaderName::from_static("x-wasmgate-version");

/// How often changed quota usage is saved: what a crash can lose.
pub const QUOTA_USAGE_SAVE_INTERVAL: std::time::Duration = std::time::Duration::from_secs(1);

/// Settings of the gateway itself.
#[derive(Debug, Clone)]
pub struct GatewayOptions {
    /// Longest pause between two chunks of a request body (then 408).
    pub body_idle_timeout: std::time::Duration,
    /// Longest a chunked request body may take to arrive in full (then 408).
    pub body_timeout: std::time::Duration,
    /// Proxies whose `Forwarded` / `X-Forwarded-For` say who the client is.
    pub trusted_proxies: crate::config::TrustedProxies,
    /// Whether every request writes an access-log line (and is kept for `GET /logs`).
    pub access_log: bool,
    /// Whether every request is counted in the per-route metrics.
    pub metrics: bool,
    /// Rate limits kept in the store several nodes share, in place of local buckets.
    pub shared_throttle: Option<Arc<shared_throttle::SharedThrottle>>,
}

impl Default for GatewayOptions {
    fn default() -> Self {
        GatewayOptions {
            body_idle_timeout: body::BODY_IDLE_TIMEOUT,
            body_timeout: body::BODY_TIMEOUT,
            trusted_proxies: crate::config::TrustedProxies::default(),
            access_log: true,
            metrics: true,
            shared_throttle: None,
        }
    }
}

/// Routes and their compiled handlers, swapped whole on every deploy.
pub struct Gateway {
    registry: Arc<Registry>,
    snapshot: ArcSwap<build::Snapshot>,
    live: build::LiveState,
    /// Held while quota usage is saved.
    saving: std::sync::Mutex<()>,
    options: GatewayOptions,
    /// The manifest's routes whose module is still compiling at start-up (by module name):
    /// they answer 503 with `Retry-After` until the module is uploaded and they are routes.
    compiling: ArcSwap<RouteTable<ModuleName>>,
    /// Responses kept by routes with a response cache.
    cache: Arc<cache::ResponseCache>,
}

impl crate::server::HttpService for Gateway {
    fn handle(
        &self,
        request: hyper::Request<hyper::body::Incoming>,
    ) -> impl Future<Output = hyper::Response<ResponseBody>> + Send {
        Gateway::handle(self, request)
    }
}

impl Gateway {
    /// Builds the routes the registry holds (loading every handler version they use), and
    /// subscribes to the registry's changes to rebuild them after each.
    pub fn new(
        registry: Arc<Registry>,
        options: GatewayOptions,
    ) -> Result<Arc<Self>, RegistryError> {
        let usage = match registry.load_quota_usage() {
            Ok(saved) => keys::QuotaUsage::restored(saved),
            Err(error) => {
                tracing::error!(%error, "API key quota usage not restored: counting from zero");
                keys::QuotaUsage::default()
            }
        };
        let mut live = build::LiveState::with_usage(usage);
        let recordings = recording::RecordingWriter::start(registry.recordings()).map_err(|e| {
            RegistryError::Storage(format!("cannot start the recordings writer: {e}"))
        })?;
        live.recordings = Some(recordings);
        let snapshot = build::build_routes(&registry, &registry.state(), &live, None)?;
        // Code compiled for these routes is loaded, not compiled again, at the next start.
        registry.record_native_code();
        let gateway = Arc::new(Gateway {
            registry: registry.clone(),
            snapshot: ArcSwap::from_pointee(snapshot),
            live,
            saving: std::sync::Mutex::new(()),
            options,
            compiling: ArcSwap::default(),
            cache: Arc::default(),
        });
        crate::telemetry::metrics()
            .register_collector(Box::new(gauges::GatewayGauges(Arc::downgrade(&gateway))));
        let weak = Arc::downgrade(&gateway);
        registry.subscribe(move |state| {
            if let Some(gateway) = weak.upgrade() {
                gateway.rebuild(state);
            }
        });
        crate::periodic::every(
            "quota-usage",
            QUOTA_USAGE_SAVE_INTERVAL,
            &gateway,
            Gateway::save_quota_usage,
        )
        .map_err(|e| RegistryError::Storage(format!("cannot start the quota usage saver: {e}")))?;
        Ok(gateway)
    }

    /// Saves API keys' quota usage if it changed since the last save (the gateway does so
    /// every [`QUOTA_USAGE_SAVE_INTERVAL`] by itself; call it once more when stopping).
    pub fn save_quota_usage(&self) {
        // One save at a time: an older snapshot must not land after a newer one.
        let _saving = self
            .saving
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        if let Some(usage) = self.live.usage.changes()
            && let Err(error) = self.registry.save_quota_usage(&usage)
        {
            self.live.usage.unsaved();
            tracing::error!(%error, "API key quota usage not saved; retrying");
        }
    }

    /// Builds the routes of `state` and swaps them in; on failure the current routes stay.
    fn rebuild(&self, state: &RegistryState) {
        let previous = self.snapshot.load();
        match build::build_routes(&self.registry, state, &self.live, Some(&previous)) {
            Ok(snapshot) => {
                forget_removed_routes(&previous, &snapshot);
                self.snapshot.store(Arc::new(snapshot));
            }
            Err(error) => tracing::error!(%error, "routes not rebuilt; the previous ones serve"),
        }
    }

    /// Sets the manifest routes that wait for their module to compile at start-up: until
    /// they are routes, requests for them get 503 with `Retry-After`.
    pub fn set_compiling(&self, routes: &[WaitingRoute]) {
        let mut table = RouteTable::new();
        for (method, template, module) in routes {
            // The manifest's routes agree with each other, checked when it was read.
            let _ = table.insert(method.clone(), template.clone(), module.clone());
        }
        self.compiling.store(Arc::new(table));
    }

    /// The module a request for `method` and `path` waits for, if it is a route of the
    /// manifest whose module still compiles.
    pub(crate) fn compiling(&self, method: &http::Method, path: &str) -> Option<ModuleName> {
        match self.compiling.load().lookup(method, path) {
            crate::routing::Lookup::Found { route, .. } => Some(route.clone()),
            _ => None,
        }
    }

    /// One line a route, sorted: `  GET /hello/{name} -> hello`, with `(compiling)` after
    /// those waiting for their module.
    pub fn route_lines(&self) -> Vec<String> {
        let compiling = self.compiling.load();
        let mut lines: Vec<String> = self
            .routes()
            .iter()
            .map(|route| {
                format!(
                    "  {} {} -> {}",
                    route.method, route.template, route.integration
                )
            })
            .chain(compiling.iter().map(|(method, template, module)| {
                format!("  {method} {template} -> {module} (compiling)")
            }))
            .collect();
        lines.sort();
        lines
    }

    /// The registry behind the routes.
    pub fn registry(&self) -> &Arc<Registry> {
        &self.registry
    }

    /// Where routes' recordings are kept.
    pub fn recordings(&self) -> crate::registry::RecordingStore {
        self.registry.recordings()
    }

    /// The responses routes keep.
    pub fn response_cache(&self) -> &cache::ResponseCache {
        &self.cache
    }

    /// Every route, in the registry's order.
    pub fn routes(&self) -> Vec<Arc<Route>> {
        self.snapshot
            .load()
            .routes
            .iter()
            .map(|(_, _, r)| r.clone())
            .collect()
    }

    /// The counters of route `id` (live while the gateway runs, even across deploys).
    pub fn route_stats(&self, id: &str) -> Option<serde_json::Value> {
        self.live.stats(id).map(|stats| stats.snapshot())
    }

    /// Serves one request: route it, authorize it, run its handler, answer. Never fails:
    /// every failure becomes a [`rejection::Rejection`] response.
    pub async fn handle<B>(&self, request: hyper::Request<B>) -> hyper::Response<ResponseBody>
    where
        B: GuestBody + Unpin,
    {
        self.handle_observed(request, None).await
    }

    /// [`Gateway::handle`], recording the invocation in `observation` (the admin API's test
    /// invoke): the same routing, limits and answers.
    pub async fn handle_observed<B>(
        &self,
        request: hyper::Request<B>,
        observation: Option<Arc<Observation>>,
    ) -> hyper::Response<ResponseBody>
    where
        B: GuestBody + Unpin,
    {
        pipeline::serve(self, request, observation).await
    }
}

/// Removes the metric series of routes `previous` had and `next` has not (by method and
/// template), so that route churn does not grow the metrics for ever.
fn forget_removed_routes(previous: &build::Snapshot, next: &build::Snapshot) {
    let kept: std::collections::HashSet<&crate::telemetry::RouteLabels> = next
        .routes
        .iter()
        .map(|(_, _, route)| &route.metrics.labels)
        .collect();
    for (_, _, route) in previous.routes.iter() {
        if !kept.contains(&route.metrics.labels) {
            route.metrics.forget();
        }
    }
}
