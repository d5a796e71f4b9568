//! Building the gateway's routes from a registry state: each route's target resolved to
//! the compiled version(s) it runs, its authorizer to its component and decision cache,
//! and its protections to their buckets, gate and counters.

mod authorizers;
mod live;
mod versions;

use std::collections::HashMap;
use std::sync::Arc;

use http::HeaderName;

pub(super) use live::{LiveState, Snapshot};
pub(super) use versions::{Versions, load_handler};

use super::authorization::RouteAuthorizer;
use super::keys::KeyRing;
use super::protection::RouteGuards;
use super::recording::RecordingWriter;
use crate::config::limits::InvocationLimits;
use crate::config::{
    CacheSpec, CorsPolicy, IdentitySource, Integration, MockSpec, ProxySpec, Target,
};
use crate::registry::{Conflict, Registry, RegistryError, RegistryState};
use crate::routing::{MethodFilter, RouteTable};
use crate::runtime::{CompiledModule, Handler};
use crate::telemetry::{RouteLabels, RouteMetrics};
use authorizers::build_authorizers;
use versions::load_versions;

/// A route ready to serve.
pub struct Route {
    /// Its id in the admin API.
    pub id: String,
    /// Accepted methods.
    pub method: MethodFilter,
    /// The template, as written (the context interface returns it).
    pub template: Arc<str>,
    /// What it runs, as written (`hello@prod`, `mock 200`).
    pub integration: Integration,
    /// What it runs, ready; or why it cannot run.
    pub(super) backend: Result<Backend, Arc<str>>,
    /// The authorizer that must allow each request first.
    pub(super) authorizer: Option<Arc<RouteAuthorizer>>,
    /// Scopes the route's JWT authorizer requires.
    pub(super) scopes: Vec<String>,
    /// Rate limits, concurrency and counters.
    pub(super) guards: Arc<RouteGuards>,
    /// Whether requests need an API key.
    pub(super) api_key_required: bool,
    /// Timeout and memory of each invocation.
    pub limits: InvocationLimits,
    /// With `isolation = "reuse"`, the most requests one instance serves.
    pub(super) reuse: Option<u32>,
    /// Its metrics, labelled by its method and template.
    pub(super) metrics: Arc<RouteMetrics>,
    /// Its CORS policy: its own, else the gateway's.
    pub(super) cors: Option<Arc<CorsPolicy>>,
    /// Its response cache setting, if it keeps responses.
    pub(super) cache: Option<Arc<RouteCache>>,
    /// Its request schemas, if it validates requests.
    pub(super) validator: Option<Arc<crate::validation::RequestValidator>>,
    /// Its recording setting, if it records invocations.
    pub(super) recording: Option<Arc<RouteRecording>>,
}

/// A route's recording setting, where its recordings go, and the rate they may be made
/// at ([`crate::config::RECORDINGS_PER_SECOND`]).
pub(super) struct RouteRecording {
    pub spec: Arc<crate::config::RecordSpec>,
    pub writer: Arc<RecordingWriter>,
    pub rate: governor::DefaultDirectRateLimiter,
    /// Headers kept redacted: the spec's, and those the route's authorizer reads.
    pub redacted: Arc<[HeaderName]>,
    /// Query parameters whose values are kept redacted: those its authorizer reads.
    pub redacted_query: Vec<String>,
}

impl RouteRecording {
    fn new(
        spec: Arc<crate::config::RecordSpec>,
        writer: Arc<RecordingWriter>,
        authorizer: Option<&RouteAuthorizer>,
    ) -> Self {
        let quota = governor::Quota::per_second(crate::config::RECORDINGS_PER_SECOND);
        let mut redacted = spec.redacted.clone();
        let mut redacted_query = Vec::new();
        for source in authorizer.map_or(&[][..], |a| a.identity_sources()) {
            match source {
                IdentitySource::Header(name) => {
                    redacted.extend(HeaderName::from_bytes(name.as_bytes()).ok())
                }
                IdentitySource::Query(name) => redacted_query.push(name.clone()),
                IdentitySource::Path(_) | IdentitySource::SourceIp => {}
            }
        }
        RouteRecording {
            spec,
            writer,
            rate: governor::RateLimiter::direct(quota),
            redacted: redacted.into(),
            redacted_query,
        }
    }
}

/// A route's response cache: its setting, and the scope its keys start with (its id and
/// what it runs, so responses of an earlier version are not served after a deploy).
pub(super) struct RouteCache {
    pub spec: Arc<CacheSpec>,
    pub scope: String,
}

/// What a route runs, ready to serve.
pub(super) enum Backend {
    /// The version(s) of a module.
    Module(Arc<Versions<Handler>>),
    /// An upstream HTTP service.
    Proxy(Arc<ProxySpec>),
    /// A fixed answer.
    Mock(Arc<MockSpec>),
}

