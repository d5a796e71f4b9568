//! Registry errors, each with the HTTP status the admin API answers it with. Variants carry
//! what went wrong as data (which module, version, route…); their text is made here.

use std::fmt;

use http::StatusCode;

use crate::config::{AuthorizerType, Executor, ModuleName, Problem, Target};
use crate::routing::RouteConflict;
use crate::runtime::{LoadError, ModuleKind};

/// Why a registry operation failed. Nothing stored changes when one is returned.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    /// The uploaded bytes are not a usable handler.
    #[error(transparent)]
    InvalidModule(#[from] LoadError),
    /// Compiling took longer than allowed.
    #[error("compiling the module took longer than {0} s")]
    CompileTimeout(u64),
    /// A value in the request is invalid.
    #[error(transparent)]
    Invalid(#[from] Invalid),
    /// The module, version, alias, route, authorizer, plan or key does not exist.
    #[error(transparent)]
    NotFound(#[from] Missing),
    /// The change conflicts with what is stored (e.g. deleting a version still in use).
    #[error(transparent)]
    Conflict(Box<Conflict>),
    /// The data dir could not be read or written.
    #[error("storage: {0}")]
    Storage(String),
    /// The store the gateway nodes share cannot be reached, or another node's change did
    /// not finish in time: nothing was changed, and retrying later may succeed.
    #[error("{0}")]
    Unavailable(String),
}

impl RegistryError {
    /// The admin API's status for it.
    pub fn status(&self) -> StatusCode {
        match self {
            RegistryError::InvalidModule(_) | RegistryError::Invalid(_) => StatusCode::BAD_REQUEST,
            RegistryError::CompileTimeout(_) => StatusCode::UNPROCESSABLE_ENTITY,
            RegistryError::NotFound(_) => StatusCode::NOT_FOUND,
            RegistryError::Conflict(_) => StatusCode::CONFLICT,
            RegistryError::Storage(_) => StatusCode::INTERNAL_SERVER_ERROR,
            RegistryError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

impl From<Conflict> for RegistryError {
    fn from(conflict: Conflict) -> Self {
        RegistryError::Conflict(Box::new(conflict))
    }
}

impl From<std::io::Error> for RegistryError {
    fn from(error: std::io::Error) -> Self {
        RegistryError::Storage(error.to_string())
    }
}

/// An invalid value in a change.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Invalid {
    /// Fields of a configuration, each problem naming its field.
    #[error("{}", Joined(.0))]
    Fields(Vec<Problem>),
    /// A name or alias that is not valid (the message says why).
    #[error("{0}")]
    Name(String),
    /// A module's environment or outbound hosts (the message says which and why).
    #[error("{0}")]
    ModuleConfig(String),
    /// A route's `fuel` without fuel metering.
    #[error("`fuel` needs the gateway started with --fuel-metering")]
    FuelNeedsMetering,
    /// `isolation = "reuse"` on a route to a WAGI command.
    #[error(
        "`isolation = \"reuse\"` needs a component: version {version} of `{module}` is a WAGI command, which runs once per instance"
    )]
    ReuseNeedsComponent {
        /// The module.
        module: ModuleName,
        /// Its version.
        version: u32,
    },
    /// Bytes already stored as a version run by another executor.
    #[error(
        "these bytes are already version {version} of `{module}`, with executor `{stored}`, not `{given}`"
    )]
    ExecutorMismatch {
        /// The module.
        module: ModuleName,
        /// The version the bytes are.
        version: u32,
        /// Its executor.
        stored: Executor,
        /// The executor asked for.
        given: Executor,
    },
    /// A target that names nothing deployed.
    #[error(transparent)]
    Unresolved(#[from] Unresolved),
    /// A version of a module is not the kind its user needs.
    #[error("version {version} of `{module}` is not {wanted} (it is {found})")]
    WrongKind {
        /// The module.
        module: ModuleName,
        /// The version.
        version: u32,
        /// What it must be.
        wanted: ModuleKind,
        /// What it is.
        found: ModuleKind,
    },
    /// A route names an authorizer that does not exist.
    #[error("no authorizer `{0}` has been declared")]
    UnknownAuthorizer(ModuleName),
    /// A route with scopes names an authorizer that cannot check them.
    #[error("`scopes` are checked by jwt authorizers; `{authorizer}` is a {kind} authorizer")]
    ScopesNeedJwt {
        /// The authorizer.
        authorizer: ModuleName,
        /// Its type.
        kind: AuthorizerType,
    },
    /// An alias's canary is the alias's own version.
    #[error("the canary version must differ from the alias's version")]
    CanaryIsTheVersion,
    /// An alias's canary share out of range.
    #[error("a canary takes 1 to 99 percent of requests, not {0}")]
    CanaryShare(u8),
    /// The routes' reserved concurrency adds up to more than the instance pool.
    #[error(
        "the routes reserve {reserved} instances in all ({routes}), more than the {pool} of the pool (--max-instances)"
    )]
    OverReserved {
        /// The reservations' sum.
        reserved: u64,
        /// The pool's size.
        pool: u32,
        /// The routes with a reservation, `METHOD path (n)`, largest first.
        routes: String,
    },
    /// A key names a plan that does not exist.
    #[error("no plan `{0}`")]
    UnknownPlan(String),
}

