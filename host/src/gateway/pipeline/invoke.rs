//! Step 7, invoke: the route picks its version (an alias's canary takes its share by the
//! request id's random bits) and a fresh instance of it handles the request
//! (`runtime/invoke.rs`, or `runtime/wagi.rs` for WAGI commands); a mock route answers its
//! configured response instead. A route that records (`record = {…}`) has a sampled
//! share of its invocations recorded (`gateway/recording/`).

use super::super::build::Backend;
use super::super::protection::Admission;
use super::super::recording::Session;
use super::super::rejection::{Rejection, Unavailable};
use super::super::request::RequestCtx;
use crate::config::MockSpec;
use crate::gateway::body::RequestBody;
use crate::runtime::{Handler, Invocation, InvocationFacts};
use crate::server::response::{ResponseBody, full_body};
use crate::telemetry::trace::RequestTrace;

/// The W3C trace context header.
const TRACEPARENT: http::HeaderName = http::HeaderName::from_static("traceparent");

/// Runs the route's handler.
pub(super) async fn run(
    ctx: &mut RequestCtx,
    mut request: hyper::Request<RequestBody>,
    admission: Admission,
) -> Result<hyper::Response<ResponseBody>, Rejection> {
    // A traced request reaches the guest as a child of the guest span, whatever the client
    // said; the client's `tracestate` goes on as it came.
    let traceparent = ctx.trace.as_ref().map(RequestTrace::guest_traceparent);
    if let Some(traceparent) = &traceparent {
        request
            .headers_mut()
            .insert(TRACEPARENT, traceparent.clone());
    }
    let route = ctx.route.clone();
    let backend = route
        .backend
        .as_ref()
        .map_err(|reason| Rejection::Unavailable(Unavailable::Route(reason.clone())))?;
    let versions = match backend {
        Backend::Module(versions) => versions,
        Backend::Mock(mock) => return Ok(mock_response(mock)),
        Backend::Proxy(spec) => return super::super::proxy::forward(spec, ctx, request).await,
    };
    let version = versions.pick(ctx.id.uuid());
    ctx.version_label = Some(version.label.clone());
    let facts = InvocationFacts {
        request_id: ctx.id.as_str().to_owned(),
        route: route.template.clone(),
        path_params: std::mem::take(&mut ctx.params),
        principal: ctx.principal.clone(),
        authorizer_context: std::mem::take(&mut ctx.authorizer_context),
        client_ip: ctx.client_ip,
        over_tls: ctx.over_tls,
        stage_variables: version.sandbox.stage_variables.clone(),
        traceparent,
    };
    // The handler has what is left of the request's deadline; its timeout error names the
    // time the request was given.
    let limits = crate::config::InvocationLimits {
        timeout: ctx.deadline.budget,
        ..route.limits
    };
    // A recorded invocation (`record = {…}`, components only) tapes its inputs and copies
    // its bodies.
    let recording = match &version.compiled {
        Handler::Component(_) => {
            let label = version.label.to_str().unwrap_or_default();
            Session::begin(&route, label, &facts, &request)
        }
        Handler::Wagi(_) => None,
    };
    let request = match &recording {
        Some(session) => request.map(|body| session.tee_request(body)),
        None => request,
    };
    let invocation = Invocation {
        facts,
        deadline: ctx.deadline.at,
        limits: &limits,
        sandbox: &version.sandbox,
        observation: ctx.observation.clone(),
        times: ctx.times.clone(),
        admission: Box::new(admission),
        reuse: route.reuse,
        tape: recording.as_ref().map(Session::tape),
    };
    let invoked = version.compiled.invoke(request, invocation).await;
    let invoked = match recording {
        Some(session) => session.finish(invoked),
        None => invoked,
    };
    invoked.map_err(|error| {
        tracing::warn!(
            request_id = ctx.id.as_str(),
            route = %route.template,
            target = %route.integration,
            client = ?ctx.client_ip,
            ms = ctx.received.elapsed().as_millis() as u64,
            %error,
            "invocation failed"
        );
        Rejection::Handler(error)
    })
}

/// The response a mock route is configured with.
fn mock_response(mock: &MockSpec) -> hyper::Response<ResponseBody> {
    let mut response = hyper::Response::new(full_body(mock.body.clone()));
    *response.status_mut() = mock.status;
    *response.headers_mut() = mock.headers.clone();
    response
}
