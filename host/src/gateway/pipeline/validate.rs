//! Step 5a, validate: on a route with `validate = {…}`, the request's path, query and
//! header parameters are checked against their schemas (`crate::validation`), then its body
//! — read whole, within the route's `max_body_mb` — against the JSON body's schema. Any
//! violation → 400 `invalid_request` listing each by JSON pointer; no guest runs.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};

use super::super::body::RequestBody;
use super::super::rejection::Rejection;
use super::super::request::RequestCtx;
use crate::validation::RequestValidator;

/// The request's body, once the request matches `validator` (the body read whole when the
/// validator checks it).
pub(super) async fn check(
    ctx: &RequestCtx,
    validator: &RequestValidator,
    parts: &http::request::Parts,
    body: RequestBody,
) -> Result<RequestBody, Rejection> {
    // The parameters first: a request they refuse costs no body read.
    let violations = validator.check_parameters(&ctx.params, parts.uri.query(), &parts.headers);
    if !violations.is_empty() {
        return Err(Rejection::InvalidRequest(violations));
    }
    if !validator.checks_body() {
        return Ok(body);
    }
    let bytes: Bytes = body
        .collect()
        .await
        .map_err(|_| Rejection::BodyBrokeOff)?
        .to_bytes();
    let violations = validator.check_body(&bytes);
    if !violations.is_empty() {
        return Err(Rejection::InvalidRequest(violations));
    }
    Ok(Full::new(bytes)
        .map_err(|never| match never {})
        .boxed_unsync())
}
