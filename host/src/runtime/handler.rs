//! Modules: read, validated and compiled once at load, kept pre-linked (a [`ProxyPre`] for
//! handler components) so that every request gets a fresh instance cheaply.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use wasmtime::component::{Component, Linker};
use wasmtime_wasi_http::p2::bindings::ProxyPre;

use super::reuse::{IdleBudget, InstancePool};
use super::spares::Spares;

use super::authorizer::{AuthorizerComponent, AuthorizerPre};
use super::state::InvocationState;
use super::wagi::{WagiHandler, WagiState};
use crate::config::Executor;

/// A compiled module: a handler or an authorizer, told apart by what it exports.
#[derive(Clone)]
pub enum CompiledModule {
    /// Answers HTTP requests.
    Handler(Handler),
    /// Exports `wasmgate:gateway/authorize`.
    Authorizer(AuthorizerComponent),
}

/// A module that answers HTTP requests, by executor.
#[derive(Clone)]
pub enum Handler {
    /// A component exporting `wasi:http/incoming-handler`.
    Component(HandlerComponent),
    /// A `wasm32-wasip1` command run the WAGI way.
    Wagi(WagiHandler),
}

/// The linkers modules are linked with, one per executor.
pub(super) struct Linkers {
    pub component: Linker<InvocationState>,
    pub wagi: wasmtime::Linker<WagiState>,
    /// Where modules compile.
    pub compiler: super::compiler::Compiler,
    /// The idle reusable instances all versions may keep, together.
    pub idle: Arc<IdleBudget>,
    /// Fresh instances made ahead of requests while the gateway is idle.
    pub spares: Arc<Spares>,
}

/// What a compiled module is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModuleKind {
    /// A request handler (a `wasi:http` component or a WAGI command).
    Handler,
    /// A custom authorizer.
    Authorizer,
}

impl std::fmt::Display for ModuleKind {
    /// With its article, as messages use it: `a handler`, `an authorizer`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ModuleKind::Handler => "a handler",
            ModuleKind::Authorizer => "an authorizer",
        })
    }
}

impl CompiledModule {
    /// A handler or an authorizer.
    pub fn kind(&self) -> ModuleKind {
        match self {
            CompiledModule::Handler(_) => ModuleKind::Handler,
            CompiledModule::Authorizer(_) => ModuleKind::Authorizer,
        }
    }

    /// The compiled native code, to cache on disk (see [`super::Runtime::load_precompiled`]).
    pub fn serialize(&self) -> wasmtime::Result<Vec<u8>> {
        match self {
            CompiledModule::Handler(Handler::Component(handler)) => handler.component.serialize(),
            CompiledModule::Handler(Handler::Wagi(handler)) => handler.serialize(),
            CompiledModule::Authorizer(authorizer) => {
                authorizer.pre.instance_pre().component().serialize()
            }
        }
    }
}

/// A compiled, pre-linked `wasi:http` handler component.
#[derive(Clone)]
pub struct HandlerComponent {
    pub(super) pre: ProxyPre<InvocationState>,
    pub(super) component: Component,
    /// Idle instances for routes with `isolation = "reuse"` (shared by the clones).
    pub(super) pool: Arc<InstancePool>,
    /// The gateway's spare instances (`spares.rs`).
    pub(super) spares: Arc<Spares>,
}

/// Why bytes could not be loaded as a handler. Every message names where they came from.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// The file could not be read.
    #[error("cannot read {}: {error}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        error: std::io::Error,
    },
    /// The bytes are not what the executor runs (or not WebAssembly at all).
    #[error("{origin} {problem}")]
    WrongBytes {
        /// Where the bytes came from.
        origin: String,
        /// What they are instead.
        problem: crate::config::WrongBytes,
    },
    /// A core module without `_start`, for the WAGI executor.
    #[error(
        "{origin} exports no `_start()`: the `wagi` executor runs commands (a program with `main`, built for `wasm32-wasip1`), not reactors or libraries"
    )]
    NotACommand {
        /// Where the bytes came from.
        origin: String,
    },
    /// Validation or compilation failed (also for truncated files).
    #[error("{origin} is not a valid component: {message}")]
    Invalid {
        /// Where the bytes came from.
        origin: String,
        /// Wasmtime's explanation.
        message: String,
    },
    /// The component imports something the gateway does not provide.
    #[error("{origin} imports what wasmgate does not provide: {message}")]
    UnsatisfiedImport {
        /// Where the bytes came from.
        origin: String,
        /// Which imports.
        message: String,
    },
    /// The component exports neither `wasi:http/incoming-handler` nor the authorizer world.
    #[error(
        "{origin} does not export `wasi:http/incoming-handler@0.2.x` (an HTTP handler) nor `wasmgate:gateway/authorize@0.1.0` (an authorizer): {message}"
    )]
    NotAHandler {
        /// Where the bytes came from.
        origin: String,
        /// Wasmtime's explanation.
        message: String,
    },
}

