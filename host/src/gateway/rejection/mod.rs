//! Every answer the gateway gives by itself (no route, wrong method, a failed handler…) as a
//! value with its HTTP status and JSON body, turned into a response in one place.
//!
//! Bodies follow API Gateway's gateway responses: `{"message": "..."}`, plus an `error`
//! field naming the kind of failure where a handler failed.

use http::{HeaderValue, Method, StatusCode, header};

mod reasons;

pub use reasons::{
    GateRefusal, KeyRefusal, Overflow, Unauthenticated, Unavailable, UpstreamFailure,
};

use super::throttle::Verdict;
use crate::config::ModuleName;
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
    /// A path parameter is not UTF-8 once percent-decoded.
    InvalidParam {
        /// The parameter's name.
        name: String,
    },
    /// The request body broke off (the client's stream failed).
    BodyBrokeOff,
    /// The request's `x-request-timeout-ms` is not a whole number of milliseconds from 1.
    InvalidRequestTimeout,
    /// The route is the manifest's, and its module is still compiling at start-up.
    Compiling(ModuleName),
    /// The shared rate limits' store cannot be reached, and its policy is `fail_closed`.
    ThrottleStoreDown,
    /// The route, or its authorizer, cannot run.
    Unavailable(Unavailable),
    /// The request does not carry the identity the route's authorizer needs.
    Unauthorized(Unauthenticated),
    /// The route's authorizer denied the request.
    Forbidden,
    /// The route's authorizer failed (why is logged where it failed); the request is denied
    /// (fail closed).
    AuthorizerFailed,
    /// The route's JWT authorizer has no usable signing keys; the request is denied.
    AuthorizerUnavailable,
    /// A rate limit refused the request.
    Throttled(Verdict),
    /// The request body is larger than the route allows (the limit in bytes).
    PayloadTooLarge(u64),
    /// The request body stalled for longer than allowed.
    RequestTimeout(std::time::Duration),
    /// The request body did not arrive in full within the body deadline.
    BodyTooSlow(std::time::Duration),
    /// The route needs an API key and the request has none, or not a valid, enabled one.
    ApiKey(KeyRefusal),
    /// The API key used up its plan's quota for the period.
    QuotaExceeded {
        /// Requests per period.
        limit: u64,
        /// When the next period starts (seconds since the epoch).
        resets_at: u64,
        /// Now (seconds since the epoch).
        now: u64,
    },
    /// The API key used up a budget of its plan's compute quota for the period.
    ComputeExceeded {
        /// The budget used up.
        budget: super::compute::ComputeBudget,
        /// When the next period starts (seconds since the epoch).
        resets_at: u64,
        /// Now (seconds since the epoch).
        now: u64,
    },
    /// The route's concurrency slots and queue are full, or the wait was too long.
    Overflow(GateRefusal),
    /// The handler failed.
    Handler(InvokeError),
    /// The route's upstream HTTP service did not answer.
    Upstream(UpstreamFailure),
    /// The request does not match the route's schemas.
    InvalidRequest(Vec<crate::validation::Violation>),
}

