//! What load balancers, orchestrators and scrapers ask the admin listener: `GET /healthz`
//! (the process serves) and `GET /readyz` (every route serving: no module of the manifest
//! still compiling, not draining), both
//! without a token; `GET /metrics` (Prometheus text), with the token on the admin
//! listener, or without one on a `--metrics-listen` address ([`MetricsOnly`]).

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;
use http::{HeaderValue, Method, StatusCode, header};

use crate::server::HttpService;
use crate::server::response::{ResponseBody, full_body, json_response};
use crate::telemetry::metrics::{CONTENT_TYPE, metrics};

/// Whether the gateway takes new requests: not while modules of the manifest still compile
/// at start-up (their routes answer 503), nor once shutdown begins draining.
#[derive(Debug, Default)]
pub struct Readiness {
    draining: AtomicBool,
    /// The modules still compiling, by name.
    compiling: Mutex<Vec<String>>,
}

impl Readiness {
    /// Shutdown has begun: `/readyz` answers 503 from now on.
    pub fn drain(&self) {
        self.draining.store(true, Ordering::Relaxed);
    }

    /// The manifest's modules still compiling; `/readyz` answers 503 while there are any.
    pub fn set_compiling(&self, modules: Vec<String>) {
        *self.compiling.lock().unwrap_or_else(|p| p.into_inner()) = modules;
    }

    /// Whether shutdown has begun.
    pub(super) fn draining(&self) -> bool {
        self.draining.load(Ordering::Relaxed)
    }

    /// `/readyz`'s status and JSON body.
    fn readyz(&self) -> (StatusCode, serde_json::Value) {
        if self.draining() {
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                serde_json::json!({ "status": "draining" }),
            );
        }
        let compiling = self.compiling.lock().unwrap_or_else(|p| p.into_inner());
        if compiling.is_empty() {
            (StatusCode::OK, serde_json::json!({ "status": "ready" }))
        } else {
            (
                StatusCode::SERVICE_UNAVAILABLE,
                serde_json::json!({ "status": "starting", "compiling": *compiling }),
            )
        }
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
    let (status, body) = match request.uri().path() {
        "/healthz" => (StatusCode::OK, serde_json::json!({ "status": "ok" })),
        "/readyz" => readiness.readyz(),
        _ => return None,
    };
    Some(json_response(status, &body))
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
