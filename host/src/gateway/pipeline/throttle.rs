//! Step 3, throttle: a token from each bucket that applies — per client, the route's, the
//! gateway's, then the API key's plan — or 429 with `Retry-After`. The tightest verdict is
//! reported in the response's `RateLimit-*` headers, whatever the response. The buckets
//! are this node's, or with a shared store all nodes' (one round trip to Redis for all of
//! a request's buckets).

use super::super::Gateway;
use super::super::protection::Counted;
use super::super::rejection::Rejection;
use super::super::request::RequestCtx;
use super::super::shared_throttle::SharedThrottle;
use super::super::throttle::Verdict;

/// Takes the request's tokens.
pub(super) async fn take_tokens(
    gateway: &Gateway,
    ctx: &mut RequestCtx,
    parts: &http::request::Parts,
) -> Result<(), Rejection> {
    let taken = match &gateway.options.shared_throttle {
        Some(shared) => take_shared(shared, ctx, parts).await,
        None => take_local(ctx, parts),
    };
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

/// From this node's buckets.
fn take_local(
    ctx: &RequestCtx,
    parts: &http::request::Parts,
) -> Result<Option<Verdict>, Rejection> {
    let global = ctx.snapshot.global.clone();
    ctx.route
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
        })
}

/// From the buckets every node shares.
async fn take_shared(
    shared: &SharedThrottle,
    ctx: &RequestCtx,
    parts: &http::request::Parts,
) -> Result<Option<Verdict>, Rejection> {
    let guards = &ctx.route.guards;
    let mut buckets = guards.shared_buckets(
        &ctx.route.id,
        ctx.snapshot.global.as_deref(),
        parts,
        ctx.client_ip,
    );
    buckets.extend(ctx.key.as_ref().and_then(|key| key.shared_bucket()));
    let verdicts = shared
        .take(&buckets)
        .await
        .map_err(|_| Rejection::ThrottleStoreDown)?;
    guards.judge(verdicts)
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
