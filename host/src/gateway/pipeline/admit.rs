//! Step 6, admit: the route's concurrency gate gives the request a slot (or queues it, or
//! answers the route's `overflow_status`), then the API key's quota counts it (429 when it
//! is used up). Only admitted requests count against a quota: this node's count, or with
//! a shared store the one every node keeps there.

use super::super::Gateway;
use super::super::protection::Admission;
use super::super::rejection::Rejection;
use super::super::request::RequestCtx;
use super::throttle::{note_allowed, note_refusal};

/// Admits the request; the admission is held until its invocation ends.
pub(super) async fn enter(gateway: &Gateway, ctx: &mut RequestCtx) -> Result<Admission, Rejection> {
    let unreserved = ctx.snapshot.unreserved.clone();
    let started = std::time::Instant::now();
    let admission = ctx.route.guards.admit(&unreserved).await;
    // Only a route with a concurrency limit has a queue to wait in.
    if ctx.route.guards.has_gate() {
        ctx.queue_time = Some(started.elapsed());
    }
    let admission = admission?;
    count_quota(gateway, ctx).await?;
    Ok(admission)
}

/// Counts the request against its API key's quota (429 when it is used up).
pub(super) async fn count_quota(gateway: &Gateway, ctx: &mut RequestCtx) -> Result<(), Rejection> {
    let Some(key) = ctx.key.clone() else {
        return Ok(());
    };
    let counted = match &gateway.options.shared_throttle {
        Some(shared) => key.take_shared_quota(shared).await,
        None => key.take_quota(&gateway.live.usage),
    };
    match counted {
        Ok(Some(left)) => note_allowed(ctx, left),
        Ok(None) => {}
        Err(refusal) => {
            note_refusal(ctx, &refusal);
            return Err(refusal);
        }
    }
    Ok(())
}
