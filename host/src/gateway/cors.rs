//! CORS on the wire (the Fetch standard's CORS protocol): the gateway's own answer to a
//! preflight, and the headers an actual response from a route with a policy carries.
//! Whether an origin, a method or request headers are allowed is the policy's to say
//! (`config/cors`).
//!
//! A route's policy governs its responses: `Access-Control-*` headers a guest set are
//! replaced by the policy's (as API Gateway does), so a guest cannot widen what the
//! operator configured.

use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Method, StatusCode};

use crate::config::CorsPolicy;
use crate::server::response::{ResponseBody, full_body};

/// The response headers that belong to the CORS protocol.
const CORS_RESPONSE_HEADERS: [HeaderName; 6] = [
    header::ACCESS_CONTROL_ALLOW_ORIGIN,
    header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
    header::ACCESS_CONTROL_ALLOW_METHODS,
    header::ACCESS_CONTROL_ALLOW_HEADERS,
    header::ACCESS_CONTROL_EXPOSE_HEADERS,
    header::ACCESS_CONTROL_MAX_AGE,
];

/// The method a CORS preflight asks about: `request` is an `OPTIONS` with `Origin` and an
/// `Access-Control-Request-Method` naming a method.
pub(super) fn preflight_method<B>(request: &hyper::Request<B>) -> Option<Method> {
    if request.method() != Method::OPTIONS || !request.headers().contains_key(header::ORIGIN) {
        return None;
    }
    let asked = request
        .headers()
        .get(header::ACCESS_CONTROL_REQUEST_METHOD)?;
    Method::from_bytes(asked.as_bytes()).ok()
}

/// The gateway's answer to a preflight for `method`: 204, with the CORS headers when the
/// origin, the method and every requested header are allowed; without them otherwise
/// (the browser then refuses the request and says why in its console).
pub(super) fn preflight_response(
    policy: Option<&CorsPolicy>,
    request: &HeaderMap,
    method: &Method,
) -> hyper::Response<ResponseBody> {
    let mut response = hyper::Response::new(full_body(bytes::Bytes::new()));
    *response.status_mut() = StatusCode::NO_CONTENT;
    let headers = response.headers_mut();
    headers.insert(
        header::VARY,
        HeaderValue::from_static(
            "Origin, Access-Control-Request-Method, Access-Control-Request-Headers",
        ),
    );
    let Some(policy) = policy else {
        return response;
    };
    let Some(origin) = allowed_origin(policy, request.get(header::ORIGIN)) else {
        return response;
    };
    if !policy.allows_method(method) {
        return response;
    }
    let requested = request
        .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
        .map_or(Some(""), |value| value.to_str().ok());
    let Some(allowed_headers) = requested.and_then(|names| policy.allowed_request_headers(names))
    else {
        return response;
    };
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    if policy.credentials {
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
    }
    if let Ok(method) = HeaderValue::from_str(method.as_str()) {
        headers.insert(header::ACCESS_CONTROL_ALLOW_METHODS, method);
    }
    if !allowed_headers.is_empty() {
        headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, allowed_headers);
    }
    if let Some(max_age) = &policy.max_age {
        headers.insert(header::ACCESS_CONTROL_MAX_AGE, max_age.clone());
    }
    response
}

/// Gives a response to a request from `origin` the headers of `policy`: `Vary: Origin`
/// always, and the allow headers when the origin is allowed. Any CORS header already
/// there (a guest's) is removed first.
pub(super) fn decorate(headers: &mut HeaderMap, policy: &CorsPolicy, origin: Option<&HeaderValue>) {
    for name in &CORS_RESPONSE_HEADERS {
        headers.remove(name);
    }
    headers.append(header::VARY, HeaderValue::from_static("Origin"));
    let Some(origin) = allowed_origin(policy, origin) else {
        return;
    };
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    if policy.credentials {
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
    }
    if let Some(exposed) = &policy.expose_headers {
        headers.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, exposed.clone());
    }
}

/// The `Access-Control-Allow-Origin` for `origin`: `*` when any origin may read without
/// credentials, else the origin itself when it is allowed.
fn allowed_origin(policy: &CorsPolicy, origin: Option<&HeaderValue>) -> Option<HeaderValue> {
    let origin = origin?;
    if policy.any_origin() && !policy.credentials {
        return Some(HeaderValue::from_static("*"));
    }
    let text = origin.to_str().ok()?;
    policy.allows_origin(text).then(|| origin.clone())
}
