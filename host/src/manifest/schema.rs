//! The manifest file as written (`wasmgate.toml`), parsed strictly: unknown keys are errors.
//! [`super::validate`] turns it into the normalised [`super::Manifest`].

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

use crate::throttle::ThrottleConfig;

/// The whole file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ManifestFile {
    #[serde(default)]
    pub gateway: GatewaySection,
    #[serde(default)]
    pub modules: Vec<ModuleEntry>,
    #[serde(default)]
    pub routes: Vec<RouteConfig>,
    #[serde(default)]
    pub authorizers: Vec<super::AuthorizerConfig>,
}

/// `[gateway]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct GatewaySection {
    pub listen: Option<SocketAddr>,
    pub throttle: Option<ThrottleConfig>,
}

/// One `[[modules]]` entry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ModuleEntry {
    pub name: String,
    pub path: String,
    #[serde(default)]
    pub env: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    pub allowed_outbound_hosts: Vec<String>,
    #[serde(default)]
    pub executor: crate::registry::Executor,
}

/// A route as written: one `[[routes]]` entry, a stored route, or the body of the admin
/// API's `PUT /routes`. [`RouteConfig::validate`] turns it into a [`super::RouteSpec`].
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    /// `GET`, `POST`, … or `ANY`.
    pub method: String,
    /// The path template.
    pub path: String,
    /// What it runs: `name`, `name@version` or `name@alias`.
    pub module: String,
    /// Timeout of one invocation, in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
    /// Memory of one instance, in MiB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_mb: Option<u64>,
    /// Largest request body, in MiB (default 10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_body_mb: Option<u64>,
    /// A CPU budget in fuel units (about one per wasm instruction); needs the gateway's
    /// `--fuel-metering`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fuel: Option<u64>,
    /// The authorizer that must allow a request before the handler runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorizer: Option<String>,
    /// Scopes a JWT authorizer requires in the token's `scope` (or `scp`) claim.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<String>,
    /// A rate limit for the whole route.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub throttle: Option<ThrottleConfig>,
    /// A rate limit per client (by source IP, or a header's value).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_throttle: Option<ClientThrottleConfig>,
    /// Most invocations of the handler running at once (reserved concurrency).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<u32>,
    /// Requests that may wait for a free slot beyond `concurrency` (default 100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue: Option<u32>,
    /// Longest a request waits in the queue, in milliseconds (default 1000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_timeout_ms: Option<u64>,
    /// Status for a request the queue cannot take or that waited too long: 429 (default) or
    /// 503.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overflow_status: Option<u16>,
    /// Requests must carry an enabled API key in `x-api-key` (its usage plan applies).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key_required: Option<bool>,
}

/// A per-client rate limit: `client_throttle = { rate = 5, burst = 5, key = "source_ip" }`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ClientThrottleConfig {
    /// Requests per second each client's bucket refills.
    pub rate: f64,
    /// Each client's bucket capacity.
    pub burst: u32,
    /// What tells clients apart: `source_ip` (default) or `header:NAME`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}
