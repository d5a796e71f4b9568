//! What load balancers, orchestrators and scrapers ask the admin listener: `GET /healthz`
//! (the process serves) and `GET /readyz` (routes built and serving, not draining), both
//! without a token; `GET /metrics` (Prometheus text), with the token on the admin
//! listener, or without one on a `--metrics-listen` address ([`MetricsOnly`]).

use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;
use http::{HeaderValue, Method, StatusCode, header};

use crate::server::HttpService;
use crate::server::response::{ResponseBody, full_body, json_response};
use crate::telemetry::metrics::{CONTENT_TYPE, metrics};

/// Whether the gateway takes new requests: true from the start (the admin listener opens
/// after the routes are built), false once shutdown begins draining.
#[derive(Debug)]
pub struct Readiness(AtomicBool);

impl Default for Readiness {
    fn default() -> Self {
        Readiness(AtomicBool::new(true))
    }
}

impl Readiness {
    /// Shutdown has begun: `/readyz` answers 503 from now on.
    pub fn drain(&self) {
        self.0.store(false, Ordering::Relaxed);
    }

    fn ready(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    /// Whether shutdown has begun.
    pub(super) fn draining(&self) -> bool {
        !self.ready()
    }
}

/// The answer to a probe (`GET`/`HEAD` `/healthz` or `/readyz`), which needs no token;
/// `None` for any other request.
pub(super) fn probe<B>(
    readiness: &Readiness,
    request: &hyper::Request<B>,
) -> Option<hyper::Response<ResponseBody>> {
    if !matches!(*request.method(), Method::GET | Method::HEAD) {
        return None;
    }
    let (status, state) = match request.uri().path() {
        "/healthz" => (StatusCode::OK, "ok"),
        "/readyz" if readiness.ready() => (StatusCode::OK, "ready"),
        "/readyz" => (StatusCode::SERVICE_UNAVAILABLE, "draining"),
        _ => return None,
    };
    Some(json_response(
        status,
        &serde_json::json!({ "status": state }),
    ))
}

/// Whether `request` asks for the metrics.
pub(super) fn is_metrics<B>(request: &hyper::Request<B>) -> bool {
    request.uri().path() == "/metrics" && matches!(*request.method(), Method::GET | Method::HEAD)
}

/// Every metric, in Prometheus's text format.
pub(super) fn metrics_response() -> hyper::Response<ResponseBody> {
    let mut response = hyper::Response::new(full_body(Bytes::from(metrics().encode())));
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    response
}

/// The `--metrics-listen` service: `GET /metrics` without a token, for scrapers on a
/// private network; nothing else.
#[derive(Debug, Default)]
pub struct MetricsOnly;

impl HttpService for MetricsOnly {
    async fn handle(
        &self,
        request: hyper::Request<hyper::body::Incoming>,
    ) -> hyper::Response<ResponseBody> {
        if is_metrics(&request) {
            return metrics_response();
        }
        json_response(
            StatusCode::NOT_FOUND,
            &serde_json::json!({ "message": "only GET /metrics is served here" }),
        )
    }
}
