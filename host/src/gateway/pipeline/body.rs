//! Step 5, read body (only once the request is identified, throttled and authorized): the
//! body is held to the route's `max_body_mb` (`gateway/body.rs`): a `Content-Length` over
//! it → 413 at once, a chunked body read up to it (413 beyond, 408 if it stalls or misses
//! the body deadline), a declared one streamed with the idle timeout.

use std::sync::atomic::Ordering;

use http_body_util::BodyExt;

use super::super::Gateway;
use super::super::body::{BodyTimeouts, RequestBody, prepare};
use super::super::rejection::Rejection;
use super::super::request::RequestCtx;
use crate::runtime::GuestBody;

/// The request's body, bounded.
pub(super) async fn read<B>(
    gateway: &Gateway,
    ctx: &RequestCtx,
    headers: &http::HeaderMap,
    body: B,
) -> Result<RequestBody, Rejection>
where
    B: GuestBody + Unpin,
{
    let limit = ctx.route.limits.max_body_bytes;
    let timeouts = BodyTimeouts {
        idle: gateway.options.body_idle_timeout,
        total: gateway.options.body_timeout,
    };
    let body = prepare(headers, body, limit, timeouts).await?;
    // Counted as the handler reads it, for the metrics and the access log.
    let bytes_in = ctx.bytes_in.clone();
    Ok(body
        .map_frame(move |frame| {
            if let Some(data) = frame.data_ref() {
                bytes_in.fetch_add(data.len() as u64, Ordering::Relaxed);
            }
            frame
        })
        .boxed_unsync())
}
