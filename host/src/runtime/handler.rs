//! Handler components: read, validated and compiled once at load, kept as a pre-linked
//! [`ProxyPre`] from which every request gets a fresh instance.

use std::path::{Path, PathBuf};

use wasmtime::component::{Component, Linker};
use wasmtime_wasi_http::p2::bindings::ProxyPre;

use super::authorizer::{AuthorizerComponent, AuthorizerPre};
use super::state::InvocationState;

/// A compiled module: a handler or an authorizer, told apart by what it exports.
#[derive(Clone)]
pub enum CompiledModule {
    /// Exports `wasi:http/incoming-handler`.
    Handler(HandlerComponent),
    /// Exports `wasmgate:gateway/authorize`.
    Authorizer(AuthorizerComponent),
}

impl CompiledModule {
    /// `handler` or `authorizer`.
    pub fn kind(&self) -> &'static str {
        match self {
            CompiledModule::Handler(_) => "handler",
            CompiledModule::Authorizer(_) => "authorizer",
        }
    }

    /// The compiled native code, to cache on disk (see [`super::Runtime::load_precompiled`]).
    pub fn serialize(&self) -> wasmtime::Result<Vec<u8>> {
        match self {
            CompiledModule::Handler(handler) => handler.component.serialize(),
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
    component: Component,
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
    /// The bytes are not WebAssembly at all.
    #[error("{origin} is not a WebAssembly file: it does not start with the `\\0asm` header")]
    NotWasm {
        /// Where the bytes came from.
        origin: String,
    },
    /// A core module, not a component.
    #[error(
        "{origin} is a core WebAssembly module, not a component: handlers are `wasi:http` components (build Rust for `wasm32-wasip2`)"
    )]
    CoreModule {
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

/// Whether bytes start a component, a core module, or neither.
enum WasmKind {
    Component,
    CoreModule,
    NotWasm,
}

fn wasm_kind(bytes: &[u8]) -> WasmKind {
    // The preamble is `\0asm`, then a 2-byte version and a 2-byte layer: layer 0 is a core
    // module, layer 1 a component.
    match bytes {
        [0x00, b'a', b's', b'm', _, _, 0x01, 0x00, ..] => WasmKind::Component,
        [0x00, b'a', b's', b'm', _, _, 0x00, 0x00, ..] => WasmKind::CoreModule,
        _ => WasmKind::NotWasm,
    }
}

/// WIT packages the linker provides (any 0.2.x version of the WASI ones).
const PROVIDED_PACKAGES: [&str; 8] = [
    "wasi:cli/",
    "wasi:io/",
    "wasi:clocks/",
    "wasi:random/",
    "wasi:filesystem/",
    "wasi:sockets/",
    "wasi:http/",
    "wasmgate:gateway/",
];

impl CompiledModule {
    /// Reads, compiles and links a module file.
    pub(super) fn load(linker: &Linker<InvocationState>, path: &Path) -> Result<Self, LoadError> {
        let bytes = std::fs::read(path).map_err(|error| LoadError::Read {
            path: path.to_owned(),
            error,
        })?;
        Self::compile(linker, &path.display().to_string(), &bytes)
    }

    /// Validates, compiles and links a module from its bytes; `origin` names them in
    /// errors.
    pub(super) fn compile(
        linker: &Linker<InvocationState>,
        origin: &str,
        bytes: &[u8],
    ) -> Result<Self, LoadError> {
        let origin = origin.to_owned();
        match wasm_kind(bytes) {
            WasmKind::Component => {}
            WasmKind::CoreModule => return Err(LoadError::CoreModule { origin }),
            WasmKind::NotWasm => return Err(LoadError::NotWasm { origin }),
        }
        let component = Component::new(linker.engine(), bytes).map_err(|e| LoadError::Invalid {
            origin: origin.clone(),
            message: format!("{e:#}"),
        })?;
        Self::link(linker, origin, component)
    }

    /// Links an already compiled component.
    pub(super) fn link(
        linker: &Linker<InvocationState>,
        origin: String,
        component: Component,
    ) -> Result<Self, LoadError> {
        let instance_pre = linker.instantiate_pre(&component).map_err(|e| {
            let engine = linker.engine();
            let foreign: Vec<String> = component
                .component_type()
                .imports(engine)
                .map(|(name, _)| name)
                .filter(|name| !PROVIDED_PACKAGES.iter().any(|p| name.starts_with(p)))
                .map(|name| format!("`{name}`"))
                .collect();
            let message = if foreign.is_empty() {
                format!("{e:#}")
            } else {
                format!("{} ({e:#})", foreign.join(", "))
            };
            LoadError::UnsatisfiedImport {
                origin: origin.clone(),
                message,
            }
        })?;
        let handler_error = match ProxyPre::new(instance_pre.clone()) {
            Ok(pre) => return Ok(CompiledModule::Handler(HandlerComponent { pre, component })),
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
