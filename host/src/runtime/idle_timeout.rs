//! A body that fails with `ConnectionReadTimeout` when no frame arrives for too long: for
//! request bodies on their way to a guest (408) and for responses to guests' outgoing
//! requests.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use tokio::time::{Instant, Sleep};
use wasmtime_wasi_http::WasiBody;

/// A body that fails when no frame arrives for `idle`.
pub struct IdleTimeout {
    inner: WasiBody,
    idle: Duration,
    timer: Pin<Box<Sleep>>,
}

impl IdleTimeout {
    /// Wraps `inner`; the clock starts now and restarts at every frame.
    pub fn new(inner: WasiBody, idle: Duration) -> Self {
        IdleTimeout {
            inner,
            idle,
            timer: Box::pin(tokio::time::sleep(idle)),
        }
    }
}

impl Body for IdleTimeout {
    type Data = Bytes;
    type Error = wasmtime_wasi_http::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(frame) => {
                let now = Instant::now();
                // `idle` may be huge ("no limit"): then the deadline is a year away.
                let deadline = now
                    .checked_add(this.idle)
                    .unwrap_or(now + Duration::from_secs(365 * 24 * 3600));
                this.timer.as_mut().reset(deadline);
                Poll::Ready(frame)
            }
            Poll::Pending => match this.timer.as_mut().poll(cx) {
                Poll::Ready(()) => {
                    Poll::Ready(Some(Err(wasmtime_wasi_http::Error::ConnectionReadTimeout)))
                }
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