struct Joined<'a>(&'a [Problem]);

impl fmt::Display for Joined<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, problem) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{problem}")?;
        }
        Ok(())
    }
}

/// Why a target names nothing that can run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Unresolved {
    /// No such module.
    #[error("no module `{0}` has been deployed")]
    NoModule(ModuleName),
    /// The module has no versions left.
    #[error("module `{0}` has no versions")]
    NoVersions(ModuleName),
    /// No such version.
    #[error("module `{module}` has no version {version}")]
    NoVersion {
        /// The module.
        module: ModuleName,
        /// The version.
        version: u32,
    },
    /// No such alias.
    #[error("module `{module}` has no alias `{alias}`")]
    NoAlias {
        /// The module.
        module: ModuleName,
        /// The alias.
        alias: String,
    },
}

/// What a request names that does not exist.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Missing {
    /// A module.
    #[error("no module `{0}`")]
    Module(String),
    /// A version of a module.
    #[error("module `{module}` has no version {version}")]
    Version {
        /// The module.
        module: ModuleName,
        /// The version.
        version: u32,
    },
    /// An alias of a module.
    #[error("module `{module}` has no alias `{alias}`")]
    Alias {
        /// The module.
        module: ModuleName,
        /// The alias.
        alias: String,
    },
    /// A secret of a module.
    #[error("module `{module}` has no secret `{secret}`")]
    Secret {
        /// The module.
        module: ModuleName,
        /// The secret's name.
        secret: String,
    },
    /// A route, by id.
    #[error("no route with id `{0}`")]
    Route(String),
    /// An authorizer.
    #[error("no authorizer `{0}`")]
    Authorizer(String),
    /// A usage plan.
    #[error("no plan `{0}`")]
    Plan(String),
    /// An API key, by id.
    #[error("no key `{0}`")]
    Key(String),
}

/// Why a change conflicts with what is stored.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Conflict {
    /// Two routes would match the same paths ambiguously.
    #[error(transparent)]
    Ambiguous(#[from] RouteConflict),
    /// What the change removes is still in use.
    #[error("{thing} is used by {user}")]
    InUse {
        /// What is in use.
        thing: Stored,
        /// What uses it.
        user: Stored,
    },
    /// A route requires scopes and its authorizer would not be a jwt one.
    #[error("{route} requires scopes, which only a jwt authorizer checks")]
    ScopesNeedJwt {
        /// The route.
        route: Stored,
    },
    /// An alias to roll back has no earlier version in the history.
    #[error("the history has no earlier version of `{module}@{alias}` to roll back to")]
    NoEarlierVersion {
        /// The module.
        module: ModuleName,
        /// The alias.
        alias: String,
    },
    /// An alias would run versions that import interfaces its versions do not, and the
    /// change did not approve them.
    #[error(
        "{alias} would gain capabilities its versions do not have: {}; approve them with \
         \"approve_capabilities\": true (CLI: --approve-capabilities)",
        capabilities.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", ")
    )]
    NewCapabilities {
        /// The alias.
        alias: Stored,
        /// The interfaces it would gain.
        capabilities: Vec<String>,
    },
    /// The change would leave a route without a handler, or an authorizer without an
    /// authorizer module.
    #[error("{user} would no longer run {wanted}: {error}")]
    WouldBreak {
        /// The route or authorizer.
        user: Stored,
        /// What it must run.
        wanted: ModuleKind,
        /// Why it would not.
        error: Box<RegistryError>,
    },
}

/// Something stored, as conflict messages name it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Stored {
    /// A route: ``route `GET /a` ``.
    Route {
        /// Its method, as written.
        method: String,
        /// Its path template.
        path: String,
    },
    /// An authorizer.
    Authorizer(String),
    /// An alias (`name@alias`).
    Alias(Target),
    /// A version of a module.
    Version {
        /// The module.
        module: ModuleName,
        /// The version.
        version: u32,
    },
    /// A usage plan.
    Plan(String),
    /// An API key, by id.
    Key(String),
}

impl fmt::Display for Stored {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Stored::Route { method, path } => write!(f, "route `{method} {path}`"),
            Stored::Authorizer(name) => write!(f, "authorizer `{name}`"),
            Stored::Alias(target) => write!(f, "alias `{target}`"),
            Stored::Version { module, version } => write!(f, "version {version} of `{module}`"),
            Stored::Plan(name) => write!(f, "plan `{name}`"),
            Stored::Key(id) => write!(f, "key `{id}`"),
        }
    }
}
