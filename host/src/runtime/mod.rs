//! The WebAssembly runtime: one engine, one linker with everything a handler may import,
//! compiled handler components, and per-request invocations.
//!
//! - `engine.rs`: engine configuration (pooling allocator, epochs) and the epoch ticker.
//! - `compiler.rs`: compiling on an engine of its own, dropped after each compile.
//! - `handler.rs`: loading and validating a component into a pre-linked handler or
//!   authorizer.
//! - `authorizer.rs`: one call of a custom authorizer.
//! - `state.rs`: the per-invocation store data (WASI, `wasi:http`, limits, facts).
//! - `context.rs`: the `wasmgate:gateway/context` import.
//! - `invoke.rs`: one request through a fresh instance.
//! - `reuse.rs`, `spares.rs`: warm instances of reused routes; fresh ones made ahead while idle.
//! - `wagi.rs`, `cgi.rs`: the WAGI executor, for `wasm32-wasip1` commands.
//! - `outbound.rs`: the allow-list and client for guests' outgoing HTTP requests.
//! - `observe.rs`: capturing one invocation's output and timings (test invoke).
//! - `precompiled.rs`: native code from the data dir, mapped from its file.
//! - `guest_task.rs`: the guest's task and response body after the head is sent.
//! - `tape/`: recording an invocation's nondeterministic inputs, and playing them back.

mod authorizer;
mod cgi;
mod compiler;
mod compute;
mod config_store;
mod context;
mod engine;
mod guest_log;
mod guest_task;
mod handler;
mod idle_timeout;
mod interface;
mod invoke;
mod keyvalue;
mod limiter;
mod observe;
mod outbound;
mod precompiled;
mod reuse;
mod spares;
mod state;
mod swap;
mod tape;
mod trim;
mod vetted_client;
mod wagi;

use std::path::Path;

use wasmtime::Engine;
use wasmtime::component::Linker;

pub use authorizer::{
    AuthRequest, AuthorizeError, AuthorizerComponent, AuthorizerKind, Decision, MAX_DECISION_BYTES,
};
pub use compute::ComputeUse;
pub use context::InvocationFacts;
pub use engine::{EPOCH_TICK, EngineOptions};
pub use guest_log::GUEST_LOG_LIMIT;
pub use handler::{CompiledModule, Handler, HandlerComponent, LoadError, ModuleKind};
pub use idle_timeout::IdleTimeout;
pub use interface::Interface;
pub use keyvalue::{
    KeyPage, KeyValueAccess, KeyValueBackend, KeyValueError, KeyValueResult, LocalKeyValue,
    MAX_BATCH, MAX_KEY_BYTES, MAX_VALUE_BYTES, StoreRef,
};
pub use spares::worker_idle;
pub use wagi::{MAX_OUTPUT, WagiHandler};

pub use invoke::{Invocation, InvokeError, InvokeResult};

/// A request body the runtime can hand to a guest: bytes, sendable, with errors `wasi:http`
/// understands. Every such body is one.
pub trait GuestBody:
    hyper::body::Body<Data = bytes::Bytes, Error: Into<wasmtime_wasi_http::Error>> + Send + 'static
{
}

impl<B> GuestBody for B
where
    B: hyper::body::Body<Data = bytes::Bytes> + Send + 'static,
    B::Error: Into<wasmtime_wasi_http::Error>,
{
}
pub use limiter::MemoryLimitExceeded;
pub use observe::{CAPTURE_LIMIT, Observation, PhaseTimes};
pub use reuse::{IDLE_LIFETIME, MAX_IDLE_INSTANCES};
pub use state::Sandbox;
pub use tape::{
    Capture, Captured, Exchange, HeaderPairs, Inputs, MAX_BODY_BYTES, Payload, Player,
    REDACTED_VALUE, Recorder, Tape, TeeBody, header_pairs,
};
pub use trim::release_free_memory;

use crate::config::Executor;
use handler::Linkers;
use precompiled::Precompiled;
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

/// The engine, the linkers and the epoch ticker, shared by every handler.
pub struct Runtime {
    linkers: Linkers,
    fuel_metering: bool,
    max_instances: u32,
    /// Where the stores of `wasi:keyvalue` keep their data, once set.
    key_value: std::sync::OnceLock<std::sync::Arc<dyn KeyValueBackend>>,
    _ticker: engine::EpochTicker,
}

