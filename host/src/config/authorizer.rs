//! Authorizer configuration: one `[[authorizers]]` entry (or the body of the admin API's
//! `PUT /authorizers`), validated into an [`AuthorizerSpec`].

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{ModuleName, Problem, Setting, Target};

/// Time an authorizer may take, in milliseconds (API Gateway allows up to 10 s; a 2 s
/// default is safer).
pub const AUTHORIZER_TIMEOUT_MS: Setting<u64> = Setting::new(2_000, 50, 10_000, "ms");
/// Seconds a decision is reused for the same identity (0: never).
pub const TTL_SECONDS: Setting<u64> = Setting::new(300, 0, 3_600, "s");
/// Most runs of one authorizer at once.
pub const AUTHORIZER_CONCURRENCY: Setting<u32> = Setting::new(32, 1, 10_000, "");
/// Leeway for a JWT's `exp` and `nbf`, in seconds.
pub const LEEWAY_SECONDS: Setting<u64> = Setting::new(60, 0, 600, "s");
/// Seconds fetched signing keys are trusted before they are fetched again.
pub const JWKS_CACHE_SECONDS: Setting<u64> = Setting::new(600, 1, 86_400, "s");
/// Percent of the requests a shadow authorizer also decides.
pub const SHADOW_PERCENT: Setting<u32> = Setting::new(100, 1, 100, "%");

/// An authorizer as written.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AuthorizerConfig {
    /// Its name, used by routes' `authorizer`.
    pub name: String,
    /// `token` (default), `request` or `jwt`.
    #[serde(rename = "type", default)]
    pub kind: AuthorizerType,
    /// Token and request kinds: the authorizer module, `name`, `name@3` or `name@alias`.
    pub module: Option<String>,
    /// Token kind: the header holding the token (default `Authorization`).
    pub header: Option<String>,
    /// Request kind: `header:NAME`, `query:NAME`, `path:NAME` or `source_ip`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub identity_sources: Vec<String>,
    /// Seconds a decision is reused for the same identity (0: never; at most 3600).
    pub ttl_seconds: Option<u64>,
    /// Time the authorizer may take, in milliseconds (at most 10000).
    pub timeout_ms: Option<u64>,
    /// Most runs of the authorizer at once (default 32); more wait briefly, then get 503.
    pub max_concurrency: Option<u32>,
    /// Token and request kinds: a shadow authorizer module (`name@4`), run beside the live
    /// one off the request's path; its decisions are only compared with the live ones.
    pub shadow: Option<String>,
    /// Percent of the requests the shadow also decides (1 to 100, default 100).
    pub shadow_percent: Option<u32>,
    /// JWT: the required `iss`.
    pub issuer: Option<String>,
    /// JWT: accepted `aud` values (one must be in the token).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub audience: Vec<String>,
    /// JWT: accepted algorithms (`HS256`, `RS256`, `ES256`, `EdDSA`…).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub algorithms: Vec<String>,
    /// JWT: URL of a JWKS (JSON Web Key Set) with the signing keys.
    pub jwks_url: Option<String>,
    /// JWT: file holding a JWKS (relative to the manifest's folder in a manifest).
    pub jwks_file: Option<String>,
    /// JWT: shared secret of `HS*` algorithms.
    pub secret: Option<String>,
    /// JWT: PEM public key of `RS*`, `PS*`, `ES*` or `EdDSA` algorithms.
    pub public_key_pem: Option<String>,
    /// JWT: seconds of clock skew allowed on `exp` and `nbf` (default 60).
    pub leeway_seconds: Option<u64>,
    /// JWT: seconds fetched JWKS keys are trusted (default 600).
    pub jwks_cache_seconds: Option<u64>,
}

/// What listings and exports show in place of a secret.
pub const REDACTED: &str = "(redacted)";

impl AuthorizerConfig {
    /// The same configuration with secrets replaced, for listings.
    pub fn redacted(&self) -> Self {
        AuthorizerConfig {
            secret: self.secret.as_ref().map(|_| REDACTED.to_owned()),
            ..self.clone()
        }
    }
}

/// The kinds of authorizer, as API Gateway names them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthorizerType {
    /// A module given one header's value as the token.
    #[default]
    Token,
    /// A module given several identity sources.
    Request,
    /// The built-in JWT validation.
    Jwt,
}

impl AuthorizerType {
    /// `token`, `request` or `jwt`.
    pub fn as_str(&self) -> &'static str {
        match self {
            AuthorizerType::Token => "token",
            AuthorizerType::Request => "request",
            AuthorizerType::Jwt => "jwt",
        }
    }
}

impl fmt::Display for AuthorizerType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
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
    /// The identity sources: all must be present, or the request gets 401.
    pub sources: Vec<IdentitySource>,
    /// What decides.
    pub kind: AuthorizerKindSpec,
}

/// What decides on a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthorizerKindSpec {
    /// A custom authorizer module.
    Module {
        /// Token (one header, passed as the token) or request (any sources).
        token: bool,
        /// The authorizer module.
        target: Target,
        /// How long a decision is reused (zero: never).
        ttl: Duration,
        /// How long one call may take.
        timeout: Duration,
        /// Most calls at once.
        max_concurrency: u32,
        /// A module whose decisions are compared with the live ones.
        shadow: Option<ShadowSpec>,
    },
    /// The built-in JWT validation.
    Jwt(JwtSpec),
}

