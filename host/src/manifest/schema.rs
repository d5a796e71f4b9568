//! The manifest file as written (`wasmgate.toml`), parsed strictly: unknown keys are errors.
//! [`super::validate`] turns it into the normalised [`super::Manifest`].

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

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
}

/// One `[[modules]]` entry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ModuleEntry {
    pub name: String,
    pub path: String,
}

/// A route as written: one `[[routes]]` entry, a stored route, or the body of the admin
/// API's `PUT /routes`. [`RouteConfig::validate`] turns it into a [`super::RouteSpec`].
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
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
    /// The authorizer that must allow a request before the handler runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorizer: Option<String>,
    /// Scopes a JWT authorizer requires in the token's `scope` (or `scp`) claim.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<String>,
}