impl Runtime {
    /// Builds the engine and links the full WASI 0.2 command set (components built with
    /// Rust's std import `wasi:cli/*` and more besides `wasi:http`), `wasi:http` and the
    /// gateway context; and, for WAGI modules, WASI preview 1.
    pub fn new(options: &EngineOptions) -> Result<Self, RuntimeError> {
        let (engine, compiling) = engine::build_engine(options).map_err(RuntimeError::engine)?;
        let compiler = compiler::Compiler::new(compiling, &engine);
        let mut linker = Linker::<InvocationState>::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker).map_err(RuntimeError::engine)?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)
            .map_err(RuntimeError::engine)?;
        context::add_to_linker(&mut linker, |state| &mut state.facts)
            .map_err(RuntimeError::engine)?;
        keyvalue::add_to_linker(&mut linker, InvocationState::key_value)
            .map_err(RuntimeError::engine)?;
        config_store::add_to_linker(&mut linker, InvocationState::config)
            .map_err(RuntimeError::engine)?;
        let mut wagi = wasmtime::Linker::new(&engine);
        wagi::add_to_linker(&mut wagi).map_err(RuntimeError::engine)?;
        let ticker = engine::EpochTicker::start(&engine)
            .map_err(|e| RuntimeError(format!("cannot start the epoch thread: {e}")))?;
        Ok(Runtime {
            linkers: Linkers {
                component: linker,
                wagi,
                compiler,
                // Idle reusable instances never hold more than half the instance slots:
                // fresh requests always find room.
                idle: std::sync::Arc::new(reuse::IdleBudget::new(
                    options.max_instances.max(1) as usize / 2,
                    options.reuse_idle_timeout,
                )),
                // Spares never hold more than an eighth of the slots.
                spares: spares::Spares::new(
                    options.spare_instances.min(options.max_instances / 8) as usize
                )
                .map_err(|e| {
                    RuntimeError(format!("cannot start the spare instances' thread: {e}"))
                })?,
            },
            fuel_metering: options.fuel_metering,
            max_instances: options.max_instances.max(1),
            key_value: std::sync::OnceLock::new(),
            _ticker: ticker,
        })
    }

    /// Keeps the stores of `wasi:keyvalue` in `backend` (without one, a module's `open`
    /// is denied); the first backend set stays.
    pub fn set_key_value(&self, backend: std::sync::Arc<dyn KeyValueBackend>) {
        let _ = self.key_value.set(backend);
    }

    /// Where the stores of `wasi:keyvalue` keep their data.
    pub fn key_value(&self) -> Option<&std::sync::Arc<dyn KeyValueBackend>> {
        self.key_value.get()
    }

    /// Instances that may be live at once (`--max-instances`): the pool routes' reserved
    /// concurrency is taken from.
    pub fn max_instances(&self) -> u32 {
        self.max_instances
    }

    /// Whether routes may set a `fuel` budget (`--fuel-metering`).
    pub fn fuel_metering(&self) -> bool {
        self.fuel_metering
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        self.linkers.component.engine()
    }

    /// Loads a module from a file: compiled once, here, never per request. `executor` is
    /// what it was declared to be (`None`: whatever the bytes are).
    pub fn load_module(
        &self,
        path: &Path,
        executor: Option<Executor>,
    ) -> Result<CompiledModule, LoadError> {
        CompiledModule::load(&self.linkers, path, executor)
    }

    /// Validates and compiles a module from its bytes; `origin` names them in errors.
    /// `executor` is what it was declared to be (`None`: whatever the bytes are).
    pub fn compile_module(
        &self,
        origin: &str,
        bytes: &[u8],
        executor: Option<Executor>,
    ) -> Result<CompiledModule, LoadError> {
        CompiledModule::compile(&self.linkers, origin, bytes, executor)
    }

    /// Loads native code made by [`CompiledModule::serialize`] with this engine's settings
    /// from the file at `path`, mapping it where it can (`precompiled.rs`).
    ///
    /// The file must hold exactly what `serialize` produced, and never change while loaded:
    /// the caller checks it against the hash it recorded when it stored it, as wasmtime runs
    /// it without validation.
    pub fn load_precompiled(&self, origin: &str, path: &Path) -> Result<CompiledModule, LoadError> {
        let loaded = precompiled::load(self.engine(), path).map_err(|e| LoadError::Invalid {
            origin: origin.to_owned(),
            message: format!("{e:#}"),
        })?;
        match loaded {
            Precompiled::Component(component) => {
                CompiledModule::link(&self.linkers, origin.to_owned(), component)
            }
            Precompiled::Module(module) => Ok(CompiledModule::Handler(Handler::Wagi(
                WagiHandler::link(&self.linkers.wagi, origin.to_owned(), module)?,
            ))),
        }
    }

    /// A key that changes whenever native code compiled by this engine would not load in
    /// another (wasmtime version, settings, CPU features): part of cached files' names.
    pub fn compatibility_key(&self) -> String {
        format!("{:016x}", engine::compatibility(self.engine()))
    }
}
