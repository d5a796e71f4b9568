//! Step 2, identify: a route that requires an API key looks up `x-api-key` (403 when it is
//! missing, unknown or disabled), before any bucket is touched, so an invalid key uses up
//! nobody's tokens.

use super::super::Gateway;
use super::super::rejection::Rejection;
use super::super::request::RequestCtx;

/// Finds the request's API key, when its route requires one.
pub(super) fn api_key(
    gateway: &Gateway,
    ctx: &mut RequestCtx,
    parts: &http::request::Parts,
) -> Result<(), Rejection> {
    if ctx.route.api_key_required {
        let keys = gateway.snapshot.load().keys.clone();
        ctx.key = Some(keys.identify(&parts.headers)?);
    }
    Ok(())
}
