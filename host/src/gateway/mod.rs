//! The gateway: routes a request, runs its authorizer and handler, and turns every outcome
//! into a response.
//!
//! The routes live in a snapshot built from the registry (`build.rs`). A deploy builds a
//! new snapshot and swaps it in atomically: new requests see it at once, requests in flight
//! keep the `Route` (and handler version) they started with. `authorization.rs` runs a
//! route's authorizer before its handler.

mod authorization;
mod body;
mod build;
mod jwt;
mod keys;
mod protection;

use std::net::SocketAddr;
use std::sync::Arc;

use arc_swap::ArcSwap;
use bytes::Bytes;
use http::HeaderValue;
use hyper::body::Body;

pub use build::Route;
pub use keys::API_KEY_HEADER;
pub use protection::RouteStats;

use crate::registry::{Registry, RegistryError, RegistryState};
use crate::rejection::{REQUEST_ID, Rejection, ResponseBody};
use crate::routing::Lookup;
use crate::runtime::{Invocation, InvocationFacts, InvokeError, Observation};

/// The response header naming the module version that answered (`hello@3`).
pub const EXECUTED_VERSION: http::HeaderName = http::HeaderName::from_static("x-wasmgate-version");

/// The client's address, put in each request's extensions by the server.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub SocketAddr);

/// How often changed quota usage is saved: what a crash can lose.
pub const QUOTA_USAGE_SAVE_INTERVAL: std::time::Duration = std::time::Duration::from_secs(1);

/// Settings of the gateway itself.
#[derive(Debug, Clone)]
pub struct GatewayOptions {
    /// Longest pause between two chunks of a request body (then 408).
    pub body_idle_timeout: std::time::Duration,
}

impl Default for GatewayOptions {
    fn default() -> Self {
        GatewayOptions {
            body_idle_timeout: body::BODY_IDLE_TIMEOUT,
        }
    }
}

/// Routes and their compiled handlers, swapped whole on every deploy.
pub struct Gateway {
    registry: Arc<Registry>,
    snapshot: ArcSwap<build::Snapshot>,
    kept: build::Kept,
    /// Held while quota usage is saved.
    saving: std::sync::Mutex<()>,
    options: GatewayOptions,
}

