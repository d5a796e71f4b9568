//! # wasmgate
//!
//! A self-hosted serverless gateway: HTTP routes (method + path template) lead to sandboxed
//! WebAssembly handlers — standard `wasi:http` components — with a fresh, isolated instance
//! for every request. Modules are versioned in a registry and deployed without restarts
//! through an admin API.
//!
//! The crate is both the `wasmgate` binary and a library, so the gateway can be embedded:
//!
//! ```no_run
//! use std::{sync::Arc, time::Duration};
//! use wasmgate::{gateway::Gateway, manifest::Manifest, runtime::{EngineOptions, Runtime}};
//! use wasmgate::registry::{FileStore, Registry};
//! use wasmgate::server::{Server, ServerOptions, ShutdownSignal};
//!
//! # fn main() -> anyhow::Result<()> {
//! let manifest = Manifest::load("wasmgate.toml".as_ref())?;
//! let runtime = Arc::new(Runtime::new(&EngineOptions::default())?);
//! let store = FileStore::open(".wasmgate".as_ref())?;
//! let registry = Registry::open(runtime, Box::new(store), Duration::from_secs(60))?;
//! registry.apply_manifest(&manifest)?;
//! let gateway = Gateway::new(Arc::new(registry), Default::default())?;
//! let options = ServerOptions { listen: manifest.listen, ..ServerOptions::default() };
//! let server = Server::bind(gateway, &options)?.start()?;
//! println!("listening on {}", server.local_addr());
//! tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
//!     ShutdownSignal::install()?.recv().await;
//!     std::io::Result::Ok(())
//! })?;
//! server.stop()?;
//! # Ok(()) }
//! ```
//!
//! `ARCHITECTURE.md` at the repository root follows one request through these modules.
#![deny(missing_docs)]

pub mod admin;
pub mod allowlist;
pub mod cli;
pub mod config;
pub mod gateway;
#[cfg(test)]
mod layers;
pub mod manifest;
pub mod periodic;
pub mod registry;
pub mod routing;
pub mod runtime;
pub mod secrets;
pub mod server;
pub mod telemetry;
pub mod validation;
