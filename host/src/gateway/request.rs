//! What the pipeline knows about one request as it goes through the steps: its id, its
//! client, the matched route, and what each step found out.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use http::HeaderValue;

use super::build::{Route, Snapshot};
use super::keys::KeyEntry;
use super::throttle::Verdict;
use crate::runtime::Observation;

/// A request's id: a random UUID (v4), also sent back as `x-request-id`.
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

impl Default for RequestId {
    fn default() -> Self {
        Self::new()
    }
}

/// One request on its way through the pipeline (`pipeline/mod.rs`).
pub(super) struct RequestCtx {
    /// Its id.
    pub id: RequestId,
    /// When the gateway took it.
    pub received: Instant,
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
}
