//! One accepted connection served over any byte stream (TCP or TLS): the framing watcher,
//! the service that hands requests to the handler (or refuses smuggling), and the deadline
//! for the first request.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;

use super::activity::Activity;
use super::response::{ErrorReply, ResponseBody};
use super::{ConnectionInfo, HttpService, MAX_HEAD_BYTES, framing};

/// One accepted connection, ready to be served over any byte stream (TCP or TLS).
pub(super) struct Connection<H> {
    pub(super) peer: SocketAddr,
    pub(super) handler: Arc<H>,
    pub(super) builder: Arc<auto::Builder<TokioExecutor>>,
    pub(super) watcher: hyper_util::server::graceful::Watcher,
    /// How long the client has to send its first request.
    pub(super) first_request_timeout: Duration,
    /// How long the connection may stay open with no request in flight.
    pub(super) idle_timeout: Duration,
    /// Whether the stream is TLS.
    pub(super) over_tls: bool,
}

impl<H: HttpService> Connection<H> {
    /// Serves requests on `stream` until the connection ends.
    pub(super) async fn serve<S>(self, stream: S)
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static,
    {
        let Connection {
            peer,
            handler,
            builder,
            watcher,
            first_request_timeout,
            idle_timeout,
            over_tls,
        } = self;
        let activity = Activity::new();
        let requests = activity.clone();
        let (stream, framing) = framing::WatchedStream::new(stream, MAX_HEAD_BYTES);
        let requested = Arc::new(AtomicBool::new(false));
        let first_request = requested.clone();
        let service = hyper::service::service_fn(move |mut request: hyper::Request<_>| {
            first_request.store(true, Ordering::Relaxed);
            let ambiguous = framing.take_ambiguous(&request);
            request
                .extensions_mut()
                .insert(ConnectionInfo { peer, over_tls });
            let handler = handler.clone();
            let active = requests.begin();
            async move {
                if ambiguous {
                    return Ok(ambiguous_framing_response(peer));
                }
                let response = handler.handle(request).await;
                Ok::<_, Infallible>(response.map(|body| active.hold_until_end_of(body)))
            }
        });
        let connection = builder
            .serve_connection(TokioIo::new(stream), service)
            .into_owned();
        let connection = watcher.watch(connection);
        tokio::pin!(connection);
        // hyper's header-read timeout starts only once the auto builder has told HTTP/1
        // from HTTP/2, and HTTP/2 has none: a client that connects (and completes TLS)
        // but sends no request would otherwise hold its connection slot for ever.
        let first = tokio::time::sleep(first_request_timeout);
        tokio::pin!(first);
        let check_every =
            (idle_timeout / 4).clamp(Duration::from_millis(10), Duration::from_secs(1));
        let ended = loop {
            tokio::select! {
                ended = &mut connection => break ended,
                () = &mut first, if !requested.load(Ordering::Relaxed) => {
                    tracing::debug!(%peer, "no request in time: closing the connection");
                    return;
                }
                () = tokio::time::sleep(check_every) => {
                    if activity.idle_for().is_some_and(|idle| idle >= idle_timeout) {
                        tracing::debug!(%peer, "idle: closing the connection");
                        return;
                    }
                }
            }
        };
        if let Err(error) = ended {
            tracing::debug!(%peer, %error, "connection ended with an error");
        }
    }
}

/// The answer to a request with both `Content-Length` and `Transfer-Encoding` (RFC 9112
/// §6.1: a server may reject it; hyper closes the connection after it).
fn ambiguous_framing_response(peer: SocketAddr) -> hyper::Response<ResponseBody> {
    let request_id = uuid::Uuid::new_v4().to_string();
    tracing::warn!(
        %peer,
        request_id,
        "refused a request with both Content-Length and Transfer-Encoding"
    );
    let request_id = http::HeaderValue::from_str(&request_id)
        .unwrap_or_else(|_| http::HeaderValue::from_static("-"));
    ErrorReply::detailed(
        http::StatusCode::BAD_REQUEST,
        "bad_request",
        "the request has both Content-Length and Transfer-Encoding headers; send one",
    )
    .into_response(Some(&request_id))
}
