//! What the pipeline knows about one request as it goes through the steps: its id, its
//! client, the matched route, and what each step found out.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use http::HeaderValue;

use super::build::{Route, Snapshot};
use super::deadline::Deadline;
use super::keys::KeyEntry;
use super::throttle::Verdict;
use crate::runtime::{Observation, PhaseTimes};
use crate::server::response::REQUEST_ID;
use crate::telemetry::trace::RequestTrace;

/// Longest `x-request-id` a client may send that the gateway keeps.
pub const MAX_REQUEST_ID: usize = 128;

/// A request's id, also sent back as `x-request-id`: the client's own when it sent a
/// well-formed one (1 to `MAX_REQUEST_ID` visible ASCII characters), else a random UUID
/// (v4). Its random bits are fresh either way.
#[derive(Debug, Clone)]
pub struct RequestId {
    uuid: uuid::Uuid,
    header: HeaderValue,
}

impl RequestId {
    /// A fresh random id.
    pub fn new() -> Self {
        let uuid = uuid::Uuid::new_v4();
        let mut text = uuid::Uuid::encode_buffer();
        let header = HeaderValue::from_str(uuid.hyphenated().encode_lower(&mut text))
            .unwrap_or_else(|_| HeaderValue::from_static("invalid-request-id"));
        RequestId { uuid, header }
    }

    /// The id of a request with these headers: its `x-request-id` if well-formed (one
    /// value), else a fresh one.
    pub fn for_request(headers: &http::HeaderMap) -> Self {
        let mut given = headers.get_all(REQUEST_ID).iter();
        match (given.next(), given.next()) {
            (Some(value), None) if well_formed(value) => RequestId {
                uuid: uuid::Uuid::new_v4(),
                header: value.clone(),
            },
            _ => RequestId::new(),
        }
    }

    /// Its random bits (a canary's share of traffic is decided by them).
    pub fn uuid(&self) -> &uuid::Uuid {
        &self.uuid
    }

    /// As a header value.
    pub fn header(&self) -> &HeaderValue {
        &self.header
    }

    /// As text.
    pub fn as_str(&self) -> &str {
        self.header.to_str().unwrap_or_default()
    }
}

/// 1 to [`MAX_REQUEST_ID`] visible ASCII characters (no spaces or controls).
fn well_formed(value: &HeaderValue) -> bool {
    let bytes = value.as_bytes();
    (1..=MAX_REQUEST_ID).contains(&bytes.len()) && bytes.iter().all(|b| b.is_ascii_graphic())
}

impl Default for RequestId {
    fn default() -> Self {
        Self::new()
    }
}

/// One request on its way through the pipeline (`pipeline/mod.rs`).
pub(super) struct RequestCtx {
    /// Its id.
    pub id: RequestId,
    /// When the gateway took it…
    pub received: Instant,
    /// …on the wall clock.
    pub received_at: std::time::SystemTime,
    /// When it must be answered by.
    pub deadline: Deadline,
    /// The client's IP address, when the connection has one.
    pub client_ip: Option<IpAddr>,
    /// Whether it came over TLS.
    pub over_tls: bool,
    /// The routes (and buckets, keys, unreserved instances) it is served with: loaded once,
    /// so every step sees the same deploy.
    pub snapshot: Arc<Snapshot>,
    /// The route it matched.
    pub route: Arc<Route>,
    /// The route's path parameters, percent-decoded, in template order.
    pub params: Vec<(String, String)>,
    /// The API key it carries, when the route requires one.
    pub key: Option<Arc<KeyEntry>>,
    /// The rate limit to report in `RateLimit-*` headers (the tightest, or the refusal).
    pub rate: Option<Verdict>,
    /// The principal its authorizer allowed.
    pub principal: Option<String>,
    /// The context its authorizer returned.
    pub authorizer_context: Vec<(String, String)>,
    /// The module version that ran it (`x-wasmgate-version`).
    pub version_label: Option<HeaderValue>,
    /// Where the admin API's test invoke records what happened.
    pub observation: Option<Arc<Observation>>,
    /// How long the authorizer step took, when the route has an authorizer.
    pub authorize_time: Option<std::time::Duration>,
    /// How long it waited for a concurrency slot, when it had to.
    pub queue_time: Option<std::time::Duration>,
    /// Where the invocation records its instantiation and guest times.
    pub times: Arc<PhaseTimes>,
    /// Request body bytes the handler read.
    pub bytes_in: Arc<std::sync::atomic::AtomicU64>,
    /// Its place in a trace, when traces are exported.
    pub trace: Option<RequestTrace>,
    /// When each step ran, kept only for a traced request.
    pub steps: StepTimes,
    /// Its `Origin`, when its route has a CORS policy.
    pub origin: Option<HeaderValue>,
    /// Whether it is a CORS preflight the gateway answered itself.
    pub preflight: bool,
    /// On a miss of its route's response cache: the key its response is kept under, and
    /// its raw path.
    pub cache_key: Option<(Arc<str>, Arc<str>)>,
}

impl RequestCtx {
    /// Notes that the step `name` ran from `started` until now (for a traced request).
    pub fn mark(&mut self, name: &'static str, started: Instant) {
        if self.trace.is_some() {
            self.steps.0.push((name, started, Instant::now()));
        }
    }
}

/// When each step of a traced request ran: its name, start and end.
#[derive(Debug, Default)]
pub(super) struct StepTimes(pub Vec<(&'static str, Instant, Instant)>);
