//! Building the gateway's routes from a registry state: each route's target resolved to
//! the compiled version(s) it runs, its authorizer to its component and decision cache,
//! and its protections to their buckets, gate and counters.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::Semaphore;

use http::{HeaderName, HeaderValue};

use super::authorization::{AuthorizerCache, Decider, RouteAuthorizer, Shadow};
use super::keys::{KeyRing, PlanRuntime, QuotaUsage};
use super::protection::{RouteGuards, RouteStats};
use super::recording::RecordingWriter;
use super::throttle::Bucket;
use crate::config::limits::InvocationLimits;
use crate::config::{
    AuthorizerKindSpec, CorsPolicy, Integration, MockSpec, Protection, ProxySpec, Target,
};
use crate::config::{CacheSpec, IdentitySource, Qualifier, ThrottleConfig};
use crate::registry::{AuthorizerRecord, Conflict, Registry, RegistryError, RegistryState};
use crate::routing::{MethodFilter, RouteTable};
use crate::runtime::{
    AuthorizerComponent, CompiledModule, Handler, KeyValueAccess, ModuleKind, Sandbox,
};
use crate::telemetry::{RouteLabels, RouteMetrics};

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

/// The version a target runs, and possibly a canary sharing its traffic.
pub(super) struct Versions<T> {
    primary: Version<T>,
    canary: Option<(Version<T>, u8)>,
}

/// One compiled version, its `module@version` label and its module's sandbox settings.
pub(super) struct Version<T> {
    pub label: HeaderValue,
    pub compiled: T,
    pub sandbox: Arc<Sandbox>,
}

impl<T> Versions<T> {
    /// Picks the version for one request: the canary takes `percent` of requests, decided
    /// by the request id's random bits.
    pub fn pick(&self, request_id: &uuid::Uuid) -> &Version<T> {
        match &self.canary {
            Some((canary, percent)) if (request_id.as_u128() % 100) < u128::from(*percent) => {
                canary
            }
            _ => &self.primary,
        }
    }
}

/// State that outlives one route table: what a rebuild keeps while its settings stay the same:
/// decision caches by authorizer, guards (buckets, gates) and counters by route id, and
/// the gateway-wide bucket.
#[derive(Default)]
pub(super) struct LiveState {
    caches: Mutex<HashMap<String, (CacheIdentity, Arc<AuthorizerCache>)>>,
    guards: Mutex<HashMap<String, Arc<RouteGuards>>>,
    stats: Mutex<HashMap<String, Arc<RouteStats>>>,
    global: Mutex<Option<(ThrottleConfig, Arc<Bucket>)>>,
    plans: Mutex<HashMap<String, Arc<PlanRuntime>>>,
    unreserved: Mutex<Option<(usize, Arc<Semaphore>)>>,
    /// Quota usage of API keys (shared with invocations, which charge their compute use
    /// when they end).
    pub usage: Arc<QuotaUsage>,
    /// Where routes' recordings are stored.
    pub recordings: Option<Arc<RecordingWriter>>,
}

