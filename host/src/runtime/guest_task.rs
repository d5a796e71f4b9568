//! The guest's task after the response head: it is aborted when nobody waits for it any
//! more, and a failure while the body streams reaches the client as a broken response, not
//! as a clean end.
//!
//! A trap or timeout drops the guest's `Store`, which closes the response body's channels:
//! `wasmtime-wasi-http` ends the body as if it were complete. [`GuardedBody`] looks at the
//! task's outcome when the body ends and turns a failure into a body error, so hyper cuts
//! the connection (no final chunk) and the client can tell.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use tokio::task::JoinHandle;
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;

use super::invoke::InvokeError;

/// A spawned invocation; aborted if dropped before its outcome was taken.
pub(super) struct GuestTask {
    handle: Option<JoinHandle<Result<(), InvokeError>>>,
}

impl GuestTask {
    pub(super) fn spawn(
        invocation: impl Future<Output = Result<(), InvokeError>> + Send + 'static,
    ) -> Self {
        GuestTask {
            handle: Some(tokio::spawn(invocation)),
        }
    }

    /// Waits for the invocation to end.
    pub(super) async fn outcome(mut self) -> Result<(), InvokeError> {
        match self.handle.take() {
            Some(handle) => flatten(handle.await),
            None => Ok(()),
        }
    }

    /// The outcome if the invocation has ended, without waiting.
    fn poll_outcome(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), InvokeError>> {
        let Some(handle) = self.handle.as_mut() else {
            return Poll::Ready(Ok(()));
        };
        let outcome = std::task::ready!(Pin::new(handle).poll(cx));
        self.handle = None;
        Poll::Ready(flatten(outcome))
    }

    /// Lets the invocation run to its end (still bounded by its deadline).
    fn detach(mut self) {
        self.handle = None;
    }
}

fn flatten(
    joined: Result<Result<(), InvokeError>, tokio::task::JoinError>,
) -> Result<(), InvokeError> {
    joined.unwrap_or_else(|join| {
        Err(InvokeError::Internal(format!(
            "handler task failed: {join}"
        )))
    })
}

impl Drop for GuestTask {
    fn drop(&mut self) {
        if let Some(handle) = self.handle.take() {
            handle.abort();
        }
    }
}

/// A guest's response body that reports the guest's failure at its end.
pub(super) struct GuardedBody {
    inner: HyperOutgoingBody,
    task: Option<GuestTask>,
    request_id: String,
}

impl GuardedBody {
    pub(super) fn new(inner: HyperOutgoingBody, task: GuestTask, request_id: String) -> Self {
        GuardedBody {
            inner,
            task: Some(task),
            request_id,
        }
    }
}

impl Body for GuardedBody {
    type Data = Bytes;
    type Error = wasmtime_wasi_http::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        let frame = std::task::ready!(Pin::new(&mut this.inner).poll_frame(cx));
        if frame.is_some() {
            return Poll::Ready(frame);
        }
        let Some(mut task) = this.task.take() else {
            return Poll::Ready(None);
        };
        // On a worker's current-thread runtime a failed task has completed by the time its
        // dropped Store ends the body, so an outcome still pending means the guest
        // finished the body itself and is still running (within its deadline).
        match task.poll_outcome(cx) {
            Poll::Ready(Ok(())) => Poll::Ready(None),
            Poll::Ready(Err(error)) => {
                tracing::warn!(
                    request_id = %this.request_id,
                    %error,
                    "invocation failed after its response head was sent; aborting the response"
                );
                Poll::Ready(Some(Err(wasmtime_wasi_http::Error::InternalError(Some(
                    error.to_string(),
                )))))
            }
            Poll::Pending => {
                task.detach();
                Poll::Ready(None)
            }
        }
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
