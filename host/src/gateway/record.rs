//! Every request's outcome, recorded once, when its response ends (its last byte handed to
//! the connection, or the client gone): the request's metrics (`telemetry`), one access-log
//! line (`tracing` target `wasmgate::access`; JSON with `--log-format json`) kept for the
//! admin API's live feed too, and, when traces are exported, its span tree.
//!
//! The log line carries the principal but never a token, an API key or `Authorization`;
//! its client-controlled values (path, method) are bounded here and escaped by the log
//! writer (text) or the JSON encoder.

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use http::{HeaderValue, StatusCode};
use opentelemetry::KeyValue;

use super::request::StepTimes;
use super::throttle::Verdict;
use crate::runtime::PhaseTimes;
use crate::server::response::{BodyWatcher, ResponseBody, watch_body};
use crate::telemetry::live::{self, AccessEvent};
use crate::telemetry::trace::{RequestTrace, SpanRecord};
use crate::telemetry::{Phase, RouteMetrics, StatusClass};

/// The `tracing` target of access-log lines.
pub const ACCESS_LOG: &str = "wasmgate::access";

/// Most characters of a request's path an access-log line keeps.
const PATH_LOG_LIMIT: usize = 512;

/// What is known of a request when its response starts.
pub(super) struct Record {
    pub id: HeaderValue,
    pub received: Instant,
    pub client: Option<IpAddr>,
    pub method: http::Method,
    pub path: String,
    pub route: Arc<RouteMetrics>,
    pub status: StatusCode,
    /// The kind of rejection, when the gateway answered itself.
    pub rejection: Option<&'static str>,
    pub version: Option<HeaderValue>,
    pub principal: Option<String>,
    pub rate: Option<Verdict>,
    pub authorize: Option<Duration>,
    pub queue: Option<Duration>,
    pub times: Arc<PhaseTimes>,
    pub bytes_in: Arc<AtomicU64>,
    /// Whether to write the access-log line…
    pub access_log: bool,
    /// …and to count the request in the metrics.
    pub metrics: bool,
    /// The request's trace, with when it arrived on the wall clock and when its steps ran.
    pub trace: Option<(RequestTrace, SystemTime, StepTimes)>,
}

/// Keeps at most [`PATH_LOG_LIMIT`] characters of `path` (a `…` marks a cut).
pub(super) fn bounded_path(path: &str) -> String {
    match path.char_indices().nth(PATH_LOG_LIMIT) {
        Some((cut, _)) => format!("{}…", &path[..cut]),
        None => path.to_owned(),
    }
}

impl Record {
    /// Records the metrics and writes the access-log line of a response that sent
    /// `bytes_out` body bytes.
    fn finish(self, bytes_out: u64) {
        let total = self.received.elapsed();
        let bytes_in = self.bytes_in.load(Ordering::Relaxed);
        if self.metrics {
            self.count(total, bytes_in, bytes_out);
        }
        if let Some((trace, received_at, steps)) = &self.trace {
            self.export_trace(trace, *received_at, steps, bytes_in, bytes_out);
        }
        if self.access_log {
            self.log(total, bytes_in, bytes_out);
            self.publish(total);
        }
    }

    /// Adds the request to the admin API's live feed (`GET /logs`); its last use.
    fn publish(self, total: Duration) {
        live::access(AccessEvent {
            time: SystemTime::now(),
            request_id: self.id,
            client: self.client,
            method: self.method,
            route: self.route.labels.route.clone(),
            path: self.path,
            status: self.status.as_u16(),
            rejection: self.rejection,
            ms: total.as_micros() as f64 / 1000.0,
            version: self.version,
            principal: self.principal,
        });
    }

