//! # wasmgate
//!
//! A self-hosted serverless gateway: HTTP routes (method + path template) lead to sandboxed
//! WebAssembly handlers — standard `wasi:http` components — with a fresh, isolated instance
//! for every request.
//!
//! The crate is both the `wasmgate` binary and a library, so the gateway can be embedded:
//!
//! ```no_run
//! # fn main() -> anyhow::Result<()> {
//! let manifest = wasmgate::manifest::Manifest::load("wasmgate.toml".as_ref())?;
//! let runtime = wasmgate::runtime::Runtime::new(&wasmgate::runtime::EngineOptions::default())?;
//! let gateway = wasmgate::gateway::Gateway::from_manifest(&runtime, &manifest)?;
//! let server = wasmgate::server::Server::bind(gateway, &wasmgate::server::ServerOptions {
//!     listen: manifest.listen,
//!     ..Default::default()
//! })?;
//! println!("listening on {}", server.local_addr());
//! server.run_until(wasmgate::server::shutdown_signal())?;
//! # Ok(()) }
//! ```
//!
//! `ARCHITECTURE.md` at the repository root follows one request through these modules.
#![deny(missing_docs)]

pub mod cli;
pub mod gateway;
pub mod limits;
pub mod manifest;
pub mod rejection;
pub mod routing;
pub mod runtime;
pub mod server;
