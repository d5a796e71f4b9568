//! # wasmgate-sdk
//!
//! Write [wasmgate](https://github.com/wasmgate/wasmgate) handlers in Rust: a plain
//! function becomes a standard `wasi:http` component.
//!
//! ```no_run
//! use wasmgate_sdk::{handler, Request, Response};
//!
//! #[handler]
//! fn hello(req: Request) -> Response {
//!     let name = req.param("name").unwrap_or_else(|| "world".into());
//!     Response::text(format!("Hello, {name}!"))
//! }
//! ```
//!
//! Build it as a `cdylib` for `wasm32-wasip2` (`cargo build --release --target
//! wasm32-wasip2`), add the `.wasm` to a manifest with a route, and call it over HTTP.
//!
//! A handler takes one [`Request`] (its body already read) and returns anything that is
//! [`IntoResponse`]: a [`Response`], a `String`, or a `Result<_, E>` whose error converts into
//! [`Error`] — a returned `Err` becomes a JSON error response (500 unless the [`Error`] says
//! otherwise), a panic becomes the gateway's 502.
//!
//! The component only imports `wasmgate:gateway/context` if the handler asks for what it
//! provides (path parameters, request id, principal), so handlers that do not stay plain
//! `wasi:http` components that any `wasi:http` host can run.
#![deny(missing_docs)]

mod authorizer;
pub mod config;
mod context;
mod error;
pub mod kv;
mod request;
mod response;
mod serve;

pub use authorizer::{AuthRequest, AuthorizerKind, Decision, IntoDecision};
pub use error::Error;
pub use request::Request;
pub use response::{IntoResponse, Response};

/// Turns `fn name(req: Request) -> impl IntoResponse` into the component's
/// `wasi:http/incoming-handler` export. Use it once per crate (a `cdylib`).
///
/// ```no_run
/// use wasmgate_sdk::{handler, Error, Request, Response};
///
/// #[derive(serde::Deserialize)]
/// struct Order { item: String, qty: u32 }
///
/// #[handler]
/// fn order(req: Request) -> Result<Response, Error> {
///     let order: Order = req.json()?; // bad JSON answers 400
///     if order.qty == 0 {
///         return Err(Error::bad_request("qty must be at least 1"));
///     }
///     Ok(Response::json(&serde_json::json!({ "item": order.item, "qty": order.qty }))
///         .with_status(201))
/// }
/// ```
pub use wasmgate_sdk_macros::handler;

/// Turns `fn name(req: AuthRequest) -> Decision` (or `-> Result<Decision, E>`) into the
/// component's `wasmgate:gateway/authorize` export: a custom authorizer. Use it once per
/// crate (a `cdylib`).
///
/// ```no_run
/// use wasmgate_sdk::{authorizer, AuthRequest, Decision};
///
/// #[authorizer]
/// fn check(req: AuthRequest) -> Decision {
///     match req.bearer_token() {
///         Some("let-me-in") => Decision::allow("guest").with_context("plan", "free"),
///         _ => Decision::deny(),
///     }
/// }
/// # fn main() {}
/// ```
pub use wasmgate_sdk_macros::authorizer;

/// Used by the code `#[handler]` and `#[authorizer]` generate; not a public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::serve::serve;
    pub use wasi;
    pub use wasi::exports::http::incoming_handler::Guest as IncomingHandler;
    pub use wasi::http::types::{IncomingRequest, ResponseOutparam};
    pub use wit_bindgen;
}
