//! A route's configuration as written (one `[[routes]]` entry, a stored route, the body of
//! the admin API's `PUT /routes`), and its validation into a [`RouteSpec`].

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::limits::{self, InvocationLimits};
use super::{
    CacheConfig, CacheSpec, CorsConfig, CorsPolicy, Integration, MockConfig, ModuleName, Problem,
    Protection, ProxyConfig, RecordConfig, RecordSpec, Setting, Target, ThrottleConfig,
    ValidationConfig,
};
use crate::routing::{MethodFilter, RouteTemplate};

/// A route as written: one `[[routes]]` entry, a stored route, or the body of the admin
/// API's `PUT /routes`. [`RouteConfig::validate`] turns it into a [`RouteSpec`].
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    /// `GET`, `POST`, … or `ANY`.
    pub method: String,
    /// The path template.
    pub path: String,
    /// The module it runs: `name`, `name@version` or `name@alias` (or `mock`).
    pub module: Option<String>,
    /// An upstream HTTP service instead of a module: its URL (`{name}`: a path parameter).
    pub proxy: Option<ProxyConfig>,
    /// A fixed answer instead of a module.
    pub mock: Option<MockConfig>,
    /// Timeout of one invocation, in milliseconds.
    pub timeout_ms: Option<u64>,
    /// Memory of one instance, in MiB.
    pub memory_mb: Option<u64>,
    /// Largest request body, in MiB (default 10).
    pub max_body_mb: Option<u64>,
    /// A CPU budget in fuel units (about one per wasm instruction); needs the gateway's
    /// `--fuel-metering`.
    pub fuel: Option<u64>,
    /// The authorizer that must allow a request before the handler runs.
    pub authorizer: Option<String>,
    /// Scopes a JWT authorizer requires in the token's `scope` (or `scp`) claim.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<String>,
    /// A rate limit for the whole route.
    pub throttle: Option<ThrottleConfig>,
    /// A rate limit per client (by source IP, or a header's value).
    pub client_throttle: Option<ClientThrottleConfig>,
    /// Most invocations of the handler running at once (reserved concurrency).
    pub concurrency: Option<u32>,
    /// Requests that may wait for a free slot beyond `concurrency` (default 100).
    pub queue: Option<u32>,
    /// Longest a request waits in the queue, in milliseconds (default 1000).
    pub queue_timeout_ms: Option<u64>,
    /// Status for a request the queue cannot take or that waited too long: 429 (default) or
    /// 503.
    pub overflow_status: Option<u16>,
    /// Requests must carry an enabled API key in `x-api-key` (its usage plan applies).
    pub api_key_required: Option<bool>,
    /// `fresh` (the default: a new instance per request) or `reuse` (an instance that
    /// answered cleanly serves later requests too).
    pub isolation: Option<Isolation>,
    /// With `isolation = "reuse"`: most requests one instance serves (default 1000).
    pub max_reuse: Option<u32>,
    /// JSON Schemas its parameters and JSON body must match before anything runs.
    pub validate: Option<ValidationConfig>,
    /// Keep `GET` responses for a while and answer repeats from memory.
    pub cache: Option<CacheConfig>,
    /// Cross-origin requests from browsers (replaces `[gateway] cors` for this route).
    pub cors: Option<CorsConfig>,
    /// Record a share of its invocations for `wasmgate replay`.
    pub record: Option<RecordConfig>,
}

/// How a route's requests share instances.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Isolation {
    /// A fresh instance for every request.
    Fresh,
    /// An instance that answered cleanly serves the next request (up to `max_reuse`).
    Reuse,
}

/// Most requests one instance of an `isolation = "reuse"` route serves.
pub const MAX_REUSE: Setting<u32> = Setting::new(1_000, 1, 1_000_000, "requests");

/// A per-client rate limit: `client_throttle = { rate = 5, burst = 5, key = "source_ip" }`.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ClientThrottleConfig {
    /// Requests per second each client's bucket refills.
    pub rate: f64,
    /// Each client's bucket capacity.
    pub burst: u32,
    /// What tells clients apart: `source_ip` (default) or `header:NAME`.
    pub key: Option<String>,
    /// With `source_ip`: the bits of an IPv6 address that tell clients apart (default 64).
    pub ipv6_prefix: Option<u8>,
}

/// A route: requests matching `method` and `template` run `target`.
#[derive(Debug, Clone, PartialEq)]
pub struct RouteSpec {
    /// Accepted methods.
    pub method: MethodFilter,
    /// The path template.
    pub template: RouteTemplate,
    /// What it runs: a module (and version), or a fixed answer.
    pub integration: Integration,
    /// Timeout, memory, body size and fuel of each invocation (the defaults of
    /// [`limits`] where the route sets none).
    pub limits: InvocationLimits,
    /// Rate limits and concurrency.
    pub protection: Protection,
    /// Whether requests need an API key.
    pub api_key_required: bool,
    /// The authorizer guarding it, by name.
    pub authorizer: Option<ModuleName>,
    /// Scopes its JWT authorizer requires.
    pub scopes: Vec<String>,
    /// With `isolation = "reuse"`, the most requests one instance serves; `None`: a fresh
    /// instance for each.
    pub reuse: Option<u32>,
    /// The route's own CORS policy (else the gateway's applies).
    pub cors: Option<Arc<CorsPolicy>>,
    /// Its response cache, if it keeps one.
    pub cache: Option<Arc<CacheSpec>>,
    /// Its recording setting, if it records invocations.
    pub record: Option<Arc<RecordSpec>>,
}

