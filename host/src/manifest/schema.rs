//! The manifest file as written (`wasmgate.toml`), parsed strictly: unknown keys are errors.
//! [`super::validate`] turns it into the normalised [`super::Manifest`]; a route's and an
//! authorizer's entries are [`crate::config`]'s types, as stored.

use std::net::SocketAddr;

use serde::Deserialize;

use crate::config::{
    AuthorizerConfig, CorsConfig, Executor, RouteConfig, StoreConfig, ThrottleConfig,
};

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
    pub authorizers: Vec<AuthorizerConfig>,
    #[serde(default)]
    pub store: StoreConfig,
}

/// `[gateway]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct GatewaySection {
    pub listen: Option<SocketAddr>,
    pub throttle: Option<ThrottleConfig>,
    #[serde(default)]
    pub trusted_proxies: Vec<String>,
    pub cors: Option<CorsConfig>,
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
    pub executor: Executor,
    /// Aliases pointed at this file's version at start-up, with their stage variables.
    #[serde(default)]
    pub aliases: std::collections::BTreeMap<String, AliasEntry>,
}

/// One alias of a `[[modules]]` entry: `aliases = { prod = { variables = { … } } }`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AliasEntry {
    #[serde(default)]
    pub variables: std::collections::BTreeMap<String, String>,
}
