//! Why the gateway refused, in detail: the typed reasons a [`super::Rejection`] carries.

use std::sync::Arc;

use http::StatusCode;

use crate::config::{IdentitySource, ModuleName};

/// Why a proxy route's upstream gave no response.
#[derive(Debug)]
pub enum UpstreamFailure {
    /// No response head within the route's timeout.
    Timeout(std::time::Duration),
    /// No connection could be opened.
    Unreachable,
    /// The exchange failed otherwise.
    Failed(String),
}

/// Why a route cannot serve.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Unavailable {
    /// Its module version could not be loaded (why, from the route's build).
    #[error("{0}")]
    Route(Arc<str>),
    /// Its authorizer could not be made ready (why, from the route's build).
    #[error("the route's authorizer cannot run: {0}")]
    Authorizer(Arc<str>),
    /// It requires scopes, and its authorizer is not a JWT one.
    #[error("the route requires scopes but its authorizer `{0}` is not a jwt authorizer")]
    ScopesWithoutJwt(ModuleName),
}

/// Why a request is not authenticated.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Unauthenticated {
    /// An identity source is missing or empty.
    #[error("the identity source ({0}) is missing")]
    MissingIdentity(IdentitySource),
    /// The token is not valid (why is logged, not told: it may echo what the client sent).
    #[error("the token is not valid")]
    InvalidToken,
}

/// Why an API key is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyRefusal {
    /// The request has no `x-api-key`.
    #[error("this route needs an `x-api-key`")]
    Missing,
    /// No key has this secret.
    #[error("the API key is not valid")]
    Unknown,
    /// The key is disabled.
    #[error("the API key is disabled")]
    Disabled,
}

/// A route's concurrency gate refusing a request: what was full, and what the client is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GateRefusal {
    /// 429 or 503, as the route says.
    pub status: StatusCode,
    /// What was full.
    pub reason: Overflow,
    /// The route's concurrency.
    pub limit: u32,
    /// The route's queue.
    pub queue: u32,
    /// How long the queue would take to reach the request, when the route has served
    /// requests to tell.
    pub retry_after: Option<std::time::Duration>,
}

/// Why a route's concurrency gate refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Overflow {
    /// Every slot is busy and the queue is full.
    #[error("every slot is busy and the queue is full")]
    QueueFull,
    /// The request waited longer than the queue timeout, or until its deadline.
    #[error("waited too long for a free slot")]
    WaitedTooLong,
    /// The queue was full and a client with fewer waiting requests took this one's place.
    #[error("the queue is full and another client's request took this one's place")]
    PushedOut,
    /// The request would wait longer than its deadline allows.
    #[error("the request would wait for a free slot past its deadline")]
    PastDeadline,
    /// When a slot was free for it, the request's deadline was too close for the handler
    /// to answer in time (later clients had taken turns before it).
    #[error("the request's deadline came too close while it waited for a free slot")]
    OutOfTime,
}
