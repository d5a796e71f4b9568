//! Rejects HTTP/1.1 requests framed by both `Content-Length` and `Transfer-Encoding` (the
//! CL+TE request-smuggling shape) with 400.
//!
//! hyper accepts such a request the way RFC 9112 §6.1 allows (the chunks win, the
//! connection closes after the answer) but gives the service no sign that `Content-Length`
//! was there: it removes the header. So [`WatchedStream`] sits between the socket and hyper
//! and follows the HTTP/1 byte stream itself: it parses each request head with `httparse`
//! (the parser hyper uses), skips each body by the same framing rules hyper applies, and
//! records which request on the connection — counted from one — had both headers.
//! [`FramingVerdicts::take_ambiguous`], called for every request the service receives,
//! then tells the server which one to refuse.
//!
//! No crate follows HTTP/1 framing push-style over a byte stream without buffering
//! bodies, hence the small state machine here. It stops watching a connection only where
//! hyper stops serving it too (HTTP/2 is not watched; malformed heads or framing close
//! the connection). A request is refused only when its head was seen intact and its
//! position, method and target match the request hyper hands over.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::framing_head::{Framing, Parsed, parse_head};

/// What the server learns from a connection's [`WatchedStream`].
#[derive(Debug, Default)]
pub struct FramingVerdicts {
    /// The first (and, since hyper closes the connection after it, only) request head on
    /// the connection with both framing headers.
    ambiguous: OnceLock<AmbiguousHead>,
    /// HTTP/1 requests handed to the service so far.
    requests: AtomicU64,
}

/// A request head with both framing headers, its method and target parsed as hyper parses
/// them.
#[derive(Debug, PartialEq, Eq)]
struct AmbiguousHead {
    /// Its position on the connection, counted from one.
    index: u64,
    method: http::Method,
    uri: http::Uri,
}

impl FramingVerdicts {
    /// Call once for every request hyper hands to the service, in order; true if it is the
    /// one whose head had both `Content-Length` and `Transfer-Encoding`.
    pub fn take_ambiguous<B>(&self, request: &http::Request<B>) -> bool {
        if request.version() > http::Version::HTTP_11 {
            return false;
        }
        let index = self.requests.fetch_add(1, Ordering::Relaxed) + 1;
        self.ambiguous.get().is_some_and(|head| {
            // hyper keeps Transfer-Encoding and drops Content-Length; a head that does not
            // match the request in hand means this watcher lost track: let it through.
            head.index == index
                && head.method == request.method()
                && head.uri == *request.uri()
                && request
                    .headers()
                    .contains_key(http::header::TRANSFER_ENCODING)
        })
    }
}

/// A connection's byte stream, read through a [`FramingTracker`].
#[derive(Debug)]
pub struct WatchedStream<S> {
    inner: S,
    tracker: FramingTracker,
}

