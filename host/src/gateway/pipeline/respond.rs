//! Step 8, respond: the handler's response or the rejection, with `x-request-id`,
//! `x-wasmgate-version` (the module version that ran) and the `RateLimit-*` headers; its
//! body records the request (metrics, access log) when it ends (`gateway/record.rs`).

use std::sync::{Arc, LazyLock};

use super::super::cors;
use super::super::protection::rate_limit_headers;
use super::super::record::{Record, Recorder, bounded_path};
use super::super::rejection::Rejection;
use super::super::request::{RequestCtx, RequestId, StepTimes};
use super::super::{EXECUTED_VERSION, Gateway};
use crate::server::response::{REQUEST_ID, ResponseBody};
use crate::telemetry::trace::RequestTrace;
use crate::telemetry::{RouteLabels, RouteMetrics};

/// The response to send.
pub(super) fn finish(
    gateway: &Gateway,
    ctx: RequestCtx,
    request: RequestLine,
    outcome: Result<hyper::Response<ResponseBody>, Rejection>,
) -> hyper::Response<ResponseBody> {
    let (mut response, rejection) = match outcome {
        Ok(response) => (response, None),
        Err(rejection) => {
            let kind = rejection.kind();
            (rejection.into_response(ctx.id.header()), Some(kind))
        }
    };
    let headers = response.headers_mut();
    headers.insert(REQUEST_ID, ctx.id.header().clone());
    if let Some(label) = &ctx.version_label {
        headers.insert(EXECUTED_VERSION, label.clone());
    }
    if let Some(verdict) = &ctx.rate {
        rate_limit_headers(headers, verdict);
    }
    if let Some(policy) = &ctx.route.cors
        && !ctx.preflight
    {
        cors::decorate(headers, policy, ctx.origin.as_ref());
    }
    let record = Record {
        id: ctx.id.header().clone(),
        received: ctx.received,
        client: ctx.client_ip,
        method: request.method,
        path: request.path,
        route: ctx.route.metrics.clone(),
        status: response.status(),
        rejection,
        version: ctx.version_label,
        principal: ctx.principal,
        rate: ctx.rate,
        authorize: ctx.authorize_time,
        queue: ctx.queue_time,
        times: ctx.times,
        bytes_in: ctx.bytes_in,
        access_log: gateway.options.access_log,
        metrics: gateway.options.metrics,
        trace: ctx.trace.map(|trace| (trace, ctx.received_at, ctx.steps)),
    };
    response.map(|body| Recorder::watch(body, record))
}

/// What the access log keeps of the request line: its method and (bounded) path.
pub(super) struct RequestLine {
    pub method: http::Method,
    pub path: String,
}

impl RequestLine {
    /// The method and path of `request`.
    pub fn of<B>(request: &hyper::Request<B>) -> Self {
        RequestLine {
            method: request.method().clone(),
            path: bounded_path(request.uri().path()),
        }
    }
}

/// Where requests no route took are counted.
pub(in crate::gateway) fn unmatched_route() -> Arc<RouteMetrics> {
    static UNMATCHED: LazyLock<Arc<RouteMetrics>> =
        LazyLock::new(|| Arc::new(RouteMetrics::new(RouteLabels::unmatched())));
    UNMATCHED.clone()
}

/// The response to a request no route took (404, 405, 400), recorded under the unmatched
/// route.
pub(super) fn unmatched(
    gateway: &Gateway,
    id: &RequestId,
    client: Option<std::net::IpAddr>,
    request: RequestLine,
    rejection: Rejection,
    trace: Option<RequestTrace>,
    headers: &http::HeaderMap,
) -> hyper::Response<ResponseBody> {
    let received = std::time::Instant::now();
    let received_at = std::time::SystemTime::now();
    let kind = rejection.kind();
    let mut response = rejection.into_response(id.header());
    // The gateway's CORS policy lets a browser read why no route took its request.
    if let Some(policy) = &gateway.snapshot.load().cors {
        let origin = headers.get(http::header::ORIGIN);
        cors::decorate(response.headers_mut(), policy, origin);
    }
    let record = Record {
        id: id.header().clone(),
        received,
        client,
        method: request.method,
        path: request.path,
        route: unmatched_route(),
        status: response.status(),
        rejection: Some(kind),
        version: None,
        principal: None,
        rate: None,
        authorize: None,
        queue: None,
        times: Default::default(),
        bytes_in: Default::default(),
        access_log: gateway.options.access_log,
        metrics: gateway.options.metrics,
        trace: trace.map(|trace| (trace, received_at, StepTimes::default())),
    };
    response.map(|body| Recorder::watch(body, record))
}
