//! Request bodies on their way to a guest: the route's size limit (413), an idle timeout
//! between chunks and a deadline for the whole body (408), enforced before the guest runs.
//!
//! A body with a `Content-Length` over the limit is refused at once; one within it streams
//! to the guest as it arrives (the route's timeout bounds it). A chunked body (no length)
//! is read up to the limit, within the body deadline, before the guest runs, so an
//! oversized or endless one is refused without running the guest. The pipeline reads a
//! body only once the request is identified, throttled and authorized.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http_body::Body;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full};

use super::rejection::Rejection;
use crate::runtime::GuestBody;
use crate::runtime::IdleTimeout;

/// The body type handed to guests.
pub(super) type RequestBody = UnsyncBoxBody<Bytes, wasmtime_wasi_http::Error>;

/// Longest pause between two chunks of a request body (nginx's `client_body_timeout`).
pub const BODY_IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// Longest a chunked request body may take to arrive in full.
pub const BODY_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a body may take: between two chunks, and in all.
#[derive(Debug, Clone, Copy)]
pub(super) struct BodyTimeouts {
    pub idle: Duration,
    pub total: Duration,
}

/// How much of a refused body is still read (and dropped), so the client can read the 413
/// instead of seeing its upload cut off.
const DRAIN_LIMIT: u64 = 16 << 20;

/// Checks `body` against `limit` bytes; see the module documentation.
pub(super) async fn prepare<B>(
    headers: &http::HeaderMap,
    body: B,
    limit: u64,
    timeouts: BodyTimeouts,
) -> Result<RequestBody, Rejection>
where
    B: GuestBody + Unpin,
{
    let idle = timeouts.idle;
    let declared = headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let body = body.map_err(Into::into);
    match declared {
        Some(length) if length > limit => {
            drain(body, DRAIN_LIMIT.min(length)).await;
            Err(Rejection::PayloadTooLarge(limit))
        }
        Some(_) => Ok(IdleTimeout::new(body.boxed_unsync(), idle).boxed_unsync()),
        None if body.is_end_stream() => Ok(body.boxed_unsync()),
        None => match tokio::time::timeout(timeouts.total, read_up_to(body, limit, idle)).await {
            Ok(read) => read,
            Err(_elapsed) => Err(Rejection::BodyTooSlow(timeouts.total)),
        },
    }
}

async fn read_up_to<B>(mut body: B, limit: u64, idle: Duration) -> Result<RequestBody, Rejection>
where
    B: Body<Data = Bytes, Error = wasmtime_wasi_http::Error> + Send + Unpin + 'static,
{
    let mut collected = BytesMut::new();
    loop {
        let frame = match tokio::time::timeout(idle, body.frame()).await {
            Err(_) => return Err(Rejection::RequestTimeout(idle)),
            Ok(None) => break,
            Ok(Some(Err(error))) => {
                // The client's stream failed; what the library said stays in the log.
                tracing::debug!(error = ?error, "request body broke off");
                return Err(Rejection::BodyBrokeOff);
            }
            Ok(Some(Ok(frame))) => frame,
        };
        if let Ok(data) = frame.into_data() {
            if collected.len() as u64 + data.len() as u64 > limit {
                drain(body, DRAIN_LIMIT).await;
                return Err(Rejection::PayloadTooLarge(limit));
            }
            collected.extend_from_slice(&data);
        }
    }
    Ok(Full::new(collected.freeze())
        .map_err(|never: std::convert::Infallible| -> wasmtime_wasi_http::Error { match never {} })
        .boxed_unsync())
}

/// Reads and drops up to `most` more bytes, for at most a few seconds.
async fn drain<B>(mut body: B, most: u64)
where
    B: Body<Data = Bytes> + Unpin,
{
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        let mut seen = 0u64;
        while let Some(Ok(frame)) = body.frame().await {
            seen += frame.data_ref().map_or(0, |d| d.len() as u64);
            if seen > most {
                break;
            }
        }
    })
    .await;
}
