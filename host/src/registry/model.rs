//! The registry's records, stored as one JSON document: modules with immutable, numbered
//! versions and their aliases, routes, authorizers, usage plans and API keys.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::entries::{AuthorizerRecord, RouteRecord};
use crate::config::{CorsConfig, Executor, ModuleConfig, PlanConfig, QuotaPeriod, ThrottleConfig};

/// Version of the stored document's shape.
pub const FORMAT: u32 = 1;

/// Everything the registry knows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistryState {
    /// The document format version (1) it was written with.
    pub format: u32,
    /// Modules by name.
    pub modules: BTreeMap<String, ModuleRecord>,
    /// Routes, in the order they were created.
    pub routes: Vec<RouteRecord>,
    /// Authorizers by name.
    #[serde(default)]
    pub authorizers: BTreeMap<String, AuthorizerRecord>,
    /// Gateway-wide settings.
    #[serde(default)]
    pub gateway: GatewaySettings,
    /// Usage plans by name.
    #[serde(default)]
    pub plans: BTreeMap<String, PlanConfig>,
    /// API keys by id.
    #[serde(default)]
    pub keys: BTreeMap<String, ApiKeyRecord>,
    /// Alias moves and route changes, oldest first (`history.rs`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<super::history::HistoryEntry>,
}

/// Settings of the whole gateway.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatewaySettings {
    /// A rate limit shared by every route.
    pub throttle: Option<ThrottleConfig>,
    /// Whether the manifest set `throttle` (then the next start-up may replace or clear it).
    #[serde(default)]
    pub throttle_from_manifest: bool,
    /// The CORS policy of routes that set none.
    pub cors: Option<CorsConfig>,
    /// Whether the manifest set `cors` (then the next start-up may replace or clear it).
    #[serde(default)]
    pub cors_from_manifest: bool,
}

impl Default for RegistryState {
    fn default() -> Self {
        RegistryState {
            format: FORMAT,
            modules: BTreeMap::new(),
            routes: Vec::new(),
            authorizers: BTreeMap::new(),
            gateway: GatewaySettings::default(),
            plans: BTreeMap::new(),
            keys: BTreeMap::new(),
            history: Vec::new(),
        }
    }
}

/// A module: its versions and aliases.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModuleRecord {
    /// Immutable versions by number.
    pub versions: BTreeMap<u32, VersionRecord>,
    /// Aliases by name.
    #[serde(default)]
    pub aliases: BTreeMap<String, AliasRecord>,
    /// The number the next version gets (numbers are never reused).
    pub next_version: u32,
    /// What every version's instances get: environment and outbound access.
    #[serde(default)]
    pub config: ModuleConfig,
    /// Its secrets, sealed (`crate::secrets`), by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub secrets: BTreeMap<String, crate::secrets::Sealed>,
}

impl ModuleRecord {
    /// The highest version number, which an unqualified `name` runs.
    pub fn latest(&self) -> Option<u32> {
        self.versions.keys().next_back().copied()
    }
}

/// One immutable version: the sha256 of its bytes names its stored file.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VersionRecord {
    /// Hex sha256 of the `.wasm` bytes.
    pub sha256: String,
    /// Size of the `.wasm` in bytes.
    pub size: u64,
    /// When it was created (RFC 3339, UTC).
    pub created: String,
    /// How its instances are run.
    #[serde(default, skip_serializing_if = "Executor::is_component")]
    pub executor: Executor,
    /// Its compiled code as last stored. That code is loaded as trusted native code, so its
    /// hash is kept here, in the atomically written document, not in a file beside it.
    pub native: Option<NativeRecord>,
    /// What it imports and exports (recorded when it was uploaded; versions stored before
    /// wasmgate recorded it have none).
    pub interface: Option<crate::runtime::Interface>,
}

/// The stored compiled code of a module version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NativeRecord {
    /// The engine configuration it was compiled for (code for another one is not loaded).
    pub engine: String,
    /// Hex sha256 of the compiled code.
    pub sha256: String,
}

/// An alias (a stage, as Lambda's): a version, optionally sharing traffic with a second.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AliasRecord {
    /// The version it points at.
    pub version: u32,
    /// A second version taking a share of the requests.
    pub canary: Option<Canary>,
    /// Stage variables: settings the versions it runs read (`context.stage-variables`).
    /// Setting an alias without them keeps the ones it had; `{}` removes them.
    pub variables: Option<BTreeMap<String, String>>,
}

/// A weighted second version of an alias.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Canary {
    /// The second version.
    pub version: u32,
    /// Its share of requests, in percent (1 to 99).
    pub percent: u8,
}

/// A stored API key.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyRecord {
    /// A name for people.
    pub name: String,
    /// sha256 of the secret (the secret itself is never stored).
    pub hash: String,
    /// The usage plan it belongs to.
    pub plan: Option<String>,
    /// Disabled keys are refused (403).
    pub enabled: bool,
    /// When it was created (RFC 3339).
    pub created: String,
}

/// Requests one API key has used in its current quota period, as saved between runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuotaUsed {
    /// The kind of period counted.
    pub period: QuotaPeriod,
    /// Which one: days, weeks or months since 1970 (UTC).
    pub number: u64,
    /// Requests counted in it.
    pub used: u64,
}

/// Quota usage by API key id, as saved between runs.
pub type SavedQuotaUsage = BTreeMap<String, QuotaUsed>;
