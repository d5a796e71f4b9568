//! Step 2, identify: a route that requires an API key looks up `x-api-key` (403 when it is
//! missing, unknown or disabled). An invalid key uses up no route's or plan's tokens, but
//! takes one from the per-client and gateway-wide buckets (429 when they are empty), so a
//! flood of bad keys is throttled like any other flood.

use super::super::protection::Counted;
use super::super::rejection::Rejection;
use super::super::request::RequestCtx;

/// Finds the request's API key, when its route requires one.
pub(super) fn api_key(ctx: &mut RequestCtx, parts: &http::request::Parts) -> Result<(), Rejection> {
    if !ctx.route.api_key_required {
        return Ok(());
    }
    match ctx.snapshot.keys.identify(&parts.headers) {
        Ok(key) => {
            ctx.key = Some(key);
            Ok(())
        }
        Err(refusal) => {
            let guards = &ctx.route.guards;
            let global = ctx.snapshot.global.as_deref();
            match guards.throttle(global, parts, ctx.client_ip, Counted::Refused) {
                Ok(rate) => {
                    ctx.rate = rate;
                    Err(refusal)
                }
                Err(throttled) => {
                    super::throttle::note_refusal(ctx, &throttled);
                    Err(throttled)
                }
            }
        }
    }
}
