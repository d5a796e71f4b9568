//! Step 3, throttle: a token from each bucket that applies — per client, the route's, the
//! gateway's, then the API key's plan — or 429 with `Retry-After`. The tightest verdict is
//! reported in the response's `RateLimit-*` headers, whatever the response.

use super::super::Gateway;
use super::super::rejection::Rejection;
use super::super::request::RequestCtx;

/// Takes the request's tokens.
pub(super) fn take_tokens(
    gateway: &Gateway,
    ctx: &mut RequestCtx,
    parts: &http::request::Parts,
) -> Result<(), Rejection> {
    let global = gateway.snapshot.load().global.clone();
    let taken = ctx
        .route
        .guards
        .throttle(global.as_deref(), parts, ctx.client_ip)
        .and_then(|rate| {
            let key_rate = match &ctx.key {
                Some(key) => key.throttle()?,
                None => None,
            };
            Ok(match (rate, key_rate) {
                (Some(a), Some(b)) => Some(a.tighter(b)),
                (a, b) => a.or(b),
            })
        });
    match taken {
        Ok(rate) => {
            ctx.rate = rate;
            Ok(())
        }
        Err(rejection) => {
            note_refusal(ctx, &rejection);
            Err(rejection)
        }
    }
}

/// A bucket's refusal becomes the response's `RateLimit-*` headers.
pub(super) fn note_refusal(ctx: &mut RequestCtx, rejection: &Rejection) {
    if let Rejection::Throttled(verdict) = rejection {
        ctx.rate = Some(*verdict);
    }
}
