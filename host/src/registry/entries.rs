//! Stored routes and authorizers: each configuration as written, with its validated form
//! derived once, when it enters the registry or is read back from the store.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::sha256_hex;
use crate::config::{
    AuthorizerConfig, AuthorizerKindSpec, AuthorizerSpec, Problem, RouteConfig, RouteSpec, Target,
};

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
