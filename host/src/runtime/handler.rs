//! Handler components: read, validated and compiled once at load, kept as a pre-linked
//! [`ProxyPre`] from which every request gets a fresh instance.

use std::path::{Path, PathBuf};

use wasmtime::component::{Component, Linker};
use wasmtime_wasi_http::p2::bindings::ProxyPre;

use super::state::InvocationState;

/// A compiled, pre-linked `wasi:http` handler component.
#[derive(Clone)]
pub struct HandlerComponent {
    pub(super) pre: ProxyPre<InvocationState>,
}

/// Why a file could not be loaded as a handler. Every message names the file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// The file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The bytes are not WebAssembly at all.
    #[error("{} is not a WebAssembly file: it does not start with the `\\0asm` header", path.display())]
    NotWasm {
        /// The file.
        path: PathBuf,
    },
    /// A core module, not a component.
    #[error(
        "{} is a core WebAssembly module, not a component: handlers are `wasi:http` components (build Rust for `wasm32-wasip2`)",
        path.display()
    )]
    CoreModule {
        /// The file.
        path: PathBuf,
    },
    /// Validation or compilation failed (also for truncated files).
    #[error("{} is not a valid component: {message}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// Wasmtime's explanation.
        message: String,
    },
    /// The component imports something the gateway does not provide.
    #[error("{} imports what wasmgate does not provide: {message}", path.display())]
    UnsatisfiedImport {
        /// The file.
        path: PathBuf,
        /// Which import, as wasmtime reports it.
        message: String,
    },
    /// The component does not export `wasi:http/incoming-handler`.
    #[error(
        "{} does not export `wasi:http/incoming-handler@0.2.x`, so it is not an HTTP handler: {message}",
        path.display()
    )]
    NotAHandler {
        /// The file.
        path: PathBuf,
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

impl HandlerComponent {
    /// Reads, compiles and links a handler file.
    pub(super) fn load(linker: &Linker<InvocationState>, path: &Path) -> Result<Self, LoadError> {
        let bytes = std::fs::read(path).map_err(|source| LoadError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::from_bytes(linker, path, &bytes)
    }

    /// Compiles and links a handler from its bytes; `path` names it in errors.
    pub(super) fn from_bytes(
        linker: &Linker<InvocationState>,
        path: &Path,
        bytes: &[u8],
    ) -> Result<Self, LoadError> {
        let path = path.to_owned();
        match wasm_kind(bytes) {
            WasmKind::Component => {}
            WasmKind::CoreModule => return Err(LoadError::CoreModule { path }),
            WasmKind::NotWasm => return Err(LoadError::NotWasm { path }),
        }
        let component = Component::new(linker.engine(), bytes).map_err(|e| LoadError::Invalid {
            path: path.clone(),
            message: format!("{e:#}"),
        })?;
        let instance_pre =
            linker
                .instantiate_pre(&component)
                .map_err(|e| LoadError::UnsatisfiedImport {
                    path: path.clone(),
                    message: format!("{e:#}"),
                })?;
        let pre = ProxyPre::new(instance_pre).map_err(|e| LoadError::NotAHandler {
            path,
            message: format!("{e:#}"),
        })?;
        Ok(HandlerComponent { pre })
    }
}