impl fmt::Display for RouteSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.method, self.template)
    }
}

impl RouteConfig {
    /// Checks every field; each problem's key is the field's name (`method`, `path`, …).
    /// Whether the target module exists is for the registry to say.
    pub fn validate(&self) -> Result<RouteSpec, Vec<Problem>> {
        let mut problems = Vec::new();
        let mut problem = |key: &str, message: String| problems.push(Problem::new(key, message));
        let method = MethodFilter::parse(&self.method);
        if method.is_none() {
            let known: Vec<&str> = MethodFilter::ROUTABLE.iter().map(|m| m.as_str()).collect();
            problem(
                "method",
                format!(
                    "`{}` is not a method wasmgate routes; use one of {} or ANY",
                    self.method,
                    known.join(", ")
                ),
            );
        }
        let template = self
            .path
            .parse::<RouteTemplate>()
            .map_err(|e| problem("path", e.to_string()))
            .ok();
        let integration = match (&self.module, &self.proxy, &self.mock) {
            (Some(module), None, None) => Target::parse(module)
                .map(Integration::Module)
                .map_err(|message| problem("module", message))
                .ok(),
            (None, proxy, mock) if proxy.is_some() != mock.is_some() => {
                for (key, set) in [
                    ("memory_mb", self.memory_mb.is_some()),
                    ("fuel", self.fuel.is_some()),
                    ("isolation", self.isolation.is_some()),
                    ("record", self.record.is_some()),
                ] {
                    if set {
                        problem(key, format!("`{key}` applies to routes that run a module"));
                    }
                }
                match (proxy, mock) {
                    (Some(proxy), _) => {
                        let params: Vec<&str> = template
                            .iter()
                            .flat_map(|t| t.param_names())
                            .map(String::as_str)
                            .collect();
                        let greedy = template.as_ref().and_then(RouteTemplate::greedy_param);
                        proxy
                            .validate(&params, greedy, &mut problem)
                            .map(|spec| Integration::Proxy(Arc::new(spec)))
                    }
                    (_, Some(mock)) => mock
                        .validate(&mut problem)
                        .map(|spec| Integration::Mock(Arc::new(spec))),
                    (None, None) => None,
                }
            }
            _ => {
                problem(
                    "module",
                    "a route runs exactly one of `module` (a module), `proxy` (an upstream URL) \
                     or `mock` (a fixed answer)"
                        .into(),
                );
                None
            }
        };

        let timeout_ms = limits::TIMEOUT_MS.resolve_at("timeout_ms", self.timeout_ms, &mut problem);
        let memory_mb = limits::MEMORY_MB.resolve_at("memory_mb", self.memory_mb, &mut problem);
        let max_body_mb =
            limits::MAX_BODY_MB.resolve_at("max_body_mb", self.max_body_mb, &mut problem);
        if self.fuel == Some(0) {
            problem("fuel", "a fuel budget is at least 1".into());
        }
        let limits = InvocationLimits {
            timeout: Duration::from_millis(timeout_ms),
            memory_bytes: memory_mb << 20,
            max_body_bytes: max_body_mb << 20,
            fuel: self.fuel,
        };
        let reuse = match self.isolation {
            Some(Isolation::Reuse) => {
                Some(MAX_REUSE.resolve_at("max_reuse", self.max_reuse, &mut problem))
            }
            _ if self.max_reuse.is_some() => {
                problem(
                    "max_reuse",
                    "`max_reuse` applies to routes with `isolation = \"reuse\"`".into(),
                );
                None
            }
            _ => None,
        };
        let protection = self.validate_protection(&mut problem);
        if !self.scopes.is_empty() && self.authorizer.is_none() {
            problem(
                "scopes",
                "`scopes` are checked by a jwt `authorizer`; this route has none".into(),
            );
        }
        let authorizer = match &self.authorizer {
            None => Some(None),
            Some(name) => ModuleName::new(name)
                .map(Some)
                .map_err(|m| problem("authorizer", m.replace("module name", "authorizer name")))
                .ok(),
        };
        let cache = (self.cache.as_ref())
            .and_then(|cache| cache.validate(&mut problem))
            .map(Arc::new);
        let record = (self.record.as_ref())
            .and_then(|record| record.validate(&mut problem))
            .map(Arc::new);
        let cors = self
            .cors
            .as_ref()
            .and_then(|cors| match cors.validate("cors") {
                Ok(policy) => Some(Arc::new(policy)),
                Err(found) => {
                    problems.extend(found);
                    None
                }
            });
        match (method, template, integration, authorizer) {
            (Some(method), Some(template), Some(integration), Some(authorizer))
                if problems.is_empty() =>
            {
                Ok(RouteSpec {
                    method,
                    template,
                    integration,
                    limits,
                    authorizer,
                    scopes: self.scopes.clone(),
                    protection,
                    api_key_required: self.api_key_required.unwrap_or(false),
                    reuse,
                    cors,
                    cache,
                    record,
                })
            }
            _ => Err(problems),
        }
    }
}
