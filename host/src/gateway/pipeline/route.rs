//! Step 1, route: the current route table finds the request's route, or answers 404, 405
//! (with `Allow`), 400 (a parameter that is not UTF-8) or 503 (a manifest route whose
//! module is still compiling at start-up).

use super::super::Gateway;
use super::super::deadline::Deadline;
use super::super::forwarded::client_ip;
use super::super::rejection::Rejection;
use super::super::request::{RequestCtx, RequestId, StepTimes};
use crate::routing::Lookup;
use crate::runtime::Observation;
use crate::server::ConnectionInfo;
use crate::telemetry::trace::RequestTrace;
use std::net::IpAddr;
use std::sync::Arc;

/// The context of a request whose route was found.
pub(super) fn find<B>(
    gateway: &Gateway,
    request: &hyper::Request<B>,
    method: &http::Method,
    id: RequestId,
    observation: Option<Arc<Observation>>,
    trace: Option<RequestTrace>,
) -> Result<RequestCtx, (RequestId, Option<IpAddr>, Rejection)> {
    let received = std::time::Instant::now();
    let connection = request.extensions().get::<ConnectionInfo>();
    let trusted = &gateway.options.trusted_proxies;
    let client_ip = connection.map(|c| client_ip(c.peer.ip(), request.headers(), trusted));
    let snapshot = gateway.snapshot.load_full();
    let (route, params) = match snapshot.routes.lookup(method, request.uri().path()) {
        Lookup::Found { route, params } => (route.clone(), params),
        Lookup::InvalidParam { name } => {
            return Err((id, client_ip, Rejection::InvalidParam { name }));
        }
        Lookup::MethodNotAllowed { allow } => {
            return Err((id, client_ip, Rejection::MethodNotAllowed { allow }));
        }
        Lookup::NotFound => {
            let rejection = match gateway.compiling(method, request.uri().path()) {
                Some(module) => Rejection::Compiling(module),
                None => Rejection::NotFound,
            };
            return Err((id, client_ip, rejection));
        }
    };
    if let Some(observation) = &observation {
        observation.set_route(&route.id, &route.template);
    }
    // Only a route with a CORS policy answers differently by origin.
    let origin = (route.cors.as_ref()).and_then(|_| request.headers().get(http::header::ORIGIN));
    let mut ctx = RequestCtx {
        origin: origin.cloned(),
        preflight: false,
        cache_key: None,
        id,
        deadline: Deadline::new(received, route.limits.timeout),
        received,
        received_at: std::time::SystemTime::now(),
        client_ip,
        snapshot,
        over_tls: connection.is_some_and(|c| c.over_tls),
        route,
        params,
        key: None,
        rate: None,
        principal: None,
        authorizer_context: Vec::new(),
        version_label: None,
        times: observation
            .as_ref()
            .map_or_else(Arc::default, |observation| observation.times().clone()),
        observation,
        authorize_time: None,
        queue_time: None,
        bytes_in: Arc::default(),
        trace,
        steps: StepTimes::default(),
    };
    ctx.mark("route", received);
    Ok(ctx)
}