/// The routes and the gateway-wide bucket, swapped in as one.
pub(super) struct Snapshot {
    pub routes: RouteTable<Arc<Route>>,
    pub global: Option<Arc<Bucket>>,
    pub keys: Arc<KeyRing>,
    /// The instances no route reserves: routes without `concurrency`, and authorizers,
    /// share them.
    pub unreserved: Arc<Semaphore>,
    /// The gateway's CORS policy, also for requests no route takes.
    pub cors: Option<Arc<CorsPolicy>>,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
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
    fn guards(&self, id: &str, settings: &Protection) -> Arc<RouteGuards> {
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
    fn unreserved(&self, pool: u32, reserved: u64) -> Arc<Semaphore> {
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

    fn global(&self, config: Option<ThrottleConfig>) -> Option<Arc<Bucket>> {
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
    pub(super) fn stats(&self, id: &str) -> Option<Arc<RouteStats>> {
        lock(&self.stats).get(id).cloned()
    }
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

/// What a decision cache is valid for: the authorizer's configuration and the module
/// versions it runs. Decisions are thrown away when either changes.
type CacheIdentity = (AuthorizerRecord, Vec<String>);

fn build_authorizers(
    registry: &Registry,
    state: &RegistryState,
    caches: &Mutex<HashMap<String, (CacheIdentity, Arc<AuthorizerCache>)>>,
) -> HashMap<String, Arc<RouteAuthorizer>> {
    let mut caches = lock(caches);
    let identity = |authorizer: &AuthorizerRecord| -> CacheIdentity {
        let versions = authorizer
            .target()
            .and_then(|target| Registry::resolve(state, target).ok())
            .map(|resolved| {
                let mut shas = vec![resolved.sha256];
                shas.extend(resolved.canary.map(|(_, sha, _)| sha));
                shas
            })
            .unwrap_or_default();
        (authorizer.clone(), versions)
    };
    caches.retain(|name, (live, _)| {
        state
            .authorizers
            .get(name)
            .is_some_and(|authorizer| identity(authorizer) == *live)
    });
    let mut built = HashMap::new();
    for (name, authorizer) in &state.authorizers {
        let spec = authorizer.spec();
        let cache = caches
            .entry(name.clone())
            .or_insert_with(|| {
                let cache = AuthorizerCache::new(name, authorizer.max_concurrency());
                (identity(authorizer), Arc::new(cache))
            })
            .1
            .clone();
        let decider = match &spec.kind {
            AuthorizerKindSpec::Module {
                target,
                token,
                ttl,
                timeout,
                shadow,
                ..
            } => {
                let load = |target| {
                    load_versions(registry, state, target, |module| match module {
                        CompiledModule::Authorizer(authorizer) => {
                            Ok::<AuthorizerComponent, _>(authorizer)
                        }
                        other => Err(other.kind()),
                    })
                    .map(Arc::new)
                };
                let shadow = shadow.as_ref().and_then(|shadow| match load(&shadow.target) {
                    Ok(versions) => Some(Shadow {
                        versions,
                        percent: shadow.percent,
                    }),
                    Err(reason) => {
                        tracing::error!(authorizer = %name, %reason, "shadow authorizer cannot run");
                        None
                    }
                });
                Decider::Module {
                    versions: load(target),
                    cache,
                    token: *token,
                    ttl: *ttl,
                    timeout: *timeout,
                    shadow,
                }
            }
            // The cache holds the fetched JWKS too: live while the configuration is.
            AuthorizerKindSpec::Jwt(jwt) => Decider::Jwt(cache.jwt(jwt)),
        };
        if let Err(reason) = decider.ready() {
            tracing::error!(authorizer = %name, %reason, "authorizer cannot run");
        }
        built.insert(
            name.clone(),
            Arc::new(RouteAuthorizer::new(spec.clone(), decider)),
        );
    }
    built
}

/// Loads the version(s) `target` resolves to, each of the kind `accept` takes.
/// The version `target` runs (an alias's primary version, never its canary), with its
/// module's sandbox: what recordings are replayed on.
pub(super) fn load_handler(
    registry: &Registry,
    state: &RegistryState,
    target: &Target,
) -> Result<Version<Handler>, Arc<str>> {
    load_versions(registry, state, target, |module| match module {
        CompiledModule::Handler(handler) => Ok(handler),
        other => Err(other.kind()),
    })
    .map(|versions| versions.primary)
}

fn load_versions<T>(
    registry: &Registry,
    state: &RegistryState,
    target: &Target,
    accept: impl Fn(CompiledModule) -> Result<T, ModuleKind>,
) -> Result<Versions<T>, Arc<str>> {
    let resolved = Registry::resolve(state, target).map_err(|e| e.to_string())?;
    let sandbox = match state.modules.get(target.module.as_str()) {
        Some(module) => Sandbox {
            config: registry
                .module_settings(target.module.as_str(), module)
                .map_err(|e| format!("module `{}` is misconfigured: {e}", target.module))?
                .into(),
            outbound: Arc::new(
                module
                    .config
                    .validate()
                    .map_err(|e| format!("module `{}` is misconfigured: {e}", target.module))?,
            ),
            env: module.config.env.clone().into_iter().collect(),
            stage_variables: match &target.qualifier {
                Qualifier::Alias(alias) => module
                    .aliases
                    .get(alias)
                    .and_then(|alias| alias.variables.as_ref())
                    .map(|variables| variables.clone().into_iter().collect())
                    .unwrap_or_default(),
                _ => Arc::default(),
            },
            key_value: match (
                registry.runtime().key_value(),
                &module.config.key_value_stores,
            ) {
                (Some(backend), stores) if !stores.is_empty() => Some(KeyValueAccess {
                    backend: backend.clone(),
                    module: Arc::from(target.module.as_str()),
                    stores: stores.clone().into(),
                }),
                _ => None,
            },
        },
        None => Sandbox::default(),
    };
    let sandbox = Arc::new(sandbox);
    let version = |number: u32, sha256: &str| -> Result<Version<T>, String> {
        let module = registry.module(sha256).map_err(|error| {
            // The details (a file in the data dir, say) are for the log, not for clients.
            tracing::error!(module = %target.module, version = number, %error, "version cannot be loaded");
            format!(
                "version {number} of `{}` cannot be loaded (the gateway's log says why)",
                target.module
            )
        })?;
        let compiled = accept(module).map_err(|kind| {
            format!(
                "version {number} of `{}` is the wrong kind of module ({kind})",
                target.module
            )
        })?;
        let label = HeaderValue::from_str(&format!("{}@{number}", target.module))
            .map_err(|e| e.to_string())?;
        Ok(Version {
            label,
            compiled,
            sandbox: sandbox.clone(),
        })
    };
    Ok(Versions {
        primary: version(resolved.version, &resolved.sha256)?,
        canary: match &resolved.canary {
            Some((number, sha256, percent)) => Some((version(*number, sha256)?, *percent)),
            None => None,
        },
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
