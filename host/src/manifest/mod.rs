//! The manifest (`wasmgate.toml`): which modules exist and which routes lead to them.
//!
//! Parsing is strict (unknown keys are errors) and every problem names the file, the key
//! and what is wrong. The result is normalised into [`Manifest`], the one form the rest of
//! the host uses.
//!
//! ```toml
//! [gateway]
//! listen = "127.0.0.1:8080"
//!
//! [[modules]]
//! name = "hello"
//! path = "target/wasm32-wasip2/release/hello.wasm"   # relative to this file
//! env = { GREETING = "Hello" }                         # optional; none by default
//! allowed_outbound_hosts = ["https://api.example.com"] # optional; nothing by default
//!
//! [[routes]]
//! method = "GET"              # GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS or ANY
//! path = "/hello/{name}"      # {param} segments, and a greedy {proxy+} last segment
//! module = "hello"           # also `hello@3` (a version) or `hello@prod` (an alias)
//! timeout_ms = 5000           # optional, 50..=29000, default 29000
//! memory_mb = 64              # optional, 1..=4096, default 128
//! ```

mod authorizer;
mod error;
mod jwt;
mod protection;
mod schema;
#[cfg(test)]
mod tests;
mod validate;

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

pub use authorizer::{
    AuthorizerConfig, AuthorizerKindSpec, AuthorizerSpec, DEFAULT_AUTHORIZER_TIMEOUT_MS,
    DEFAULT_TTL_SECONDS, IdentitySource, JwtSpec, KeySource, MAX_AUTHORIZER_TIMEOUT_MS,
    MAX_TTL_SECONDS,
};
pub use error::{ManifestError, Problem};
pub(crate) use jwt::decoding_key_from_pem;
pub use protection::{
    ClientKey, ConcurrencySpec, DEFAULT_QUEUE, DEFAULT_QUEUE_TIMEOUT_MS, Protection,
};
pub use schema::{ClientThrottleConfig, RouteConfig};

use crate::limits::InvocationLimits;
use crate::registry::Target;
use crate::routing::{MethodFilter, RouteTemplate};

/// The address the gateway listens on when neither the manifest nor `--listen` says.
pub const DEFAULT_LISTEN: SocketAddr = SocketAddr::V4(std::net::SocketAddrV4::new(
    std::net::Ipv4Addr::LOCALHOST,
    8080,
));

/// A loaded, validated manifest.
#[derive(Debug, Clone, PartialEq)]
pub struct Manifest {
    /// The file it was read from.
    pub source: PathBuf,
    /// `[gateway] listen`.
    pub listen: SocketAddr,
    /// `[gateway] throttle`: a rate limit shared by every route.
    pub throttle: Option<crate::throttle::ThrottleConfig>,
    /// `[[modules]]`, in file order.
    pub modules: Vec<ModuleSpec>,
    /// `[[routes]]` as written, in file order (each one valid).
    pub routes: Vec<RouteConfig>,
    /// `[[authorizers]]` as written, in file order (each one valid).
    pub authorizers: Vec<AuthorizerConfig>,
}

/// A module to load: a `.wasm` component on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleSpec {
    /// Its name, used by routes.
    pub name: ModuleName,
    /// Its file, resolved against the manifest's folder.
    pub path: PathBuf,
    /// Environment and outbound access of its instances.
    pub config: crate::registry::ModuleConfig,
    /// How its instances run: a component (the default) or a WAGI command.
    pub executor: crate::registry::Executor,
}

/// A route: requests matching `method` and `template` run `target`.
#[derive(Debug, Clone, PartialEq)]
pub struct RouteSpec {
    /// Accepted methods.
    pub method: MethodFilter,
    /// The path template.
    pub template: RouteTemplate,
    /// The module (and version) that handles it.
    pub target: Target,
    /// Timeout and memory of each invocation.
    pub limits: InvocationLimits,
    /// The authorizer guarding it, by name.
    pub authorizer: Option<ModuleName>,
    /// Scopes its JWT authorizer requires.
    pub scopes: Vec<String>,
    /// Rate limits and concurrency.
    pub protection: Protection,
    /// Whether requests need an API key.
    pub api_key_required: bool,
}

impl fmt::Display for RouteSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.method, self.template)
    }
}

/// A module name: 1 to 64 ASCII letters, digits, `-` and `_` (as Lambda function names).
///
/// ```
/// use wasmgate::manifest::ModuleName;
/// assert!(ModuleName::new("hello-world_2").is_ok());
/// assert!(ModuleName::new("hello@prod").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ModuleName(String);

impl ModuleName {
    /// Validates a name; the error says what is wrong with it.
    pub fn new(name: &str) -> Result<Self, String> {
        if name.is_empty() || name.len() > 64 {
            return Err(format!(
                "`{name}` is not a valid module name: it must have 1 to 64 characters"
            ));
        }
        if !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(format!(
                "`{name}` is not a valid module name: use ASCII letters, digits, `-` and `_`"
            ));
        }
        Ok(ModuleName(name.to_owned()))
    }

    /// The name as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ModuleName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Manifest {
    /// Reads and validates a manifest file.
    pub fn load(path: &Path) -> Result<Manifest, ManifestError> {
        let text = std::fs::read_to_string(path).map_err(|source| ManifestError::Read {
            path: path.to_owned(),
            source,
        })?;
        let base = path.parent().unwrap_or_else(|| Path::new("."));
        Manifest::parse(&text, path, base)
    }

    /// Validates manifest text; `source` names it in errors and relative module paths are
    /// resolved against `base`.
    pub fn parse(text: &str, source: &Path, base: &Path) -> Result<Manifest, ManifestError> {
        let file: schema::ManifestFile =
            toml::from_str(text).map_err(|e| ManifestError::Syntax {
                path: source.to_owned(),
                message: e.to_string().trim_end().to_owned(),
            })?;
        validate::validate(file, source, base)
    }
}