/// A shadow authorizer: another module deciding beside the live one, for comparison only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShadowSpec {
    /// The module, `name`, `name@3` or `name@alias`.
    pub target: Target,
    /// Percent of the requests it also decides.
    pub percent: u32,
}

/// A built-in JWT authorizer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwtSpec {
    /// Required `iss`, if any.
    pub issuer: Option<String>,
    /// Accepted `aud` values (empty: a token carrying `aud` is refused).
    pub audience: Vec<String>,
    /// Accepted algorithms.
    pub algorithms: Vec<jsonwebtoken::Algorithm>,
    /// Where the signing keys come from.
    pub keys: KeySource,
    /// Clock skew allowed on `exp` and `nbf`.
    pub leeway: Duration,
    /// How long fetched keys are trusted.
    pub jwks_cache: Duration,
}

/// Where a JWT authorizer's signing keys come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// A JWKS at a URL.
    JwksUrl(String),
    /// A JWKS in a file.
    JwksFile(std::path::PathBuf),
    /// A shared secret (`HS*`).
    Secret(String),
    /// A PEM public key.
    PublicKeyPem(String),
}

impl AuthorizerConfig {
    /// Checks every field; each problem's key is the field's name.
    pub fn validate(&self) -> Result<AuthorizerSpec, Vec<Problem>> {
        let mut problems = Vec::new();
        let mut problem = |key: &str, message: String| problems.push(Problem::new(key, message));
        let name = ModuleName::new(&self.name)
            .map_err(|m| problem("name", m.replace("module name", "authorizer name")))
            .ok();
        let jwt_fields = [
            ("issuer", self.issuer.is_some()),
            ("audience", !self.audience.is_empty()),
            ("algorithms", !self.algorithms.is_empty()),
            ("jwks_url", self.jwks_url.is_some()),
            ("jwks_file", self.jwks_file.is_some()),
            ("secret", self.secret.is_some()),
            ("public_key_pem", self.public_key_pem.is_some()),
            ("leeway_seconds", self.leeway_seconds.is_some()),
            ("jwks_cache_seconds", self.jwks_cache_seconds.is_some()),
        ];
        if self.kind == AuthorizerType::Jwt && self.shadow.is_some() {
            problem(
                "shadow",
                "a jwt authorizer runs no module: a shadow is for token and request authorizers"
                    .into(),
            );
        }
        let mut sources = Vec::new();
        let kind = match self.kind {
            AuthorizerType::Token | AuthorizerType::Jwt => {
                if !self.identity_sources.is_empty() {
                    problem(
                        "identity_sources",
                        "a token or jwt authorizer reads one `header`; identity_sources are for `type = \"request\"`".into(),
                    );
                }
                let header = self.header.as_deref().unwrap_or("Authorization");
                sources.push(IdentitySource::Header(header.to_ascii_lowercase()));
                if self.kind == AuthorizerType::Jwt {
                    self.validate_jwt(&mut problem)
                } else {
                    self.validate_module(true, &jwt_fields, &mut problem)
                }
            }
            AuthorizerType::Request => {
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
                self.validate_module(false, &jwt_fields, &mut problem)
            }
        };
        match (name, kind) {
            (Some(name), Some(kind)) if problems.is_empty() => Ok(AuthorizerSpec {
                name,
                sources,
                kind,
            }),
            _ => Err(problems),
        }
    }

    fn validate_module(
        &self,
        token: bool,
        jwt_fields: &[(&str, bool)],
        problem: &mut impl FnMut(&str, String),
    ) -> Option<AuthorizerKindSpec> {
        for (field, set) in jwt_fields {
            if *set {
                problem(
                    field,
                    format!("`{field}` is for `type = \"jwt\"` authorizers"),
                );
            }
        }
        let target = match &self.module {
            Some(module) => Target::parse(module).map_err(|m| problem("module", m)).ok(),
            None => {
                problem(
                    "module",
                    "a token or request authorizer needs its `module`".into(),
                );
                None
            }
        };
        let ttl = TTL_SECONDS.resolve_at("ttl_seconds", self.ttl_seconds, problem);
        let timeout = AUTHORIZER_TIMEOUT_MS.resolve_at("timeout_ms", self.timeout_ms, problem);
        let max_concurrency =
            AUTHORIZER_CONCURRENCY.resolve_at("max_concurrency", self.max_concurrency, problem);
        let percent = SHADOW_PERCENT.resolve_at("shadow_percent", self.shadow_percent, problem);
        let shadow = match (&self.shadow, self.shadow_percent) {
            (Some(shadow), _) => match Target::parse(shadow) {
                Ok(target) => Some(ShadowSpec { target, percent }),
                Err(message) => {
                    problem("shadow", message);
                    None
                }
            },
            (None, Some(_)) => {
                problem(
                    "shadow_percent",
                    "`shadow_percent` goes with a `shadow`".into(),
                );
                None
            }
            (None, None) => None,
        };
        Some(AuthorizerKindSpec::Module {
            token,
            target: target?,
            ttl: Duration::from_secs(ttl),
            timeout: Duration::from_millis(timeout),
            max_concurrency,
            shadow,
        })
    }
}
