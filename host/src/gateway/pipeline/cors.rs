//! Step 1a, CORS preflight: an `OPTIONS` request with `Origin` and
//! `Access-Control-Request-Method` whose route (for the method it asks about) has a CORS
//! policy is answered by the gateway itself, before any key, token or guest is spent on
//! it (`gateway/cors.rs` writes the answer). Any other `OPTIONS` request is routed as
//! usual.

use http::Method;

use super::super::Gateway;
use super::super::cors::preflight_method;
use crate::routing::Lookup;

/// The method `request` asks a preflight about, when the gateway answers it.
pub(super) fn preflight<B>(gateway: &Gateway, request: &hyper::Request<B>) -> Option<Method> {
    let method = preflight_method(request)?;
    let snapshot = gateway.snapshot.load();
    match snapshot.routes.lookup(&method, request.uri().path()) {
        Lookup::Found { route, .. } if route.cors.is_some() => Some(method),
        _ => None,
    }
}
