//! Where a guest's stdout and stderr go when nobody observes the invocation: the gateway's
//! log, one `tracing` event per line (target `wasmgate::guest`, with the request id and
//! the stream), at most [`GUEST_LOG_LIMIT`] bytes and [`GUEST_LOG_LINES`] lines per
//! invocation. Beyond them the output is counted and dropped, so a chatty or hostile guest
//! cannot flood the log (not even with empty lines); the guest never sees an error for it.
//!
//! wasmtime-wasi's own stdio streams write straight to the process's stderr with no limit,
//! which is why this small stream exists.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};

use arc_swap::ArcSwap;
use bytes::Bytes;
use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};

/// Most bytes of stdout and stderr together logged per invocation.
pub const GUEST_LOG_LIMIT: usize = 64 << 10;

/// Most lines of stdout and stderr together logged per invocation (each is a log event
/// with its own timestamp and fields, whatever its length).
pub const GUEST_LOG_LINES: usize = 1024;

/// The most bytes one write may carry (as for wasmtime-wasi's own stdio).
const MAX_WRITE: usize = 1 << 20;

/// A line longer than this is logged in pieces.
const MAX_LINE: usize = 4 << 10;

/// One invocation's log budget, shared by its stdout and stderr.
struct Budget {
    request_id: Arc<str>,
    /// The route's template, for the admin API's live feed.
    route: Arc<str>,
    left: AtomicUsize,
    lines_left: AtomicUsize,
    dropped: AtomicUsize,
}

impl Budget {
    /// How many of `wanted` bytes may still be logged; the rest counts as dropped.
    fn take(&self, wanted: usize) -> usize {
        let mut left = self.left.load(Ordering::Relaxed);
        loop {
            let granted = wanted.min(left);
            match self.left.compare_exchange_weak(
                left,
                left - granted,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => {
                    if granted < wanted {
                        self.dropped.fetch_add(wanted - granted, Ordering::Relaxed);
                    }
                    return granted;
                }
                Err(now) => left = now,
            }
        }
    }

    /// Whether one more line may be logged; if not, its `len` bytes count as dropped.
    fn take_line(&self, len: usize) -> bool {
        let taken = self
            .lines_left
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| {
                left.checked_sub(1)
            })
            .is_ok();
        if !taken {
            self.dropped.fetch_add(len, Ordering::Relaxed);
        }
        taken
    }
}

impl Drop for Budget {
    fn drop(&mut self) {
        let dropped = *self.dropped.get_mut();
        if dropped > 0 {
            tracing::warn!(
                // A root event: never inside the span of a WASI call (see below).
                target: "wasmgate::guest",
                parent: None,
                request_id = %self.request_id,
                dropped,
                "the guest wrote more than {} KiB or {GUEST_LOG_LINES} lines to stdout and \
                 stderr: the rest was not logged",
                GUEST_LOG_LIMIT >> 10
            );
        }
    }
}

/// The guest's stdout or stderr of one invocation, as the WASI context's stream. An
/// instance that serves several invocations (`isolation = "reuse"`) is given the next
/// one's budget by [`GuestLog::rebind`], which streams the guest already holds follow.
#[derive(Clone)]
pub struct GuestLog {
    budget: Arc<ArcSwap<Budget>>,
    stream: &'static str,
}

impl Budget {
    fn new(request_id: &str, route: &Arc<str>) -> Self {
        Budget {
            request_id: Arc::from(request_id),
            route: route.clone(),
            left: AtomicUsize::new(GUEST_LOG_LIMIT),
            lines_left: AtomicUsize::new(GUEST_LOG_LINES),
            dropped: AtomicUsize::new(0),
        }
    }
}

impl GuestLog {
    /// stdout and stderr of the invocation `request_id` on `route`, sharing one budget.
    pub fn pair(request_id: &str, route: &Arc<str>) -> (GuestLog, GuestLog) {
        let budget = Arc::new(ArcSwap::from_pointee(Budget::new(request_id, route)));
        let stdout = GuestLog {
            budget: budget.clone(),
            stream: "stdout",
        };
        (
            stdout,
            GuestLog {
                budget,
                stream: "stderr",
            },
        )
    }

    /// From now on, this log and its pair log for the invocation `request_id` on `route`,
    /// with a budget of its own.
    pub fn rebind(&self, request_id: &str, route: &Arc<str>) {
        self.budget.store(Arc::new(Budget::new(request_id, route)));
    }

    fn writer(&self) -> LineWriter {
        LineWriter {
            log: self.clone(),
            partial: Vec::new(),
        }
    }
}

impl IsTerminal for GuestLog {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for GuestLog {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.writer())
    }

    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(self.writer())
    }
}

/// Splits what the guest writes into lines and logs each; a last unfinished line is
/// logged when the stream is dropped.
struct LineWriter {
    log: GuestLog,
    partial: Vec<u8>,
}

impl LineWriter {
    fn write_bytes(&mut self, bytes: &[u8]) {
        let granted = self.log.budget.load().take(bytes.len());
        for &byte in &bytes[..granted] {
            if byte == b'\n' {
                self.emit();
            } else {
                self.partial.push(byte);
                if self.partial.len() >= MAX_LINE {
                    self.emit();
                }
            }
        }
    }

    fn emit(&mut self) {
        let budget = self.log.budget.load();
        if !budget.take_line(self.partial.len() + 1) {
            self.partial.clear();
            return;
        }
        let line = String::from_utf8_lossy(&self.partial);
        let line = line.strip_suffix('\r').unwrap_or(&line);
        tracing::info!(
            // A root event: never inside the span a WASI call runs in (wasmtime-wasi's
            // `fd_write{…}` would prefix every line of a WAGI program).
            target: "wasmgate::guest",
            parent: None,
            request_id = %budget.request_id,
            stream = self.log.stream,
            "{line}"
        );
        crate::telemetry::live::guest_line(
            &budget.request_id,
            &budget.route,
            self.log.stream,
            line,
        );
        self.partial.clear();
    }
}

impl Drop for LineWriter {
    fn drop(&mut self) {
        if !self.partial.is_empty() {
            self.emit();
        }
    }
}

impl OutputStream for LineWriter {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.write_bytes(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(MAX_WRITE)
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for LineWriter {
    async fn ready(&mut self) {}
}

impl AsyncWrite for LineWriter {
    fn poll_write(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.write_bytes(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
