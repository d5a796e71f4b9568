//! Step 3, throttle: a token from each bucket that applies — per client, the route's, the
//! gateway's, then the API key's plan — or 429 with `Retry-After`. The tightest verdict is
//! reported in the response's `RateLimit-*` headers, whatever the response.

use super::super::protection::Counted;
use super::super::rejection::Rejection;
use super::super::request::RequestCtx;
use super::super::throttle::Verdict;

/// Takes the request's tokens.
pub(super) fn take_tokens(
    ctx: &mut RequestCtx,
    parts: &http::request::Parts,
) -> Result<(), Rejection> {
    let global = ctx.snapshot.global.clone();
    let taken = ctx
        .route
        .guards
        .throttle(
            global.as_deref(),
            parts,
            ctx.client_ip,
            Counted::AgainstRoute,
        )
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

/// A limit's refusal becomes the response's `RateLimit-*` headers: the limit that refused,
/// not the tightest of the others.
pub(super) fn note_refusal(ctx: &mut RequestCtx, rejection: &Rejection) {
    if let Some(verdict) = rejection.limit_verdict() {
        ctx.rate = Some(verdict);
    }
}

/// A limit that allowed the request joins the ones already reported: the tightest wins.
pub(super) fn note_allowed(ctx: &mut RequestCtx, verdict: Verdict) {
    ctx.rate = Some(ctx.rate.map_or(verdict, |rate| rate.tighter(verdict)));
}
