//! Step 6, admit: the route's concurrency gate gives the request a slot (or queues it in its
//! client's turn — the API key's, else the per-client rate limit's client, else the
//! client's network —, or answers the route's `overflow_status`, or 503 when it could not
//! start before its deadline), then the API key's quota counts it (429 when it
//! is used up). Only admitted requests count against a quota: this node's count, or with
//! a shared store the one every node keeps there. A key whose plan has a compute quota is
//! checked against it first, before any wait (429 once used up; `gateway/compute.rs`),
//! and the invocation's use is charged to it when it ends.

use super::super::Gateway;
use super::super::compute;
use super::super::protection::Admission;
use super::super::rejection::Rejection;
use super::super::request::RequestCtx;
use super::throttle::{note_allowed, note_refusal};

/// Admits the request; the admission is held until its invocation ends.
pub(super) async fn enter(
    gateway: &Gateway,
    ctx: &mut RequestCtx,
    parts: &http::request::Parts,
) -> Result<Admission, Rejection> {
    // A key out of compute is refused before it waits for a slot, and does not use up its
    // request quota too.
    let charge = compute::check(gateway, ctx).await?;
    let unreserved = ctx.snapshot.unreserved.clone();
    let started = std::time::Instant::now();
    let guards = &ctx.route.guards;
    // Only a route with a concurrency limit has a queue to wait in.
    let admission = if guards.has_gate() {
        let client = match &ctx.key {
            Some(key) => format!("key:{}", key.id()),
            None => guards.queue_client(parts, ctx.client_ip),
        };
        let admission = guards.admit(&unreserved, &client, ctx.deadline.at).await;
        ctx.queue_time = Some(started.elapsed());
        admission
    } else {
        guards.admit(&unreserved, "", ctx.deadline.at).await
    };
    let admission = admission?;
    count_quota(gateway, ctx).await?;
    Ok(admission.charging(charge))
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
