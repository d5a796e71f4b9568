//! The manifest (`wasmgate.toml`): which modules exist and which routes lead to them.
//!
//! This module only reads the file: parsing is strict (unknown keys are errors) and every
//! problem names the file, the key and what is wrong. What it yields is [`Manifest`], made
//! of [`crate::config`]'s types, which the registry and the admin API share.
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
//!
//! A `[[modules]]` entry may say how its file is built, for `wasmgate build` and
//! `wasmgate dev`: `build = { command = "cargo build --release --target wasm32-wasip2",
//! watch = ["src", "Cargo.toml"] }`.

mod error;
mod schema;
#[cfg(test)]
mod tests;
mod validate;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

pub use error::{ManifestError, sort_problems};

pub use crate::config::DEFAULT_LISTEN;
use crate::config::{
    AuthorizerConfig, CorsConfig, Executor, ModuleConfig, ModuleName, RouteConfig, StoreConfig,
    ThrottleConfig, TrustedProxies,
};

/// A loaded, validated manifest.
#[derive(Debug, Clone, PartialEq)]
pub struct Manifest {
    /// The file it was read from.
    pub source: PathBuf,
    /// `[gateway] listen`.
    pub listen: SocketAddr,
    /// `[gateway] throttle`: a rate limit shared by every route.
    pub throttle: Option<ThrottleConfig>,
    /// `[gateway] cors`: the CORS policy of routes that set none.
    pub cors: Option<CorsConfig>,
    /// `[gateway] trusted_proxies`: who may say who the client is.
    pub trusted_proxies: TrustedProxies,
    /// `[[modules]]`, in file order.
    pub modules: Vec<ModuleSpec>,
    /// `[[routes]]` as written, in file order (each one valid).
    pub routes: Vec<RouteConfig>,
    /// `[[authorizers]]` as written, in file order (each one valid).
    pub authorizers: Vec<AuthorizerConfig>,
    /// `[store]`: the store several gateway nodes share, if any.
    pub store: StoreConfig,
    /// Where the entries above stand in the file, for problems found later.
    pub positions: EntryPositions,
}

/// Where a [`Manifest`]'s entries stand in the file: a manifest with problems
/// (`ManifestError::Invalid::partial`) holds only its valid entries, and what the registry
/// finds wrong with those is named by their place in the file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EntryPositions {
    /// The index in `[[routes]]` of each of [`Manifest::routes`].
    pub routes: Vec<usize>,
    /// The index in `[[authorizers]]` of each of [`Manifest::authorizers`].
    pub authorizers: Vec<usize>,
    /// Modules declared by entries that could not be read: routes to them wait for a
    /// manifest that reads, rather than name an unknown module.
    pub unreadable_modules: Vec<ModuleName>,
}

impl Manifest {
    /// The `[[routes]]` index of `self.routes[i]`.
    pub fn route_position(&self, i: usize) -> usize {
        self.positions.routes.get(i).copied().unwrap_or(i)
    }

    /// The `[[authorizers]]` index of `self.authorizers[i]`.
    pub fn authorizer_position(&self, i: usize) -> usize {
        self.positions.authorizers.get(i).copied().unwrap_or(i)
    }
}

/// A module to load: a `.wasm` component on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleSpec {
    /// Its name, used by routes.
    pub name: ModuleName,
    /// Its file, resolved against the manifest's folder.
    pub path: PathBuf,
    /// Environment and outbound access of its instances.
    pub config: ModuleConfig,
    /// How its instances run: a component (the default) or a WAGI command.
    pub executor: Executor,
    /// Aliases that point at this file's version (set at each start-up), with their stage
    /// variables.
    pub aliases: std::collections::BTreeMap<String, std::collections::BTreeMap<String, String>>,
    /// How `wasmgate build` and `wasmgate dev` make the file, if the manifest says.
    pub build: Option<BuildSpec>,
}

/// How a module's file is built: a shell command run in the manifest's folder, and the
/// sources `wasmgate dev` watches to run it again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildSpec {
    /// The command (run with `sh -c`).
    pub command: String,
    /// The folder it runs in: the manifest's.
    pub dir: PathBuf,
    /// Files and folders (watched with everything under them) whose change rebuilds;
    /// the manifest's folder, without what is under it, when the manifest names none.
    pub watch: Vec<PathBuf>,
}

/// The longest build command (far beyond a real one).
pub const MAX_BUILD_COMMAND: usize = 4096;

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
        let mut problems = Vec::new();
        let file = schema::read(text, &mut problems).map_err(|e| ManifestError::Syntax {
            path: source.to_owned(),
            message: e.to_string().trim_end().to_owned(),
        })?;
        validate::validate(file, problems, source, base)
    }
}
