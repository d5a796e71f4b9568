//! Step 6, admit: the route's concurrency gate gives the request a slot (or queues it, or
//! answers the route's `overflow_status`), then the API key's quota counts it (429 when it
//! is used up). Only admitted requests count against a quota.

use super::super::Gateway;
use super::super::protection::Admission;
use super::super::rejection::Rejection;
use super::super::request::RequestCtx;

/// Admits the request; the admission is held until its invocation ends.
pub(super) async fn enter(gateway: &Gateway, ctx: &RequestCtx) -> Result<Admission, Rejection> {
    let admission = ctx.route.guards.admit().await?;
    if let Some(key) = &ctx.key {
        key.take_quota(&gateway.live.usage)?;
    }
    Ok(admission)
}
