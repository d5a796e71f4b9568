//! A body wrapper that keeps a bounded copy of the bytes passing through it, and whether
//! the body reached its end: how a recording sees the request the guest read, the
//! response it wrote and the outbound responses it read, without holding them up.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use http_body::{Body, Frame, SizeHint};

/// The copy one [`TeeBody`] keeps.
pub struct Capture {
    limit: usize,
    state: Mutex<Captured>,
}

/// What a [`Capture`] holds.
#[derive(Debug, Clone, Default)]
pub struct Captured {
    /// The bytes that passed, up to the limit.
    pub bytes: Bytes,
    /// Whether more than the limit passed (the rest is not kept).
    pub over: bool,
    /// Whether the body ended (rather than being dropped part-way).
    pub ended: bool,
}

impl Capture {
    /// A capture keeping up to `limit` bytes.
    pub fn new(limit: usize) -> Arc<Self> {
        Arc::new(Capture {
            limit,
            state: Mutex::new(Captured::default()),
        })
    }

    fn with<R>(&self, f: impl FnOnce(&mut Captured) -> R) -> R {
        f(&mut self.state.lock().unwrap_or_else(|p| p.into_inner()))
    }

    fn push(&self, data: &Bytes) {
        let limit = self.limit;
        self.with(|captured| {
            if captured.over {
                return;
            }
            if captured.bytes.len() + data.len() > limit {
                captured.over = true;
                captured.bytes = Bytes::new();
                return;
            }
            if captured.bytes.is_empty() {
                captured.bytes = data.clone();
            } else {
                let mut joined = BytesMut::with_capacity(captured.bytes.len() + data.len());
                joined.extend_from_slice(&captured.bytes);
                joined.extend_from_slice(data);
                captured.bytes = joined.freeze();
            }
        });
    }

    fn end(&self) {
        self.with(|captured| captured.ended = true);
    }

    /// What passed so far.
    pub fn taken(&self) -> Captured {
        self.with(|captured| captured.clone())
    }
}

/// `inner`, copying what passes into a [`Capture`]; `guard` is dropped with the body (what
/// must happen once the body is done with, whether it ended or not).
pub struct TeeBody<B> {
    inner: B,
    capture: Arc<Capture>,
    _guard: Option<Box<dyn Send>>,
}

impl<B> TeeBody<B> {
    /// Copies `inner` into `capture`, and drops `guard` when dropped.
    pub fn new(inner: B, capture: Arc<Capture>, guard: Option<Box<dyn Send>>) -> Self {
        TeeBody {
            inner,
            capture,
            _guard: guard,
        }
    }
}

impl<B> Body for TeeBody<B>
where
    B: Body<Data = Bytes> + Unpin,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    self.capture.push(data);
                }
            }
            Poll::Ready(None) => self.capture.end(),
            _ => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        let ended = self.inner.is_end_stream();
        if ended {
            self.capture.end();
        }
        ended
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use http_body_util::{BodyExt, Full};

    use super::*;

    #[tokio::test]
    async fn a_body_within_the_limit_is_kept_whole_and_one_over_it_is_marked() {
        let capture = Capture::new(8);
        let body = TeeBody::new(Full::new(Bytes::from("hello")), capture.clone(), None);
        assert_eq!(body.collect().await.expect("body").to_bytes(), "hello");
        let captured = capture.taken();
        assert_eq!(
            (captured.bytes.as_ref(), captured.over),
            (&b"hello"[..], false)
        );
        assert!(captured.ended);

        let capture = Capture::new(4);
        let body = TeeBody::new(Full::new(Bytes::from("hello")), capture.clone(), None);
        assert_eq!(body.collect().await.expect("body").to_bytes(), "hello");
        assert!(capture.taken().over);
    }
}