impl<S> WatchedStream<S> {
    /// Watches `inner`; the returned verdicts are for the server's service.
    pub fn new(inner: S, max_head_bytes: usize) -> (Self, Arc<FramingVerdicts>) {
        let verdicts = Arc::new(FramingVerdicts::default());
        let tracker = FramingTracker::new(verdicts.clone(), max_head_bytes);
        (WatchedStream { inner, tracker }, verdicts)
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for WatchedStream<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let this = &mut *self;
        let poll = Pin::new(&mut this.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = poll {
            this.tracker.observe(&buf.filled()[before..]);
        }
        poll
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for WatchedStream<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Where in the HTTP/1 stream the next byte belongs.
#[derive(Debug, PartialEq, Eq)]
enum State {
    /// A request head; the bytes of it seen so far when it spans reads.
    Head(Vec<u8>),
    /// A `Content-Length` body: this many bytes to go.
    Body(u64),
    /// A chunked body.
    Chunked(Chunk),
    /// Not watching any more (see the module documentation).
    Off,
}

/// Where in a chunked body (RFC 9112 §7.1), mirroring hyper's decoder.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
enum Chunk {
    /// In the hex size; whether a digit was seen yet.
    Size {
        size: u64,
        digits: bool,
    },
    /// Blanks after the size.
    SizeBlank(u64),
    /// A chunk extension, up to the CR.
    Extension(u64),
    /// The LF ending the size line.
    SizeLf(u64),
    /// Chunk data: this many bytes to go.
    Data(u64),
    DataCr,
    DataLf,
    /// After the last chunk: a trailer field or the final CRLF.
    TrailerStart,
    Trailer,
    TrailerLf,
    EndLf,
}

/// Follows the requests in one HTTP/1 byte stream (see the module documentation).
#[derive(Debug)]
pub struct FramingTracker {
    state: State,
    /// Request heads seen so far.
    heads: u64,
    max_head_bytes: usize,
    verdicts: Arc<FramingVerdicts>,
}

impl FramingTracker {
    fn new(verdicts: Arc<FramingVerdicts>, max_head_bytes: usize) -> Self {
        FramingTracker {
            state: State::Head(Vec::new()),
            heads: 0,
            max_head_bytes,
            verdicts,
        }
    }

    /// Follows the next bytes read from the connection.
    pub fn observe(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            let used = match &mut self.state {
                State::Off => return,
                State::Head(_) => self.head(bytes),
                State::Body(left) => {
                    let used = skip(left, bytes.len());
                    if *left == 0 {
                        self.state = State::Head(Vec::new());
                    }
                    used
                }
                State::Chunked(Chunk::Data(left)) => {
                    let used = skip(left, bytes.len());
                    if *left == 0 {
                        self.state = State::Chunked(Chunk::DataCr);
                    }
                    used
                }
                State::Chunked(chunk) => {
                    self.state = next_chunk_state(*chunk, bytes[0]);
                    1
                }
            };
            bytes = &bytes[used..];
        }
    }

    /// Reads (part of) a request head from `bytes`; returns how many bytes it used.
    fn head(&mut self, bytes: &[u8]) -> usize {
        let State::Head(partial) = &mut self.state else {
            unreachable!("head() is only called in State::Head")
        };
        let seen_before = partial.len();
        if seen_before == 0 {
            // Empty lines before a request are skipped (by httparse too) without being kept:
            // a flood of them costs no parsing.
            let blank = bytes
                .iter()
                .take_while(|&&b| b == b'\r' || b == b'\n')
                .count();
            if blank > 0 {
                return blank;
            }
        }
        // Parse in place when the head starts in this read, as it usually does.
        let parsed = if seen_before == 0 {
            parse_head(bytes)
        } else {
            partial.extend_from_slice(bytes);
            // A head ends with a newline: no need to parse again until one comes.
            if bytes.contains(&b'\n') {
                parse_head(partial)
            } else {
                Parsed::Partial
            }
        };
        match parsed {
            Parsed::Partial => {
                if seen_before == 0 {
                    partial.extend_from_slice(bytes);
                }
                if partial.len() > self.max_head_bytes {
                    // hyper answers 431 and closes.
                    self.state = State::Off;
                }
                bytes.len()
            }
            Parsed::Invalid => {
                self.state = State::Off;
                bytes.len()
            }
            Parsed::Complete { length, head } => {
                // The head ends in this read: a head complete in the bytes kept before would
                // have been parsed then.
                let Some(used) = length.checked_sub(seen_before).filter(|&used| used > 0) else {
                    self.state = State::Off;
                    return bytes.len();
                };
                self.heads += 1;
                self.state = match head.framing {
                    Framing::Ambiguous => {
                        let _ = self.verdicts.ambiguous.set(AmbiguousHead {
                            index: self.heads,
                            method: head.method,
                            uri: head.uri,
                        });
                        // hyper closes the connection after this request.
                        State::Off
                    }
                    Framing::Unknown => State::Off,
                    Framing::Length(0) => State::Head(Vec::new()),
                    Framing::Length(n) => State::Body(n),
                    Framing::Chunked => State::Chunked(Chunk::Size {
                        size: 0,
                        digits: false,
                    }),
                };
                used
            }
        }
    }
}

/// Takes up to `left` of `available` body bytes; returns how many it took.
fn skip(left: &mut u64, available: usize) -> usize {
    let used = usize::try_from(*left).map_or(available, |left| left.min(available));
    *left -= used as u64;
    used
}

/// The step of a chunked body after `byte`.
fn next_chunk_state(chunk: Chunk, byte: u8) -> State {
    let next = match (chunk, byte) {
        (Chunk::Size { size, .. }, b'0'..=b'9' | b'a'..=b'f' | b'A'..=b'F') => {
            let digit = (byte as char).to_digit(16).map_or(0, u64::from);
            match size.checked_mul(16).and_then(|s| s.checked_add(digit)) {
                Some(size) => Chunk::Size { size, digits: true },
                None => return State::Off,
            }
        }
        (Chunk::Size { digits: false, .. }, _) => return State::Off,
        (Chunk::Size { size, .. } | Chunk::SizeBlank(size), b' ' | b'\t') => Chunk::SizeBlank(size),
        (Chunk::Size { size, .. } | Chunk::SizeBlank(size) | Chunk::Extension(size), b';') => {
            Chunk::Extension(size)
        }
        (Chunk::Size { size, .. } | Chunk::SizeBlank(size) | Chunk::Extension(size), b'\r') => {
            Chunk::SizeLf(size)
        }
        (Chunk::Extension(_), b'\n') => return State::Off,
        (Chunk::Extension(size), _) => Chunk::Extension(size),
        (Chunk::SizeLf(0), b'\n') => Chunk::TrailerStart,
        (Chunk::SizeLf(size), b'\n') => Chunk::Data(size),
        (Chunk::DataCr, b'\r') => Chunk::DataLf,
        (Chunk::DataLf, b'\n') => Chunk::Size {
            size: 0,
            digits: false,
        },
        (Chunk::TrailerStart, b'\r') => Chunk::EndLf,
        (Chunk::Trailer, b'\r') => Chunk::TrailerLf,
        (Chunk::TrailerStart | Chunk::Trailer, _) => Chunk::Trailer,
        (Chunk::TrailerLf, b'\n') => Chunk::TrailerStart,
        (Chunk::EndLf, b'\n') => return State::Head(Vec::new()),
        _ => return State::Off,
    };
    State::Chunked(next)
}

#[cfg(test)]
#[path = "framing_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "framing_hyper_tests.rs"]
mod hyper_tests;
