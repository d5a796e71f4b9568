//! Every answer the gateway gives by itself (no route, wrong method, a failed handler…) as a
//! value with its HTTP status and JSON body, turned into a response in one place.
//!
//! Bodies follow API Gateway's gateway responses: `{"message": "..."}`, plus an `error`
//! field naming the kind of failure where a handler failed.

use http::{HeaderValue, Method, StatusCode, header};

use super::throttle::Verdict;
use crate::runtime::InvokeError;
use crate::server::response::{ErrorReply, ResponseBody};

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
    Throttled(Verdict),
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
    /// What the client gets: status, body and headers, each variant described here once.
    pub fn reply(&self) -> ErrorReply {
        use StatusCode as S;
        match self {
            Rejection::NotFound => ErrorReply::plain(S::NOT_FOUND),
            Rejection::MethodNotAllowed { allow } => {
                let allow: Vec<&str> = allow.iter().map(Method::as_str).collect();
                let reply = ErrorReply::plain(S::METHOD_NOT_ALLOWED);
                match HeaderValue::from_str(&allow.join(", ")) {
                    Ok(value) => reply.header(header::ALLOW, value),
                    Err(_) => reply,
                }
            }
            Rejection::BadRequest(detail) => {
                ErrorReply::detailed(S::BAD_REQUEST, "bad_request", detail.as_str())
            }
            Rejection::Unavailable(detail) => ErrorReply::detailed(
                S::SERVICE_UNAVAILABLE,
                "module_unavailable",
                detail.as_str(),
            ),
            Rejection::Unauthorized(detail) => {
                ErrorReply::detailed(S::UNAUTHORIZED, "unauthorized", detail.as_str()).header(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"wasmgate\""),
                )
            }
            Rejection::Forbidden => ErrorReply::plain(S::FORBIDDEN),
            // What went wrong stays in the gateway's log: clients learn only that it did.
            Rejection::AuthorizerFailed(_) | Rejection::AuthorizerUnavailable => {
                ErrorReply::plain(S::INTERNAL_SERVER_ERROR).kind("authorizer_failed")
            }
            Rejection::Throttled(verdict) => {
                let reply = ErrorReply::plain(S::TOO_MANY_REQUESTS);
                match verdict {
                    Verdict::Throttled { retry_after, .. } => {
                        // Whole seconds, rounded up, at least one.
                        let seconds = (retry_after.as_secs()
                            + u64::from(retry_after.subsec_nanos() > 0))
                        .max(1);
                        reply.header(header::RETRY_AFTER, HeaderValue::from(seconds))
                    }
                    Verdict::Allowed { .. } => reply,
                }
            }
            Rejection::PayloadTooLarge(limit) => ErrorReply::detailed(
                S::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("the request body is larger than this route's limit of {limit} bytes"),
            )
            .message("Request Entity Too Large"),
            Rejection::RequestTimeout(idle) => ErrorReply::detailed(
                S::REQUEST_TIMEOUT,
                "request_timeout",
                format!(
                    "the request body stalled for more than {} s",
                    idle.as_secs()
                ),
            ),
            Rejection::ApiKey(detail) => {
                ErrorReply::detailed(S::FORBIDDEN, "api_key", detail.as_str())
            }
            Rejection::QuotaExceeded {
                limit,
                resets_at,
                now,
            } => {
                let reset = std::time::UNIX_EPOCH + std::time::Duration::from_secs(*resets_at);
                ErrorReply::detailed(
                    S::TOO_MANY_REQUESTS,
                    "quota_exceeded",
                    format!("the API key's quota of {limit} requests is used up"),
                )
                .field(
                    "reset",
                    humantime::format_rfc3339_seconds(reset).to_string(),
                )
                .header(
                    header::RETRY_AFTER,
                    HeaderValue::from(resets_at.saturating_sub(*now).max(1)),
                )
            }
            Rejection::Overflow { status, detail } => {
                ErrorReply::detailed(*status, "concurrency_limit", detail.as_str())
                    .header(header::RETRY_AFTER, HeaderValue::from_static("1"))
            }
            Rejection::Handler(error) => {
                let (status, kind) = error.classify();
                let reply = ErrorReply::detailed(status, kind, error.to_string());
                match error {
                    InvokeError::PoolExhausted(_) => {
                        reply.header(header::RETRY_AFTER, HeaderValue::from_static("1"))
                    }
                    _ => reply,
                }
            }
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.reply().status()
    }

    /// The response, with `x-request-id` set.
    pub fn into_response(self, request_id: &HeaderValue) -> http::Response<ResponseBody> {
        self.reply().into_response(Some(request_id))
    }
}
