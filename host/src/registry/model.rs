//! The registry's records, stored as one JSON document: modules with immutable, numbered
//! versions and their aliases, routes, authorizers, usage plans and API keys.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::sha256_hex;
use crate::config::{
    AuthorizerConfig, AuthorizerKindSpec, AuthorizerSpec, CorsConfig, Executor, ModuleConfig,
    PlanConfig, Problem, QuotaPeriod, RouteConfig, RouteSpec, Target, ThrottleConfig,
};

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
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatewaySettings {
    /// A rate limit shared by every route.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub throttle: Option<ThrottleConfig>,
    /// Whether the manifest set `throttle` (then the next start-up may replace or clear it).
    #[serde(default)]
    pub throttle_from_manifest: bool,
    /// The CORS policy of routes that set none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub native: Option<NativeRecord>,
    /// What it imports and exports (recorded when it was uploaded; versions stored before
    /// wasmgate recorded it have none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AliasRecord {
    /// The version it points at.
    pub version: u32,
    /// A second version taking a share of the requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary: Option<Canary>,
    /// Stage variables: settings the versions it runs read (`context.stage-variables`).
    /// Setting an alias without them keeps the ones it had; `{}` removes them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
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

/// A stored configuration with its validated form (a [`RouteEntry`] or an
/// [`AuthorizerEntry`]), derived once, when it enters the registry or is read back from the
/// store: an invalid stored one fails the load, naming it. It reads as its entry and is
/// stored as it.
///
/// Cloning one is cheap (the entry is shared), so a registry of 10,000 routes copies its
/// state for a change in microseconds.
#[derive(Debug, PartialEq)]
pub struct Record<Entry>(Arc<Entry>);

/// A stored route: the manifest's `[[routes]]` fields as written, and where it came from;
/// with its validated form and its id.
pub type RouteRecord = Record<RouteEntry>;

/// A stored authorizer: its configuration as written, with its validated form. Stored as
/// the configuration alone.
pub type AuthorizerRecord = Record<AuthorizerEntry>;

impl<Entry> Clone for Record<Entry> {
    // Derived, it would ask for `Entry: Clone`; only the `Arc` is cloned.
    fn clone(&self) -> Self {
        Record(Arc::clone(&self.0))
    }
}

impl<Entry> Record<Entry> {
    /// Whether both are the same stored record (not a copy with equal values).
    pub fn is(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl<Entry> std::ops::Deref for Record<Entry> {
    type Target = Entry;

    fn deref(&self) -> &Entry {
        &self.0
    }
}

impl<'de, Entry: Deserialize<'de>> Deserialize<'de> for Record<Entry> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Entry::deserialize(deserializer).map(|entry| Record(Arc::new(entry)))
    }
}

impl<Entry: Serialize> Serialize for Record<Entry> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

/// What a [`RouteRecord`] holds.
#[derive(Debug, PartialEq, Deserialize)]
#[serde(try_from = "StoredRoute")]
pub struct RouteEntry {
    /// Method, path, target and limits, as written.
    pub config: RouteConfig,
    /// Who declared it.
    pub source: RouteSource,
    spec: RouteSpec,
    id: String,
    validator: CompiledValidation,
}

/// A route's request schemas, compiled once when the route enters the registry (or is read
/// back). Equal when the configurations they come from are (which `RouteEntry` compares).
#[derive(Debug, Clone, Default)]
pub struct CompiledValidation(pub Option<Arc<crate::validation::RequestValidator>>);

impl PartialEq for CompiledValidation {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl RouteRecord {
    /// Validates `config`; the problems name its fields.
    pub fn new(config: RouteConfig, source: RouteSource) -> Result<Self, Vec<Problem>> {
        RouteEntry::new(config, source).map(|entry| Record(Arc::new(entry)))
    }
}

impl RouteEntry {
    fn new(config: RouteConfig, source: RouteSource) -> Result<Self, Vec<Problem>> {
        let spec = config.validate()?;
        let validator = match &config.validate {
            Some(validate) => Some(Arc::new(crate::validation::RequestValidator::compile(
                validate,
            )?)),
            None => None,
        };
        let id = route_id(&config);
        Ok(RouteEntry {
            config,
            source,
            spec,
            id,
            validator: CompiledValidation(validator),
        })
    }

    /// Its request schemas, compiled.
    pub fn validator(&self) -> Option<&Arc<crate::validation::RequestValidator>> {
        self.validator.0.as_ref()
    }

    /// The route, validated.
    pub fn spec(&self) -> &RouteSpec {
        &self.spec
    }

    /// Its stable id in the admin API.
    pub fn id(&self) -> &str {
        &self.id
    }
}

/// What an [`AuthorizerRecord`] holds.
#[derive(Debug, PartialEq, Deserialize)]
#[serde(try_from = "AuthorizerConfig")]
pub struct AuthorizerEntry {
    /// The configuration, as written.
    pub config: AuthorizerConfig,
    spec: AuthorizerSpec,
}

impl AuthorizerRecord {
    /// Validates `config`; the problems name its fields.
    pub fn new(config: AuthorizerConfig) -> Result<Self, Vec<Problem>> {
        AuthorizerEntry::new(config).map(|entry| Record(Arc::new(entry)))
    }
}

impl AuthorizerEntry {
    fn new(config: AuthorizerConfig) -> Result<Self, Vec<Problem>> {
        let spec = config.validate()?;
        Ok(AuthorizerEntry { config, spec })
    }

    /// The authorizer, validated.
    pub fn spec(&self) -> &AuthorizerSpec {
        &self.spec
    }

    /// Most runs at once of the module it runs (the default for a JWT authorizer, which
    /// runs none).
    pub fn max_concurrency(&self) -> u32 {
        match &self.spec.kind {
            AuthorizerKindSpec::Module {
                max_concurrency, ..
            } => *max_concurrency,
            AuthorizerKindSpec::Jwt(_) => crate::config::AUTHORIZER_CONCURRENCY.default,
        }
    }

    /// The module it runs, if it runs one.
    pub fn target(&self) -> Option<&Target> {
        match &self.spec.kind {
            AuthorizerKindSpec::Module { target, .. } => Some(target),
            AuthorizerKindSpec::Jwt(_) => None,
        }
    }

    /// The modules it runs: its own and its shadow's.
    pub fn targets(&self) -> impl Iterator<Item = &Target> {
        let shadow = match &self.spec.kind {
            AuthorizerKindSpec::Module { shadow, .. } => shadow.as_ref().map(|s| &s.target),
            AuthorizerKindSpec::Jwt(_) => None,
        };
        self.target().into_iter().chain(shadow)
    }
}

impl TryFrom<AuthorizerConfig> for AuthorizerEntry {
    type Error = String;

    fn try_from(config: AuthorizerConfig) -> Result<Self, String> {
        let name = config.name.clone();
        AuthorizerEntry::new(config).map_err(|problems| {
            let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
            format!("stored authorizer `{name}` is invalid: {}", text.join("; "))
        })
    }
}

impl Serialize for AuthorizerEntry {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.config.serialize(serializer)
    }
}

/// A route's stable id: derived from its method and path, so the same route has the same
/// id on every node and across restarts.
pub fn route_id(config: &RouteConfig) -> String {
    let method = config.method.to_ascii_uppercase();
    sha256_hex(format!("{method} {}", config.path).as_bytes())[..12].to_owned()
}

/// A route as the store keeps it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StoredRoute {
    #[serde(flatten)]
    config: RouteConfig,
    #[serde(default)]
    source: RouteSource,
}

impl TryFrom<StoredRoute> for RouteEntry {
    type Error = String;

    fn try_from(stored: StoredRoute) -> Result<Self, String> {
        let (method, path) = (stored.config.method.clone(), stored.config.path.clone());
        RouteEntry::new(stored.config, stored.source).map_err(|problems| {
            let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
            format!(
                "stored route `{method} {path}` is invalid: {}",
                text.join("; ")
            )
        })
    }
}

impl Serialize for RouteEntry {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Written<'a> {
            #[serde(flatten)]
            config: &'a RouteConfig,
            source: RouteSource,
        }
        Written {
            config: &self.config,
            source: self.source,
        }
        .serialize(serializer)
    }
}

/// Who declared a route.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RouteSource {
    /// The admin API (kept until deleted there).
    #[default]
    Api,
    /// The manifest (replaced at every start-up by what the manifest then says).
    Manifest,
}

/// A stored API key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyRecord {
    /// A name for people.
    pub name: String,
    /// sha256 of the secret (the secret itself is never stored).
    pub hash: String,
    /// The usage plan it belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
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
