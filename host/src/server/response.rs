//! The responses every server sends: their body type, the request id header, and JSON
//! bodies built in one place.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{HeaderValue, StatusCode, header};
use http_body::{Body, Frame, SizeHint};
use http_body_util::{BodyExt, Full};
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;

/// The body type of every response: a guest's streamed body or one of the gateway's.
pub type ResponseBody = HyperOutgoingBody;

/// The response header carrying the invocation's id.
pub const REQUEST_ID: header::HeaderName = header::HeaderName::from_static("x-request-id");

/// A JSON response.
pub fn json_response(status: StatusCode, body: &serde_json::Value) -> http::Response<ResponseBody> {
    let mut response = http::Response::new(full_body(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// A body of bytes already in memory.
pub fn full_body(bytes: Bytes) -> ResponseBody {
    Full::new(bytes)
        .map_err(|never| match never {})
        .boxed_unsync()
}

/// Told about a response body as it is sent: [`watch_body`]'s body calls it for every
/// data frame, and once more when the body ends; the watcher itself is dropped with the body
/// (the end, or the client gone).
pub trait BodyWatcher: Send + Unpin + 'static {
    /// `data` was sent; `end` says whether it was the last.
    fn sent(&mut self, data: &[u8], end: bool) {
        let _ = (data, end);
    }

    /// The body failed (its next call of [`BodyWatcher::sent`] says it ended).
    fn failed(&mut self) {}
}

/// `body`, with `watcher` told of what it sends (see [`BodyWatcher`]).
pub fn watch_body(body: ResponseBody, watcher: impl BodyWatcher) -> ResponseBody {
    WatchedBody {
        inner: body,
        watcher,
    }
    .boxed_unsync()
}

/// A response body and its [`BodyWatcher`].
struct WatchedBody<W> {
    inner: ResponseBody,
    watcher: W,
}

impl<W: BodyWatcher> Body for WatchedBody<W> {
    type Data = Bytes;
    type Error = <ResponseBody as Body>::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        // `WatchedBody` is `Unpin`: `ResponseBody` is a boxed body and watchers are `Unpin`.
        let this = &mut *self;
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        match &polled {
            // Told before the frame is handed on: a client that has the whole response
            // finds the watcher already told.
            Poll::Ready(Some(Ok(frame))) => {
                let data = frame.data_ref().map_or(&[][..], |data| &data[..]);
                this.watcher.sent(data, this.inner.is_end_stream());
            }
            Poll::Ready(Some(Err(_))) => {
                this.watcher.failed();
                this.watcher.sent(&[], true);
            }
            Poll::Ready(None) => this.watcher.sent(&[], true),
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// An error answered by the gateway or the admin API, described once per variant: the
/// status, the JSON body (`message`, and where useful the stable `error` kind and a
/// `detail`), and the headers that go with it.
#[derive(Debug, Clone)]
pub struct ErrorReply {
    status: StatusCode,
    body: serde_json::Map<String, serde_json::Value>,
    headers: Vec<(header::HeaderName, HeaderValue)>,
}

impl ErrorReply {
    /// `{"message": "<the status's reason>"}`, as API Gateway's plain gateway responses.
    pub fn plain(status: StatusCode) -> Self {
        let mut body = serde_json::Map::new();
        body.insert(
            "message".into(),
            status.canonical_reason().unwrap_or("Error").into(),
        );
        ErrorReply {
            status,
            body,
            headers: Vec::new(),
        }
    }

    /// `{"message", "error": kind, "detail"}`.
    pub fn detailed(status: StatusCode, kind: &str, detail: impl Into<String>) -> Self {
        Self::plain(status)
            .kind(kind)
            .field("detail", detail.into())
    }

    /// Sets the `error` kind.
    pub fn kind(self, kind: &str) -> Self {
        self.field("error", kind)
    }

    /// Replaces the `message`.
    pub fn message(self, message: impl Into<String>) -> Self {
        self.field("message", message.into())
    }

    /// Adds a body field.
    pub fn field(mut self, name: &str, value: impl Into<serde_json::Value>) -> Self {
        self.body.insert(name.to_owned(), value.into());
        self
    }

    /// Adds a header.
    pub fn header(mut self, name: header::HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }

    /// The status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The response, with `x-request-id` when the request has one.
    pub fn into_response(self, request_id: Option<&HeaderValue>) -> http::Response<ResponseBody> {
        let mut response = json_response(self.status, &serde_json::Value::Object(self.body));
        let headers = response.headers_mut();
        for (name, value) in self.headers {
            headers.insert(name, value);
        }
        if let Some(id) = request_id {
            headers.insert(REQUEST_ID, id.clone());
        }
        response
    }
}