/// Resolves every stored route. A route whose version cannot be loaded (say, its stored
/// file was quarantined) stays, answering 503.
///
/// When the routes of `previous` are still the first routes, in the same order (a route
/// changed in place, or routes added), its trees are shared and only the new routes are
/// inserted: changing one route of 10,000 does not insert 10,000 again.
pub(super) fn build_routes(
    registry: &Registry,
    state: &RegistryState,
    live: &LiveState,
    previous: Option<&Snapshot>,
) -> Result<Snapshot, RegistryError> {
    let authorizers = build_authorizers(registry, state, &live.caches);
    // Many routes run the same target: load each target's versions once per build.
    let mut handlers_by_target: HashMap<&Target, Result<Arc<Versions<Handler>>, Arc<str>>> =
        HashMap::new();
    // Validated when it was stored; an invalid one cannot be there.
    let default_cors = (state.gateway.cors.as_ref())
        .and_then(|cors| cors.validate("cors").ok())
        .map(Arc::new);
    let mut routes = Vec::with_capacity(state.routes.len());
    for record in &state.routes {
        let spec = record.spec();
        let mut backend = match &spec.integration {
            Integration::Module(target) => handlers_by_target
                .entry(target)
                .or_insert_with(|| {
                    load_versions(registry, state, target, |module| match module {
                        CompiledModule::Handler(handler) => Ok(handler),
                        other => Err(other.kind()),
                    })
                    .map(Arc::new)
                })
                .clone()
                .map(Backend::Module),
            Integration::Proxy(proxy) => Ok(Backend::Proxy(proxy.clone())),
            Integration::Mock(mock) => Ok(Backend::Mock(mock.clone())),
        };
        let authorizer = match &spec.authorizer {
            None => None,
            Some(name) => match authorizers.get(name.as_str()) {
                Some(authorizer) => Some(authorizer.clone()),
                None => {
                    backend = Err(format!("its authorizer `{name}` does not exist").into());
                    None
                }
            },
        };
        if let Err(reason) = &backend {
            tracing::error!(route = %record.config.path, %reason, "route cannot run");
        }
        let cache = spec.cache.clone().map(|cache| {
            Arc::new(RouteCache {
                scope: cache_scope(record.id(), &backend),
                spec: cache,
            })
        });
        let template: Arc<str> = Arc::from(spec.template.as_str());
        let recording = (spec.record.clone())
            .zip(live.recordings.clone())
            .map(|(spec, writer)| {
                Arc::new(RouteRecording::new(spec, writer, authorizer.as_deref()))
            });
        routes.push(Arc::new(Route {
            guards: live.guards(record.id(), &spec.protection),
            id: record.id().to_owned(),
            method: spec.method.clone(),
            metrics: Arc::new(RouteMetrics::new(RouteLabels {
                method: Arc::from(spec.method.to_string()),
                route: template.clone(),
            })),
            template,
            integration: spec.integration.clone(),
            backend,
            authorizer,
            scopes: spec.scopes.clone(),
            api_key_required: spec.api_key_required,
            limits: spec.limits,
            reuse: spec.reuse,
            cors: spec.cors.clone().or_else(|| default_cors.clone()),
            cache,
            validator: record.validator().cloned(),
            recording,
        }));
    }
    let specs = state
        .routes
        .iter()
        .map(|record| (&record.spec().method, &record.spec().template));
    let kept = previous
        .map(|previous| &previous.routes)
        .filter(|table| table.common_prefix(specs) == table.len())
        .map_or(0, RouteTable::len);
    let added = routes.split_off(kept);
    // With nothing kept, `routes` is empty and only an empty previous table takes it.
    let mut table = previous
        .and_then(|previous| previous.routes.with_values(routes))
        .unwrap_or_default();
    for (record, route) in state.routes[kept..].iter().zip(added) {
        let spec = record.spec();
        table
            .insert(spec.method.clone(), spec.template.clone(), route)
            .map_err(|conflict| RegistryError::from(Conflict::from(conflict)))?;
    }
    let reserved: u64 = state
        .routes
        .iter()
        .filter_map(|r| r.spec().protection.concurrency.as_ref())
        .map(|concurrency| u64::from(concurrency.limit))
        .sum();
    Ok(Snapshot {
        routes: table,
        global: live.global(state.gateway.throttle),
        keys: Arc::new(KeyRing::build(state, &live.plans)),
        unreserved: live.unreserved(registry.instance_pool(), reserved),
        cors: default_cors,
    })
}

/// The start of a cached response's key on route `id`: the route and the versions it runs.
fn cache_scope(id: &str, backend: &Result<Backend, Arc<str>>) -> String {
    match backend {
        Ok(Backend::Module(versions)) => {
            let mut scope = format!("{id}#{}", versions.primary.label.to_str().unwrap_or(""));
            if let Some((canary, _)) = &versions.canary {
                scope.push('+');
                scope.push_str(canary.label.to_str().unwrap_or(""));
            }
            scope
        }
        _ => id.to_owned(),
    }
}
