//! The request pipeline: one request through named steps, in this order (route, CORS
//! preflight, identify, throttle, authorize, cache, read body, validate, admit, invoke,
//! respond), each in its own file. A step
//! reads and adds to the [`RequestCtx`]; the first step that refuses the request ends it
//! with its [`Rejection`], and `respond.rs` turns either outcome into the response, whose
//! body records the request when it ends. Adding a step is adding a file and one line
//! below.

mod admit;
mod authorize;
mod body;
mod cache;
mod cors;
mod identify;
mod invoke;
mod respond;
mod route;
mod throttle;
mod validate;

pub(super) use respond::unmatched_route;

use std::sync::Arc;

use super::Gateway;
use super::rejection::Rejection;
use super::request::{RequestCtx, RequestId};
use crate::runtime::GuestBody;
use crate::runtime::Observation;
use crate::server::response::ResponseBody;
use crate::telemetry::trace::RequestTrace;

/// Serves one request; every failure becomes a response.
pub(super) async fn serve<B>(
    gateway: &Gateway,
    request: hyper::Request<B>,
    observation: Option<Arc<Observation>>,
) -> hyper::Response<ResponseBody>
where
    B: GuestBody + Unpin,
{
    let id = RequestId::for_request(request.headers());
    let line = respond::RequestLine::of(&request);
    let trace = RequestTrace::begin(request.headers());
    let preflight = cors::preflight(gateway, &request);
    let method = preflight.as_ref().unwrap_or(request.method());
    let found = route::find(gateway, &request, method, id, observation, trace.clone());
    let mut ctx = match found {
        Ok(ctx) => ctx,
        Err((id, client, rejection)) => {
            let headers = request.headers();
            return respond::unmatched(gateway, &id, client, line, rejection, trace, headers);
        }
    };
    if let Some(method) = preflight {
        ctx.preflight = true;
        let policy = ctx.route.cors.as_deref();
        let response = super::cors::preflight_response(policy, request.headers(), &method);
        return respond::finish(gateway, ctx, line, Ok(response));
    }
    let outcome = run(gateway, &mut ctx, request).await;
    respond::finish(gateway, ctx, line, outcome)
}

/// Runs one step, noting when it ran (for a traced request); its refusal ends the request.
macro_rules! step {
    ($ctx:ident, $name:literal, $call:expr) => {{
        let started = std::time::Instant::now();
        let outcome = $call;
        $ctx.mark($name, started);
        outcome?
    }};
}

/// The steps after routing.
async fn run<B>(
    gateway: &Gateway,
    ctx: &mut RequestCtx,
    request: hyper::Request<B>,
) -> Result<hyper::Response<ResponseBody>, Rejection>
where
    B: GuestBody + Unpin,
{
    let (parts, body) = request.into_parts();
    ctx.deadline = ctx.deadline.shortened_by(ctx.received, &parts.headers)?;
    step!(ctx, "key", identify::api_key(ctx, &parts));
    step!(
        ctx,
        "throttle",
        throttle::take_tokens(gateway, ctx, &parts).await
    );
    // No body is read for a request that is not allowed in.
    step!(ctx, "authorize", authorize::check(ctx, &parts).await);
    // Only a route with a response cache has this step (and its span).
    if ctx.route.cache.is_some()
        && let Some(kept) = step!(ctx, "cache", cache::lookup(gateway, ctx, &parts).await)
    {
        return Ok(kept);
    }
    let body = step!(
        ctx,
        "body",
        body::read(gateway, ctx, &parts.headers, body).await
    );
    // Only a route with schemas has this step (and its span).
    let body = match &ctx.route.validator {
        Some(validator) => {
            let validator = validator.clone();
            step!(
                ctx,
                "validate",
                validate::check(ctx, &validator, &parts, body).await
            )
        }
        None => body,
    };
    let admission = step!(ctx, "admit", admit::enter(gateway, ctx, &parts).await);
    let response = invoke::run(ctx, hyper::Request::from_parts(parts, body), admission).await?;
    Ok(cache::keep(gateway, ctx, response))
}
