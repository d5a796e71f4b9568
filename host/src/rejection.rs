//! Every answer the gateway gives by itself (no route, wrong method, a failed handler…) as a
//! value with its HTTP status and JSON body, turned into a response in one place.
//!
//! Bodies follow API Gateway's gateway responses: `{"message": "..."}`, plus an `error`
//! field naming the kind of failure where a handler failed.

use bytes::Bytes;
use http::{HeaderValue, Method, StatusCode, header};
use http_body_util::{BodyExt, Full};
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;

use crate::runtime::InvokeError;

/// The body type of every response the gateway sends: a guest's streamed body or one of
/// ours.
pub type ResponseBody = HyperOutgoingBody;

/// A request the gateway answers itself.
#[derive(Debug)]
#[non_exhaustive]
pub enum Rejection {
    /// No route matches the path.
    NotFound,
    /// Routes match the path, but not for this method.
    MethodNotAllowed {
        /// The methods that would be accepted.
        allow: Vec<Method>,
    },
    /// The request is malformed in a way the gateway detects.
    BadRequest(String),
    /// The route's module version cannot run (e.g. its stored file failed its hash check).
    Unavailable(String),
    /// An identity source of the route's authorizer is missing.
    Unauthorized(String),
    /// The route's authorizer denied the request.
    Forbidden,
    /// The route's authorizer failed; the request is denied (fail closed).
    AuthorizerFailed(crate::runtime::AuthorizeError),
    /// The route's JWT authorizer has no usable signing keys; the request is denied.
    AuthorizerUnavailable,
    /// A rate limit refused the request.
    Throttled(crate::throttle::Verdict),
    /// The request body is larger than the route allows (the limit in bytes).
    PayloadTooLarge(u64),
    /// The request body stalled for longer than allowed.
    RequestTimeout(std::time::Duration),
    /// The route needs an API key and the request has none, or not a valid, enabled one.
    ApiKey(String),
    /// The API key used up its plan's quota for the period.
    QuotaExceeded {
        /// Requests per period.
        limit: u64,
        /// When the next period starts (seconds since the epoch).
        resets_at: u64,
        /// Now (seconds since the epoch).
        now: u64,
    },
    /// The route's concurrency slots and queue are full, or the wait was too long.
    Overflow {
        /// 429 or 503, as the route says.
        status: StatusCode,
        /// What was full.
        detail: String,
    },
    /// The handler failed.
    Handler(InvokeError),
}

