//! A connection's activity: its requests in flight (until their response bodies end) and
//! how long it has had none, so that an idle kept-alive connection can be closed — an
//! HTTP/2 peer that answers pings would otherwise keep one open for ever.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::response::{BodyWatcher, ResponseBody, watch_body};

/// Requests in flight on one connection, and since when it has had none.
pub(super) struct Activity {
    in_flight: AtomicUsize,
    idle_since: Mutex<Instant>,
}

impl Activity {
    pub(super) fn new() -> Arc<Self> {
        Arc::new(Activity {
            in_flight: AtomicUsize::new(0),
            idle_since: Mutex::new(Instant::now()),
        })
    }

    /// A request starts; it is active until the returned value is dropped.
    pub(super) fn begin(self: &Arc<Self>) -> ActiveRequest {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        ActiveRequest(self.clone())
    }

    /// How long the connection has had no request in flight; `None` while it has one.
    pub(super) fn idle_for(&self) -> Option<Duration> {
        if self.in_flight.load(Ordering::Acquire) > 0 {
            return None;
        }
        let since = *self
            .idle_since
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        Some(since.elapsed())
    }
}

/// One request in flight.
pub(super) struct ActiveRequest(Arc<Activity>);

impl ActiveRequest {
    /// `body`, keeping this request active until it ends or is dropped.
    pub(super) fn hold_until_end_of(self, body: ResponseBody) -> ResponseBody {
        watch_body(body, self)
    }
}

/// Active while its body is: ends when the body is dropped.
impl BodyWatcher for ActiveRequest {}

impl Drop for ActiveRequest {
    fn drop(&mut self) {
        *self
            .0
            .idle_since
            .lock()
            .unwrap_or_else(|poison| poison.into_inner()) = Instant::now();
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
        super::spin::Spin::response_ended();
    }
}