impl crate::server::HttpHandler for Gateway {
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
        let kept = build::Kept::with_usage(usage);
        let snapshot = build::build_routes(&registry, &registry.state(), &kept)?;
        let gateway = Arc::new(Gateway {
            registry: registry.clone(),
            snapshot: ArcSwap::from_pointee(snapshot),
            kept,
            saving: std::sync::Mutex::new(()),
            options,
        });
        let weak = Arc::downgrade(&gateway);
        registry.subscribe(move |state| {
            if let Some(gateway) = weak.upgrade() {
                gateway.rebuild(state);
            }
        });
        let weak = Arc::downgrade(&gateway);
        std::thread::Builder::new()
            .name("quota-usage".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(QUOTA_USAGE_SAVE_INTERVAL);
                    match weak.upgrade() {
                        Some(gateway) => gateway.save_quota_usage(),
                        None => break,
                    }
                }
            })
            .map_err(|e| {
                RegistryError::Storage(format!("cannot start the quota usage saver: {e}"))
            })?;
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
        if let Some(usage) = self.kept.usage.changes()
            && let Err(error) = self.registry.save_quota_usage(&usage)
        {
            self.kept.usage.unsaved();
            tracing::error!(%error, "API key quota usage not saved; retrying");
        }
    }

    /// Builds the routes of `state` and swaps them in; on failure the current routes stay.
    fn rebuild(&self, state: &RegistryState) {
        match build::build_routes(&self.registry, state, &self.kept) {
            Ok(snapshot) => self.snapshot.store(Arc::new(snapshot)),
            Err(error) => tracing::error!(%error, "routes not rebuilt; the previous ones serve"),
        }
    }

    /// The registry behind the routes.
    pub fn registry(&self) -> &Arc<Registry> {
        &self.registry
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

    /// The counters of route `id` (kept while the gateway runs, even across deploys).
    pub fn route_stats(&self, id: &str) -> Option<serde_json::Value> {
        self.kept.stats(id).map(|stats| stats.snapshot())
    }

    /// Serves one request: route it, authorize it, run its handler, answer. Never fails:
    /// every failure becomes a [`Rejection`] response.
    pub async fn handle<B>(&self, request: hyper::Request<B>) -> hyper::Response<ResponseBody>
    where
        B: Body<Data = Bytes> + Send + Unpin + 'static,
        B::Error: Into<wasmtime_wasi_http::Error>,
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
        B: Body<Data = Bytes> + Send + Unpin + 'static,
        B::Error: Into<wasmtime_wasi_http::Error>,
    {
        let uuid = uuid::Uuid::new_v4();
        let request_id = uuid.to_string();
        let id_header = HeaderValue::from_str(&request_id)
            .unwrap_or_else(|_| HeaderValue::from_static("invalid-request-id"));
        let (route, params, global, key_ring) = {
            let snapshot = self.snapshot.load();
            match snapshot
                .routes
                .lookup(request.method(), request.uri().path())
            {
                Lookup::Found { route, params } => (
                    route.clone(),
                    params,
                    snapshot.global.clone(),
                    route.api_key_required.then(|| snapshot.keys.clone()),
                ),
                Lookup::InvalidParam { name } => {
                    return Rejection::BadRequest(format!(
                        "the path parameter `{name}` is not valid UTF-8 once percent-decoded"
                    ))
                    .into_response(&id_header);
                }
                Lookup::MethodNotAllowed { allow } => {
                    return Rejection::MethodNotAllowed { allow }.into_response(&id_header);
                }
                Lookup::NotFound => return Rejection::NotFound.into_response(&id_header),
            }
        };
        if let Some(observation) = &observation {
            observation.set_route(&route.id, &route.template);
        }

        let (parts, body) = request.into_parts();
        let source_ip = parts.extensions.get::<ClientAddr>().map(|addr| addr.0.ip());
        // The API key first: an invalid one uses up nobody's tokens.
        let key = match key_ring.as_ref().map(|ring| ring.identify(&parts.headers)) {
            Some(Err(rejection)) => return rejection.into_response(&id_header),
            Some(Ok(key)) => Some(key),
            None => None,
        };
        let checked = route
            .guards
            .throttle(global.as_deref(), &parts, source_ip)
            .and_then(|rate| {
                let key_rate = match &key {
                    Some(key) => key.throttle()?,
                    None => None,
                };
                Ok(match (rate, key_rate) {
                    (Some(a), Some(b)) => Some(a.tighter(b)),
                    (a, b) => a.or(b),
                })
            });
        let rate = match checked {
            Ok(rate) => rate,
            Err(rejection) => {
                let verdict = match &rejection {
                    Rejection::Throttled(verdict) => Some(*verdict),
                    _ => None,
                };
                let mut response = rejection.into_response(&id_header);
                if let Some(verdict) = verdict {
                    protection::rate_limit_headers(response.headers_mut(), &verdict);
                }
                return response;
            }
        };
        let body = match body::prepare(
            &parts.headers,
            body,
            route.limits.max_body_bytes,
            self.options.body_idle_timeout,
        )
        .await
        {
            Ok(body) => body,
            Err(rejection) => return rejection.into_response(&id_header),
        };
        let mut response = self
            .authorize_and_invoke(
                &route,
                key.as_deref(),
                parts,
                body,
                params,
                source_ip,
                &uuid,
                request_id,
                &id_header,
                observation,
            )
            .await;
        if let Some(verdict) = rate {
            protection::rate_limit_headers(response.headers_mut(), &verdict);
        }
        response
    }

    /// The rest of [`Gateway::handle_observed`] once the route is known and not throttled.
    #[expect(
        clippy::too_many_arguments,
        reason = "the parts of one request, passed on once"
    )]
    async fn authorize_and_invoke(
        &self,
        route: &Arc<Route>,
        key: Option<&keys::KeyEntry>,
        parts: http::request::Parts,
        body: body::RequestBody,
        params: Vec<(String, String)>,
        source_ip: Option<std::net::IpAddr>,
        uuid: &uuid::Uuid,
        request_id: String,
        id_header: &HeaderValue,
        observation: Option<Arc<Observation>>,
    ) -> hyper::Response<ResponseBody> {
        let versions = match &route.handlers {
            Ok(versions) => versions,
            Err(reason) => {
                return Rejection::Unavailable(reason.clone()).into_response(id_header);
            }
        };
        let (principal, authorizer_context) = match &route.authorizer {
            None => (None, Vec::new()),
            Some(authorizer) => {
                let view = authorization::RequestView {
                    parts: &parts,
                    params: &params,
                    source_ip,
                    request_id: &request_id,
                    uuid,
                    route: &route.template,
                    scopes: &route.scopes,
                };
                let started = std::time::Instant::now();
                let checked = authorizer.check(view).await;
                if let Some(observation) = &observation {
                    observation.set_authorize_time(started.elapsed());
                }
                match checked {
                    Ok(allowed) => (Some(allowed.principal), allowed.context),
                    Err(rejection) => return rejection.into_response(id_header),
                }
            }
        };
        let admission = match route.guards.admit().await {
            Ok(admission) => admission,
            Err(rejection) => return rejection.into_response(id_header),
        };
        if let Some(Err(rejection)) = key.map(|key| key.take_quota(&self.kept.usage)) {
            return rejection.into_response(id_header);
        }
        let request = hyper::Request::from_parts(parts, body);

        let version = versions.pick(uuid);
        let facts = InvocationFacts {
            request_id,
            route: route.template.clone(),
            path_params: params,
            principal,
            authorizer_context,
            client_ip: source_ip,
        };
        match version
            .compiled
            .invoke(
                request,
                Invocation {
                    facts,
                    limits: &route.limits,
                    sandbox: &version.sandbox,
                    observation,
                    hold: admission,
                },
            )
            .await
        {
            Ok(mut response) => {
                let headers = response.headers_mut();
                headers.insert(REQUEST_ID, id_header.clone());
                headers.insert(EXECUTED_VERSION, version.label.clone());
                response
            }
            Err(error) => {
                log_failure(id_header, route, &error);
                let mut response = Rejection::Handler(error).into_response(id_header);
                response
                    .headers_mut()
                    .insert(EXECUTED_VERSION, version.label.clone());
                response
            }
        }
    }
}

fn log_failure(request_id: &HeaderValue, route: &Route, error: &InvokeError) {
    tracing::warn!(
        request_id = ?request_id,
        route = %route.template,
        target = %route.target,
        %error,
        "invocation failed"
    );
}