impl Rejection {
    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            Rejection::NotFound => StatusCode::NOT_FOUND,
            Rejection::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Rejection::BadRequest(_) => StatusCode::BAD_REQUEST,
            Rejection::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Rejection::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Rejection::Throttled(_) | Rejection::QuotaExceeded { .. } => {
                StatusCode::TOO_MANY_REQUESTS
            }
            Rejection::ApiKey(_) => StatusCode::FORBIDDEN,
            Rejection::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Rejection::RequestTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            Rejection::Overflow { status, .. } => *status,
            Rejection::Forbidden => StatusCode::FORBIDDEN,
            Rejection::AuthorizerFailed(_) | Rejection::AuthorizerUnavailable => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
            Rejection::Handler(error) => match error {
                InvokeError::Trap { .. }
                | InvokeError::MemoryLimit(_)
                | InvokeError::NoResponse
                | InvokeError::ErrorResponse(_)
                | InvokeError::Exited(_)
                | InvokeError::MalformedOutput(_)
                | InvokeError::OutputTooLarge(_) => StatusCode::BAD_GATEWAY,
                InvokeError::BodyTimeout => StatusCode::REQUEST_TIMEOUT,
                InvokeError::Timeout(_) | InvokeError::OutOfFuel => StatusCode::GATEWAY_TIMEOUT,
                InvokeError::PoolExhausted(_) => StatusCode::SERVICE_UNAVAILABLE,
                InvokeError::BadRequest(_) => StatusCode::BAD_REQUEST,
                InvokeError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            },
        }
    }

    /// The kind of failure, a stable identifier for clients and logs.
    pub fn kind(&self) -> &'static str {
        match self {
            Rejection::NotFound => "not_found",
            Rejection::MethodNotAllowed { .. } => "method_not_allowed",
            Rejection::BadRequest(_) => "bad_request",
            Rejection::Unavailable(_) => "module_unavailable",
            Rejection::Unauthorized(_) => "unauthorized",
            Rejection::Throttled(_) => "throttled",
            Rejection::ApiKey(_) => "api_key",
            Rejection::PayloadTooLarge(_) => "payload_too_large",
            Rejection::RequestTimeout(_) => "request_timeout",
            Rejection::QuotaExceeded { .. } => "quota_exceeded",
            Rejection::Overflow { .. } => "concurrency_limit",
            Rejection::Forbidden => "forbidden",
            Rejection::AuthorizerFailed(_) | Rejection::AuthorizerUnavailable => {
                "authorizer_failed"
            }
            Rejection::Handler(error) => match error {
                InvokeError::Trap { .. } => "handler_trapped",
                InvokeError::MemoryLimit(_) => "handler_memory_limit",
                InvokeError::NoResponse => "handler_no_response",
                InvokeError::ErrorResponse(_) => "handler_error_response",
                InvokeError::Timeout(_) => "handler_timeout",
                InvokeError::OutOfFuel => "handler_out_of_fuel",
                InvokeError::PoolExhausted(_) => "instance_pool_full",
                InvokeError::BadRequest(_) => "bad_request",
                InvokeError::Exited(_) => "handler_exited",
                InvokeError::MalformedOutput(_) => "handler_malformed_output",
                InvokeError::OutputTooLarge(_) => "handler_output_too_large",
                InvokeError::BodyTimeout => "request_timeout",
                InvokeError::Internal(_) => "internal_error",
            },
        }
    }

    /// The JSON body.
    fn body(&self) -> serde_json::Value {
        match self {
            Rejection::NotFound => serde_json::json!({ "message": "Not Found" }),
            Rejection::MethodNotAllowed { .. } => {
                serde_json::json!({ "message": "Method Not Allowed" })
            }
            Rejection::BadRequest(detail) => {
                serde_json::json!({ "message": "Bad Request", "error": self.kind(), "detail": detail })
            }
            Rejection::Unavailable(detail) => serde_json::json!({
                "message": "Service Unavailable", "error": self.kind(), "detail": detail
            }),
            Rejection::Unauthorized(detail) => serde_json::json!({
                "message": "Unauthorized", "error": self.kind(), "detail": detail
            }),
            Rejection::Forbidden => serde_json::json!({ "message": "Forbidden" }),
            Rejection::Throttled(_) => serde_json::json!({ "message": "Too Many Requests" }),
            Rejection::PayloadTooLarge(limit) => serde_json::json!({
                "message": "Request Entity Too Large",
                "error": self.kind(),
                "detail": format!("the request body is larger than this route's limit of {limit} bytes"),
            }),
            Rejection::RequestTimeout(idle) => serde_json::json!({
                "message": "Request Timeout",
                "error": self.kind(),
                "detail": format!("the request body stalled for more than {} s", idle.as_secs()),
            }),
            Rejection::ApiKey(detail) => serde_json::json!({
                "message": "Forbidden", "error": self.kind(), "detail": detail
            }),
            Rejection::QuotaExceeded {
                limit, resets_at, ..
            } => serde_json::json!({
                "message": "Too Many Requests",
                "error": self.kind(),
                "detail": format!("the API key's quota of {limit} requests is used up"),
                "reset": humantime::format_rfc3339_seconds(
                    std::time::UNIX_EPOCH + std::time::Duration::from_secs(*resets_at)
                ).to_string(),
            }),
            Rejection::Overflow { detail, .. } => serde_json::json!({
                "message": self.status().canonical_reason().unwrap_or("Error"),
                "error": self.kind(),
                "detail": detail,
            }),
            Rejection::AuthorizerFailed(_) | Rejection::AuthorizerUnavailable => {
                serde_json::json!({
                    // What went wrong stays in the gateway's log: clients learn only that it did.
                    "message": "Internal Server Error", "error": self.kind()
                })
            }
            Rejection::Handler(error) => serde_json::json!({
                "message": self.status().canonical_reason().unwrap_or("Error"),
                "error": self.kind(),
                "detail": error.to_string(),
            }),
        }
    }

    /// The response, with `x-request-id` set.
    pub fn into_response(self, request_id: &HeaderValue) -> http::Response<ResponseBody> {
        let mut response = json_response(self.status(), &self.body());
        let headers = response.headers_mut();
        headers.insert(REQUEST_ID, request_id.clone());
        match &self {
            Rejection::MethodNotAllowed { allow } => {
                let allow: Vec<&str> = allow.iter().map(Method::as_str).collect();
                if let Ok(value) = HeaderValue::from_str(&allow.join(", ")) {
                    headers.insert(header::ALLOW, value);
                }
            }
            Rejection::Handler(InvokeError::PoolExhausted(_)) | Rejection::Overflow { .. } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            Rejection::Throttled(crate::throttle::Verdict::Throttled { retry_after, .. }) => {
                // Whole seconds, rounded up, at least one.
                let seconds =
                    (retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0)).max(1);
                headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
            }
            Rejection::QuotaExceeded { resets_at, now, .. } => {
                headers.insert(
                    header::RETRY_AFTER,
                    HeaderValue::from(resets_at.saturating_sub(*now).max(1)),
                );
            }
            Rejection::Unauthorized(_) => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"wasmgate\""),
                );
            }
            _ => {}
        }
        response
    }
}

/// The response header carrying the invocation's id.
pub const REQUEST_ID: header::HeaderName = header::HeaderName::from_static("x-request-id");

/// A JSON response.
pub fn json_response(status: StatusCode, body: &serde_json::Value) -> http::Response<ResponseBody> {
    let mut response = http::Response::new(full_body(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// A body of bytes already in memory.
pub fn full_body(bytes: Bytes) -> ResponseBody {
    Full::new(bytes)
        .map_err(|never| match never {})
        .boxed_unsync()
}
