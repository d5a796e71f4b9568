//! The registry's records, stored as one JSON document: modules with immutable, numbered
//! versions and their aliases, and routes. Also how routes name what they run
//! ([`Target`]: `name`, `name@3`, `name@prod`).

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::manifest::{AuthorizerConfig, ModuleName, RouteConfig};
use crate::throttle::ThrottleConfig;

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
    pub authorizers: BTreeMap<String, AuthorizerConfig>,
    /// Gateway-wide settings.
    #[serde(default)]
    pub gateway: GatewaySettings,
    /// Usage plans by name.
    #[serde(default)]
    pub plans: BTreeMap<String, PlanConfig>,
    /// API keys by id.
    #[serde(default)]
    pub keys: BTreeMap<String, ApiKeyRecord>,
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
}

/// A module's configuration, shared by its versions.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModuleConfig {
    /// Environment variables (guests get none otherwise).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    /// Origins outgoing HTTP requests may reach, e.g. `https://api.example.com`
    /// (guests reach none otherwise).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_outbound_hosts: Vec<String>,
}

impl ModuleConfig {
    /// Checks the values and returns the parsed allow-list; the error says what is wrong.
    pub fn validate(&self) -> Result<crate::allowlist::AllowList, String> {
        for name in self.env.keys() {
            if name.is_empty() || name.contains('=') || name.contains('\0') {
                return Err(format!("`{name}` is not an environment variable name"));
            }
        }
        crate::allowlist::AllowList::parse(&self.allowed_outbound_hosts)
            .map_err(|e| format!("allowed_outbound_hosts: {e}"))
    }
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
}

/// How a module's instances are run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Executor {
    /// A component exporting `wasi:http/incoming-handler` (or the authorizer world).
    #[default]
    Component,
    /// A `wasm32-wasip1` command run the WAGI way: the request in CGI environment variables
    /// and stdin, the response from its stdout.
    Wagi,
}

impl Executor {
    /// Whether this is the default, [`Executor::Component`].
    pub fn is_component(&self) -> bool {
        *self == Executor::Component
    }

    /// `component` or `wagi`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Executor::Component => "component",
            Executor::Wagi => "wagi",
        }
    }
}

impl std::str::FromStr for Executor {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "component" => Ok(Executor::Component),
            "wagi" => Ok(Executor::Wagi),
            other => Err(format!(
                "`{other}` is not an executor: use `component` (the default) or `wagi`"
            )),
        }
    }
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

/// A stored route: the manifest's `[[routes]]` fields, and where it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteRecord {
    /// Method, path, target and limits.
    #[serde(flatten)]
    pub config: RouteConfig,
    /// Who declared it.
    #[serde(default)]
    pub source: RouteSource,
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

/// What a route runs: a module, and which of its versions.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Target {
    /// The module.
    pub module: ModuleName,
    /// Which version.
    pub qualifier: Qualifier,
}

/// Which version of a module a route runs.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Qualifier {
    /// The highest version (`name`).
    Latest,
    /// A fixed version (`name@3`).
    Version(u32),
    /// Whatever an alias points at (`name@prod`).
    Alias(String),
}

impl Target {
    /// Parses `name`, `name@3` or `name@alias`; the error says what is wrong.
    ///
    /// ```
    /// use wasmgate::registry::{Qualifier, Target};
    /// assert_eq!(Target::parse("hello@prod").unwrap().qualifier, Qualifier::Alias("prod".into()));
    /// assert_eq!(Target::parse("hello@3").unwrap().qualifier, Qualifier::Version(3));
    /// assert!(Target::parse("hello@").is_err());
    /// ```
    pub fn parse(text: &str) -> Result<Target, String> {
        let (name, qualifier) = match text.split_once('@') {
            None => (text, Qualifier::Latest),
            Some((name, rest)) => {
                let qualifier = if let Ok(version) = rest.parse::<u32>() {
                    Qualifier::Version(version)
                } else {
                    check_alias_name(rest)?;
                    Qualifier::Alias(rest.to_owned())
                };
                (name, qualifier)
            }
        };
        Ok(Target {
            module: ModuleName::new(name)?,
            qualifier,
        })
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.qualifier {
            Qualifier::Latest => write!(f, "{}", self.module),
            Qualifier::Version(v) => write!(f, "{}@{v}", self.module),
            Qualifier::Alias(a) => write!(f, "{}@{a}", self.module),
        }
    }
}

/// Alias names: a letter, then letters, digits, `-` and `_`, at most 64 (so they never look
/// like version numbers).
pub fn check_alias_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let valid = name.len() <= 64
        && chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if valid {
        Ok(())
    } else {
        Err(format!(
            "`{name}` is not a valid alias: a letter, then letters, digits, `-` and `_` (at most 64)"
        ))
    }
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

/// The period of a quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum QuotaPeriod {
    /// A UTC calendar day.
    Day,
    /// A UTC calendar week, from Monday.
    Week,
    /// A UTC calendar month.
    Month,
}

/// Requests allowed per period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuotaConfig {
    /// Requests per period.
    pub limit: u64,
    /// The period.
    pub period: QuotaPeriod,
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

/// Quota usage by API key id.
pub type QuotaUsage = BTreeMap<String, QuotaUsed>;

/// A usage plan.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanConfig {
    /// Each key's rate limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub throttle: Option<ThrottleConfig>,
    /// Each key's quota.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quota: Option<QuotaConfig>,
}
