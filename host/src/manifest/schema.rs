//! The manifest file as written (`wasmgate.toml`), parsed strictly: unknown keys are errors.
//! [`super::validate`] turns it into the normalised [`super::Manifest`].

use std::net::SocketAddr;

use serde::Deserialize;

/// The whole file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ManifestFile {
    #[serde(default)]
    pub gateway: GatewaySection,
    #[serde(default)]
    pub modules: Vec<ModuleEntry>,
    #[serde(default)]
    pub routes: Vec<RouteEntry>,
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

/// One `[[routes]]` entry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RouteEntry {
    pub method: String,
    pub path: String,
    pub module: String,
    pub timeout_ms: Option<u64>,
    pub memory_mb: Option<u64>,
}
