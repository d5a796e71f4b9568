//! The module's variables and secrets (`wasi:config/store`): `variables` of its
//! configuration, and the secrets set through the admin API (`wasmgate modules secret`),
//! which the gateway stores sealed and opens only for its instances.
//!
//! ```no_run
//! use wasmgate_sdk::{config, handler, Error, Request, Response};
//!
//! #[handler]
//! fn call_upstream(_req: Request) -> Result<Response, Error> {
//!     let token = config::get("API_TOKEN").ok_or_else(|| Error::internal("no API_TOKEN"))?;
//!     Ok(Response::text(format!("a token of {} bytes", token.len())))
//! }
//! ```

mod bindings {
    wit_bindgen::generate!({
        path: "../wit",
        world: "wasmgate:gateway/config-imports",
        generate_all,
    });
}

use bindings::wasi::config::store;

/// The value of the variable or secret `name`, if it is set.
pub fn get(name: &str) -> Option<String> {
    store::get(name).ok().flatten()
}

/// Every variable and secret, by name.
pub fn get_all() -> Vec<(String, String)> {
    store::get_all().unwrap_or_default()
}
