//! The WebAssembly runtime: one engine, one linker with everything a handler may import,
//! compiled handler components, and per-request invocations.
//!
//! - `engine.rs`: engine configuration (pooling allocator, epochs) and the epoch ticker.
//! - `handler.rs`: loading and validating a component into a pre-linked handler.
//! - `state.rs`: the per-invocation store data (WASI, `wasi:http`, limits, facts).
//! - `context.rs`: the `wasmgate:gateway/context` import.
//! - `invoke.rs`: one request through a fresh instance.
//! - `guest_task.rs`: the guest's task and response body after the head is sent.

mod context;
mod engine;
mod guest_task;
mod handler;
mod invoke;
mod state;

use std::path::Path;

use wasmtime::Engine;
use wasmtime::component::Linker;

pub use context::InvocationFacts;
pub use engine::{EPOCH_TICK, EngineOptions};
pub use handler::{HandlerComponent, LoadError};

pub use invoke::InvokeError;
pub use state::MemoryLimitExceeded;

use state::InvocationState;

/// The runtime could not be created.
#[derive(Debug, thiserror::Error)]
#[error("cannot create the WebAssembly runtime: {0}")]
pub struct RuntimeError(String);

impl RuntimeError {
    fn engine(error: wasmtime::Error) -> Self {
        RuntimeError(format!("{error:#}"))
    }
}

/// The engine, the linker and the epoch ticker, shared by every handler.
pub struct Runtime {
    linker: Linker<InvocationState>,
    _ticker: engine::EpochTicker,
}

impl Runtime {
    /// Builds the engine and links the full WASI 0.2 command set (components built with
    /// Rust's std import `wasi:cli/*` and more besides `wasi:http`), `wasi:http` and the
    /// gateway context.
    pub fn new(options: &EngineOptions) -> Result<Self, RuntimeError> {
        let engine = engine::build_engine(options).map_err(RuntimeError::engine)?;
        let mut linker = Linker::<InvocationState>::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker).map_err(RuntimeError::engine)?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)
            .map_err(RuntimeError::engine)?;
        context::add_to_linker(&mut linker, |state| &mut state.facts)
            .map_err(RuntimeError::engine)?;
        let ticker = engine::EpochTicker::start(&engine)
            .map_err(|e| RuntimeError(format!("cannot start the epoch thread: {e}")))?;
        Ok(Runtime {
            linker,
            _ticker: ticker,
        })
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        self.linker.engine()
    }

    /// Loads a handler component from a file: compiled once, here, never per request.
    pub fn load_handler(&self, path: &Path) -> Result<HandlerComponent, LoadError> {
        HandlerComponent::load(&self.linker, path)
    }
}