    /// Exports the request's span and one child per step and runtime phase.
    fn export_trace(
        &self,
        trace: &RequestTrace,
        received_at: SystemTime,
        steps: &StepTimes,
        bytes_in: u64,
        bytes_out: u64,
    ) {
        let wall =
            |instant: Instant| received_at + instant.saturating_duration_since(self.received);
        let span = |name: &'static str, (start, end): (Instant, Instant)| SpanRecord {
            name: name.into(),
            start: wall(start),
            end: wall(end),
            attributes: Vec::new(),
            failed: false,
        };
        let mut children: Vec<SpanRecord> = steps
            .0
            .iter()
            .map(|&(name, start, end)| span(name, (start, end)))
            .collect();
        children.extend(
            self.times
                .instantiate_span()
                .map(|s| span("instantiate", s)),
        );
        children.extend(self.times.guest_span().map(|s| span("guest", s)));
        let mut attributes = vec![
            KeyValue::new("http.request.method", self.method.to_string()),
            KeyValue::new("http.route", self.route.labels.route.to_string()),
            KeyValue::new("url.path", self.path.clone()),
            KeyValue::new("http.response.status_code", i64::from(self.status.as_u16())),
            KeyValue::new(
                "wasmgate.request_id",
                self.id.to_str().unwrap_or_default().to_owned(),
            ),
            KeyValue::new("http.request.body.size", bytes_in as i64),
            KeyValue::new("http.response.body.size", bytes_out as i64),
        ];
        if let Some(client) = self.client {
            attributes.push(KeyValue::new("client.address", client.to_string()));
        }
        if let Some(version) = self.version.as_ref().and_then(|v| v.to_str().ok()) {
            attributes.push(KeyValue::new("wasmgate.module_version", version.to_owned()));
        }
        if let Some(kind) = self.rejection {
            attributes.push(KeyValue::new("wasmgate.rejection", kind));
        }
        let root = SpanRecord {
            name: format!("{} {}", self.route.labels.method, self.route.labels.route).into(),
            start: received_at,
            end: wall(Instant::now()),
            attributes,
            failed: self.status.is_server_error(),
        };
        trace.export(root, children);
    }

    /// Adds the request to the metrics.
    fn count(&self, total: Duration, bytes_in: u64, bytes_out: u64) {
        let version = self
            .version
            .as_ref()
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        self.route
            .count_request(version, StatusClass::of(self.status));
        if let Some(kind) = self.rejection {
            self.route.count_rejection(kind);
        }
        self.route.duration().observe(total.as_secs_f64());
        self.route.request_bytes().inc_by(bytes_in);
        self.route.response_bytes().inc_by(bytes_out);
        let phases = [
            (Phase::Authorize, self.authorize),
            (Phase::Queue, self.queue),
            (Phase::Instantiate, self.times.instantiate()),
            (Phase::Guest, self.times.guest()),
        ];
        for (phase, time) in phases {
            if let Some(time) = time {
                self.route.phase(phase).observe(time.as_secs_f64());
            }
        }
    }

    fn log(&self, total: Duration, bytes_in: u64, bytes_out: u64) {
        // Milliseconds to the microsecond.
        let ms = |time: Option<Duration>| time.map(|t| t.as_micros() as f64 / 1000.0);
        let throttle = self.rate.as_ref().map(|verdict| match verdict {
            Verdict::Allowed {
                limit, remaining, ..
            } => format!("allowed {remaining}/{limit}"),
            Verdict::Throttled { limit, .. } => format!("throttled 0/{limit}"),
        });
        // Strings, numbers and one address: the formatter (cli/access_format.rs) quotes
        // and escapes every string that needs it.
        tracing::info!(
            target: ACCESS_LOG,
            request_id = self.id.to_str().unwrap_or_default(),
            client = self.client.map(tracing::field::display),
            method = self.method.as_str(),
            route = &*self.route.labels.route,
            path = self.path.as_str(),
            status = self.status.as_u16(),
            rejection = self.rejection,
            bytes_in,
            bytes_out,
            ms = ms(Some(total)),
            authorize_ms = ms(self.authorize),
            queue_ms = ms(self.queue),
            instantiate_ms = ms(self.times.instantiate()),
            guest_ms = ms(self.times.guest()),
            version = self.version.as_ref().and_then(|v| v.to_str().ok()),
            principal = self.principal.as_deref(),
            throttle = throttle.as_deref(),
            "request"
        );
    }
}

/// Records its request when the response body ends (or is dropped before its end: the
/// client went away, or the body was never polled).
pub(super) struct Recorder {
    record: Option<Record>,
    bytes_out: u64,
}

impl Recorder {
    /// Records `record` when `body` ends.
    pub fn watch(body: ResponseBody, record: Record) -> ResponseBody {
        let recorder = Recorder {
            record: Some(record),
            bytes_out: 0,
        };
        watch_body(body, recorder)
    }

    fn finish(&mut self) {
        if let Some(record) = self.record.take() {
            record.finish(self.bytes_out);
        }
    }
}

impl BodyWatcher for Recorder {
    fn sent(&mut self, data: &[u8], end: bool) {
        self.bytes_out += data.len() as u64;
        if end {
            self.finish();
        }
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.finish();
    }
}