impl LoadError {
    /// Linking failed: names the imports the gateway does not provide (`foreign`), then
    /// wasmtime's own error.
    pub(super) fn unsatisfied(origin: &str, foreign: &[String], error: &wasmtime::Error) -> Self {
        let message = if foreign.is_empty() {
            format!("{error:#}")
        } else {
            format!("{} ({error:#})", foreign.join(", "))
        };
        LoadError::UnsatisfiedImport {
            origin: origin.to_owned(),
            message,
        }
    }
}

/// WIT packages the linker provides (any 0.2.x version of the WASI ones).
const PROVIDED_PACKAGES: [&str; 10] = [
    "wasi:cli/",
    "wasi:io/",
    "wasi:clocks/",
    "wasi:random/",
    "wasi:filesystem/",
    "wasi:sockets/",
    "wasi:http/",
    "wasi:keyvalue/",
    "wasi:config/",
    "wasmgate:gateway/",
];

impl CompiledModule {
    /// Reads, compiles and links a module file.
    pub(super) fn load(
        linkers: &Linkers,
        path: &Path,
        executor: Option<Executor>,
    ) -> Result<Self, LoadError> {
        let bytes = std::fs::read(path).map_err(|error| LoadError::Read {
            path: path.to_owned(),
            error,
        })?;
        Self::compile(linkers, &path.display().to_string(), &bytes, executor)
    }

    /// Validates, compiles and links a module from its bytes; `origin` names them in
    /// errors. `executor` is what the module's owner declared; `None` runs whatever the
    /// bytes are (a stored module, checked when it was uploaded).
    pub(super) fn compile(
        linkers: &Linkers,
        origin: &str,
        bytes: &[u8],
        executor: Option<Executor>,
    ) -> Result<Self, LoadError> {
        let origin = origin.to_owned();
        let detected =
            Executor::check_bytes(executor, bytes).map_err(|problem| LoadError::WrongBytes {
                origin: origin.clone(),
                problem,
            })?;
        match detected {
            Executor::Component => {
                let component = (linkers.compiler)
                    .component(linkers.component.engine(), bytes)
                    .map_err(|e| invalid(&origin, e))?;
                Self::link(linkers, origin, component)
            }
            Executor::Wagi => {
                let module = (linkers.compiler)
                    .module(linkers.wagi.engine(), bytes)
                    .map_err(|e| invalid(&origin, e))?;
                Ok(CompiledModule::Handler(Handler::Wagi(WagiHandler::link(
                    &linkers.wagi,
                    origin,
                    module,
                )?)))
            }
        }
    }

    /// Links an already compiled component.
    pub(super) fn link(
        linkers: &Linkers,
        origin: String,
        component: Component,
    ) -> Result<Self, LoadError> {
        let linker = &linkers.component;
        let instance_pre = linker.instantiate_pre(&component).map_err(|e| {
            let engine = linker.engine();
            let foreign: Vec<String> = component
                .component_type()
                .imports(engine)
                .map(|(name, _)| name)
                .filter(|name| !PROVIDED_PACKAGES.iter().any(|p| name.starts_with(p)))
                .map(|name| format!("`{name}`"))
                .collect();
            LoadError::unsatisfied(&origin, &foreign, &e)
        })?;
        let handler_error = match ProxyPre::new(instance_pre.clone()) {
            Ok(pre) => {
                return Ok(CompiledModule::Handler(Handler::Component(
                    HandlerComponent {
                        pre,
                        component,
                        pool: InstancePool::new(&linkers.idle),
                        spares: linkers.spares.clone(),
                    },
                )));
            }
            Err(error) => error,
        };
        match AuthorizerPre::new(instance_pre) {
            Ok(pre) => Ok(CompiledModule::Authorizer(AuthorizerComponent { pre })),
            Err(_) => Err(LoadError::NotAHandler {
                origin,
                message: format!("{handler_error:#}"),
            }),
        }
    }
}

fn invalid(origin: &str, error: wasmtime::Error) -> LoadError {
    LoadError::Invalid {
        origin: origin.to_owned(),
        message: format!("{error:#}"),
    }
}