/// 429 for a quota used up until `resets_at` (seconds since the epoch, as `now`): the
/// reset time in the body and `Retry-After`.
fn used_up(message: String, resets_at: u64, now: u64) -> ErrorReply {
    let reset = std::time::UNIX_EPOCH + std::time::Duration::from_secs(resets_at);
    ErrorReply::detailed(StatusCode::TOO_MANY_REQUESTS, "quota_exceeded", message)
        .field(
            "reset",
            humantime::format_rfc3339_seconds(reset).to_string(),
        )
        .header(
            header::RETRY_AFTER,
            HeaderValue::from(resets_at.saturating_sub(now).max(1)),
        )
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
            Rejection::InvalidParam { name } => ErrorReply::detailed(
                S::BAD_REQUEST,
                "bad_request",
                format!("the path parameter `{name}` is not valid UTF-8 once percent-decoded"),
            ),
            Rejection::BodyBrokeOff => {
                ErrorReply::detailed(S::BAD_REQUEST, "bad_request", "the request body broke off")
            }
            Rejection::InvalidRequestTimeout => ErrorReply::detailed(
                S::BAD_REQUEST,
                "bad_request",
                "`x-request-timeout-ms` must be one whole number of milliseconds, from 1",
            ),
            Rejection::Unavailable(why) => ErrorReply::detailed(
                S::SERVICE_UNAVAILABLE,
                "module_unavailable",
                why.to_string(),
            ),
            Rejection::ThrottleStoreDown => ErrorReply::detailed(
                S::SERVICE_UNAVAILABLE,
                "throttle_unavailable",
                "the store of the gateway's shared rate limits cannot be reached",
            )
            .header(header::RETRY_AFTER, HeaderValue::from_static("1")),
            Rejection::Compiling(module) => ErrorReply::detailed(
                S::SERVICE_UNAVAILABLE,
                "module_compiling",
                format!("the gateway is starting: module `{module}` is still compiling"),
            )
            .header(header::RETRY_AFTER, HeaderValue::from_static("1")),
            Rejection::Unauthorized(why) => {
                ErrorReply::detailed(S::UNAUTHORIZED, "unauthorized", why.to_string()).header(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"wasmgate\""),
                )
            }
            Rejection::Forbidden => ErrorReply::plain(S::FORBIDDEN),
            // What went wrong stays in the gateway's log: clients learn only that it did.
            Rejection::AuthorizerFailed | Rejection::AuthorizerUnavailable => {
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
            Rejection::BodyTooSlow(total) => ErrorReply::detailed(
                S::REQUEST_TIMEOUT,
                "request_timeout",
                format!(
                    "the request body did not arrive in full within {} s",
                    total.as_secs()
                ),
            ),
            Rejection::RequestTimeout(idle) => ErrorReply::detailed(
                S::REQUEST_TIMEOUT,
                "request_timeout",
                format!(
                    "the request body stalled for more than {} s",
                    idle.as_secs()
                ),
            ),
            Rejection::ApiKey(why) => {
                ErrorReply::detailed(S::FORBIDDEN, "api_key", why.to_string())
            }
            Rejection::QuotaExceeded {
                limit,
                resets_at,
                now,
            } => used_up(
                format!("the API key's quota of {limit} requests is used up"),
                *resets_at,
                *now,
            ),
            Rejection::ComputeExceeded {
                budget,
                resets_at,
                now,
            } => used_up(
                format!("the API key's compute quota of {budget} is used up"),
                *resets_at,
                *now,
            ),
            Rejection::Overflow(GateRefusal {
                status,
                reason,
                limit,
                queue,
                retry_after,
            }) => {
                let (kind, message) = match (reason, retry_after) {
                    (Overflow::PastDeadline, Some(wait)) => (
                        "deadline",
                        format!(
                            "the request would wait about {} ms for a free slot, past its \
                             deadline (concurrency {limit}, queue {queue})",
                            wait.as_millis()
                        ),
                    ),
                    (Overflow::OutOfTime, _) => (
                        "deadline",
                        format!("{reason} (concurrency {limit}, queue {queue})"),
                    ),
                    _ => (
                        "concurrency_limit",
                        format!("{reason} (concurrency {limit}, queue {queue})"),
                    ),
                };
                // Whole seconds (RFC 9110), rounded up: never sooner than the estimate.
                let seconds = retry_after.map_or(1, |wait| {
                    wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
                });
                ErrorReply::detailed(*status, kind, message)
                    .header(header::RETRY_AFTER, HeaderValue::from(seconds.max(1)))
            }
            Rejection::InvalidRequest(violations) => {
                let listed: Vec<serde_json::Value> = (violations.iter())
                    .map(|v| serde_json::json!({ "pointer": v.pointer, "message": v.message }))
                    .collect();
                ErrorReply::detailed(
                    S::BAD_REQUEST,
                    "invalid_request",
                    format!(
                        "the request does not match the route's schemas ({} problems)",
                        listed.len()
                    ),
                )
                .field("violations", listed)
            }
            Rejection::Upstream(UpstreamFailure::Timeout(timeout)) => ErrorReply::detailed(
                S::GATEWAY_TIMEOUT,
                "upstream_timeout",
                format!(
                    "the upstream did not answer within {} ms",
                    timeout.as_millis()
                ),
            ),
            Rejection::Upstream(UpstreamFailure::Unreachable) => ErrorReply::detailed(
                S::BAD_GATEWAY,
                "upstream_unreachable",
                "the upstream could not be reached",
            ),
            Rejection::Upstream(UpstreamFailure::Failed(why)) => {
                ErrorReply::detailed(S::BAD_GATEWAY, "upstream_error", why.clone())
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

    /// The verdict to report in `RateLimit-*` headers for this refusal, when a limit
    /// refused: the limit that did, with nothing left until it resets.
    pub(super) fn limit_verdict(&self) -> Option<Verdict> {
        match self {
            Rejection::Throttled(verdict) => Some(*verdict),
            Rejection::QuotaExceeded {
                limit,
                resets_at,
                now,
            } => Some(Verdict::Throttled {
                limit: u32::try_from(*limit).unwrap_or(u32::MAX),
                retry_after: std::time::Duration::from_secs(resets_at.saturating_sub(*now).max(1)),
            }),
            _ => None,
        }
    }

    /// The same refusal for another request that waited for one shared authorizer run:
    /// the gate's overflow as it was, any other failure as [`Rejection::AuthorizerFailed`].
    pub(super) fn for_waiter(&self) -> Rejection {
        match self {
            Rejection::Overflow(refusal) => Rejection::Overflow(*refusal),
            Rejection::Unavailable(why) => Rejection::Unavailable(why.clone()),
            Rejection::Handler(InvokeError::PoolExhausted(why)) => {
                Rejection::Handler(InvokeError::PoolExhausted(why.clone()))
            }
            _ => Rejection::AuthorizerFailed,
        }
    }

    /// The kind of refusal, as metrics and access logs name it (a small, fixed set).
    pub fn kind(&self) -> &'static str {
        match self {
            Rejection::NotFound => "not_found",
            Rejection::MethodNotAllowed { .. } => "method_not_allowed",
            Rejection::InvalidParam { .. }
            | Rejection::BodyBrokeOff
            | Rejection::InvalidRequestTimeout => "bad_request",
            Rejection::Unavailable(_) => "unavailable",
            Rejection::Compiling(_) => "compiling",
            Rejection::ThrottleStoreDown => "throttle_unavailable",
            Rejection::Unauthorized(_) => "unauthorized",
            Rejection::Forbidden => "forbidden",
            Rejection::AuthorizerFailed | Rejection::AuthorizerUnavailable => "authorizer_failed",
            Rejection::Throttled(_) => "throttled",
            Rejection::PayloadTooLarge(_) => "body_too_large",
            Rejection::RequestTimeout(_) | Rejection::BodyTooSlow(_) => "body_timeout",
            Rejection::ApiKey(_) => "api_key",
            Rejection::QuotaExceeded { .. } | Rejection::ComputeExceeded { .. } => "quota",
            Rejection::Overflow(GateRefusal {
                reason: Overflow::PastDeadline | Overflow::OutOfTime,
                ..
            }) => "deadline",
            Rejection::Overflow(_) => "overflow",
            Rejection::InvalidRequest(_) => "invalid_request",
            Rejection::Upstream(UpstreamFailure::Timeout(_)) => "timeout",
            Rejection::Upstream(_) => "upstream",
            Rejection::Handler(error) => match error {
                InvokeError::Timeout(_) | InvokeError::OutOfFuel => "timeout",
                InvokeError::MemoryLimit(_) => "memory",
                InvokeError::Trap { .. } => "trap",
                InvokeError::PoolExhausted(_) => "pool_full",
                InvokeError::BodyTimeout => "body_timeout",
                InvokeError::BadRequest(_) => "bad_request",
                InvokeError::Internal(_) => "internal",
                InvokeError::NoResponse
                | InvokeError::ErrorResponse(_)
                | InvokeError::Exited(_)
                | InvokeError::MalformedOutput(_)
                | InvokeError::OutputTooLarge(_) => "handler_error",
            },
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
