//! Authorizer configuration: one `[[authorizers]]` entry (or the body of the admin API's
//! `PUT /authorizers`), validated into an [`AuthorizerSpec`].

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{ModuleName, Problem};
use crate::registry::Target;

/// Default time an authorizer may take (API Gateway allows up to 10 s; 2 s is safer).
pub const DEFAULT_AUTHORIZER_TIMEOUT_MS: u64 = 2_000;
/// Longest an authorizer may be given.
pub const MAX_AUTHORIZER_TIMEOUT_MS: u64 = 10_000;
/// Default time a decision is reused for the same identity.
pub const DEFAULT_TTL_SECONDS: u64 = 300;
/// Longest a decision may be reused.
pub const MAX_TTL_SECONDS: u64 = 3_600;

/// An authorizer as written.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AuthorizerConfig {
    /// Its name, used by routes' `authorizer`.
    pub name: String,
    /// `token` (default) or `request`.
    #[serde(rename = "type", default = "default_kind")]
    pub kind: String,
    /// The authorizer module: `name`, `name@3` or `name@alias`.
    pub module: String,
    /// Token kind: the header holding the token (default `Authorization`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<String>,
    /// Request kind: `header:NAME`, `query:NAME`, `path:NAME` or `source_ip`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub identity_sources: Vec<String>,
    /// Seconds a decision is reused for the same identity (0: never; at most 3600).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl_seconds: Option<u64>,
    /// Time the authorizer may take, in milliseconds (at most 10000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
}

fn default_kind() -> String {
    "token".into()
}

/// Where an identity value comes from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum IdentitySource {
    /// A request header (name lowercased).
    Header(String),
    /// A query parameter.
    Query(String),
    /// A path parameter of the route.
    Path(String),
    /// The client's IP address.
    SourceIp,
}

impl IdentitySource {
    /// Parses `header:NAME`, `query:NAME`, `path:NAME` or `source_ip`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let named = |name: &str, make: fn(String) -> IdentitySource| {
            if name.is_empty() {
                Err(format!("`{text}` names nothing after the `:`"))
            } else {
                Ok(make(name.to_owned()))
            }
        };
        match text.split_once(':') {
            Some(("header", name)) => named(&name.to_ascii_lowercase(), IdentitySource::Header),
            Some(("query", name)) => named(name, IdentitySource::Query),
            Some(("path", name)) => named(name, IdentitySource::Path),
            None if text == "source_ip" => Ok(IdentitySource::SourceIp),
            _ => Err(format!(
                "`{text}` is not an identity source: use header:NAME, query:NAME, path:NAME or source_ip"
            )),
        }
    }
}

impl fmt::Display for IdentitySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IdentitySource::Header(name) => write!(f, "header `{name}`"),
            IdentitySource::Query(name) => write!(f, "query parameter `{name}`"),
            IdentitySource::Path(name) => write!(f, "path parameter `{name}`"),
            IdentitySource::SourceIp => f.write_str("source IP"),
        }
    }
}

/// A validated authorizer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizerSpec {
    /// Its name.
    pub name: ModuleName,
    /// Token (one header, passed as the token) or request (any sources).
    pub token: bool,
    /// The identity sources: all must be present, or the request gets 401.
    pub sources: Vec<IdentitySource>,
    /// The authorizer module.
    pub target: Target,
    /// How long a decision is reused (zero: never).
    pub ttl: Duration,
    /// How long one call may take.
    pub timeout: Duration,
}

impl AuthorizerConfig {
    /// Checks every field; each problem's key is the field's name.
    pub fn validate(&self) -> Result<AuthorizerSpec, Vec<Problem>> {
        let mut problems = Vec::new();
        let mut problem = |key: &str, message: String| {
            problems.push(Problem {
                key: key.to_owned(),
                message,
            })
        };
        let name = ModuleName::new(&self.name)
            .map_err(|m| problem("name", m.replace("module name", "authorizer name")))
            .ok();
        let target = Target::parse(&self.module)
            .map_err(|m| problem("module", m))
            .ok();
        let mut sources = Vec::new();
        let token = match self.kind.as_str() {
            "token" => {
                if !self.identity_sources.is_empty() {
                    problem(
                        "identity_sources",
                        "a token authorizer reads one `header`; identity_sources are for `type = \"request\"`".into(),
                    );
                }
                let header = self.header.as_deref().unwrap_or("Authorization");
                sources.push(IdentitySource::Header(header.to_ascii_lowercase()));
                true
            }
            "request" => {
                if self.header.is_some() {
                    problem(
                        "header",
                        "`header` is for token authorizers; a request authorizer lists identity_sources".into(),
                    );
                }
                if self.identity_sources.is_empty() {
                    problem(
                        "identity_sources",
                        "a request authorizer needs at least one identity source".into(),
                    );
                }
                for source in &self.identity_sources {
                    match IdentitySource::parse(source) {
                        Ok(source) => sources.push(source),
                        Err(message) => problem("identity_sources", message),
                    }
                }
                false
            }
            other => {
                problem(
                    "type",
                    format!("`{other}` is not an authorizer type: use `token` or `request`"),
                );
                false
            }
        };
        let ttl = self.ttl_seconds.unwrap_or(DEFAULT_TTL_SECONDS);
        if ttl > MAX_TTL_SECONDS {
            problem(
                "ttl_seconds",
                format!("{ttl} is out of range: 0 (no caching) to {MAX_TTL_SECONDS}"),
            );
        }
        let timeout = self.timeout_ms.unwrap_or(DEFAULT_AUTHORIZER_TIMEOUT_MS);
        if !(crate::limits::MIN_TIMEOUT_MS..=MAX_AUTHORIZER_TIMEOUT_MS).contains(&timeout) {
            problem(
                "timeout_ms",
                format!(
                    "{timeout} is out of range: {} to {MAX_AUTHORIZER_TIMEOUT_MS} ms",
                    crate::limits::MIN_TIMEOUT_MS
                ),
            );
        }
        match (name, target) {
            (Some(name), Some(target)) if problems.is_empty() => Ok(AuthorizerSpec {
                name,
                token,
                sources,
                target,
                ttl: Duration::from_secs(ttl),
                timeout: Duration::from_millis(timeout),
            }),
            _ => Err(problems),
        }
    }
}
