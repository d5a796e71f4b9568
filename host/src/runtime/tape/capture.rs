//! A body wrapper that keeps a bounded copy of the bytes passing through it, and whether
//! the body reached its end: how a recording sees the request the guest read, the
//! response it wrote and the outbound responses it read, without holding them up.

use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use http_body::{Body, Frame, SizeHint};

/// Bytes several captures (and a recording's random bytes) share: what one recording may
/// keep in all.
#[derive(Debug)]
pub struct Budget(AtomicUsize);

impl Budget {
    /// A budget of `bytes`.
    pub fn new(bytes: usize) -> Arc<Self> {
        Arc::new(Budget(AtomicUsize::new(bytes)))
    }

    /// Takes `bytes` from the budget; false (taking nothing) when fewer are left.
    pub fn take(&self, bytes: usize) -> bool {
        self.0
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| {
                left.checked_sub(bytes)
            })
            .is_ok()
    }
}

/// The copy one [`TeeBody`] keeps.
pub struct Capture {
    limit: usize,
    budget: Arc<Budget>,
    state: Mutex<CaptureState>,
}

#[derive(Default)]
struct CaptureState {
    bytes: BytesMut,
    over: bool,
    ended: bool,
}

/// What a [`Capture`] holds.
#[derive(Debug, Clone, Default)]
pub struct Captured {
    /// The bytes that passed, up to the limit.
    pub bytes: Bytes,
    /// Whether more than the limit (or the budget) passed: then nothing is kept.
    pub over: bool,
    /// Whether the body ended (rather than being dropped part-way).
    pub ended: bool,
}

impl Capture {
    /// A capture keeping up to `limit` bytes, taken from `budget`.
    pub fn new(limit: usize, budget: Arc<Budget>) -> Arc<Self> {
        Arc::new(Capture {
            limit,
            budget,
            state: Mutex::new(CaptureState::default()),
        })
    }

    fn with<R>(&self, f: impl FnOnce(&mut CaptureState) -> R) -> R {
        f(&mut self.state.lock().unwrap_or_else(|p| p.into_inner()))
    }

    fn push(&self, data: &Bytes) {
        self.with(|state| {
            if state.over {
                return;
            }
            if state.bytes.len() + data.len() > self.limit || !self.budget.take(data.len()) {
                state.over = true;
                state.bytes = BytesMut::new();
                return;
            }
            state.bytes.extend_from_slice(data);
        });
    }

    fn end(&self) {
        self.with(|state| state.ended = true);
    }

    /// What passed so far.
    pub fn taken(&self) -> Captured {
        self.with(|state| Captured {
            bytes: Bytes::copy_from_slice(&state.bytes),
            over: state.over,
            ended: state.ended,
        })
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
    async fn a_body_within_the_limit_is_kept_whole_and_one_over_it_or_the_budget_is_marked() {
        let capture = Capture::new(8, Budget::new(100));
        let body = TeeBody::new(Full::new(Bytes::from("hello")), capture.clone(), None);
        assert_eq!(body.collect().await.expect("body").to_bytes(), "hello");
        let captured = capture.taken();
        assert_eq!(
            (captured.bytes.as_ref(), captured.over),
            (&b"hello"[..], false)
        );
        assert!(captured.ended);

        let capture = Capture::new(4, Budget::new(100));
        let body = TeeBody::new(Full::new(Bytes::from("hello")), capture.clone(), None);
        assert_eq!(body.collect().await.expect("body").to_bytes(), "hello");
        assert!(capture.taken().over);

        // Captures sharing a budget: the second one finds it spent.
        let budget = Budget::new(6);
        let first = Capture::new(8, budget.clone());
        let second = Capture::new(8, budget);
        let body = TeeBody::new(Full::new(Bytes::from("hello")), first.clone(), None);
        body.collect().await.expect("body");
        let body = TeeBody::new(Full::new(Bytes::from("hello")), second.clone(), None);
        body.collect().await.expect("body");
        assert!(!first.taken().over && second.taken().over);
    }
}
