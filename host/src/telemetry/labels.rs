//! The label sets of the gateway's metrics. None takes a value a client chooses: routes are
//! named by their configured method and template, authorizers and plans by their configured
//! names, and the rest are fixed words.

use std::sync::{Arc, LazyLock};

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};

/// A route, as metrics name it: its method (`GET`, `ANY`, …) and path template.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    /// The route's method as configured.
    pub method: Arc<str>,
    /// The route's path template.
    pub route: Arc<str>,
}

impl RouteLabels {
    /// The labels of a route.
    pub fn new(method: &str, route: &str) -> Self {
        RouteLabels {
            method: Arc::from(method),
            route: Arc::from(route),
        }
    }

    /// Where requests no route matched are counted.
    pub fn unmatched() -> Self {
        static UNMATCHED: LazyLock<RouteLabels> = LazyLock::new(|| RouteLabels::new("", "(none)"));
        UNMATCHED.clone()
    }
}

/// A response's status class.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum StatusClass {
    /// 1xx
    Informational,
    /// 2xx
    Success,
    /// 3xx
    Redirection,
    /// 4xx
    ClientError,
    /// 5xx
    ServerError,
}

impl StatusClass {
    /// The class of `status`.
    pub fn of(status: http::StatusCode) -> Self {
        match status.as_u16() {
            0..=199 => StatusClass::Informational,
            200..=299 => StatusClass::Success,
            300..=399 => StatusClass::Redirection,
            400..=499 => StatusClass::ClientError,
            _ => StatusClass::ServerError,
        }
    }
}

impl StatusClass {
    /// `2xx`, as the label says it.
    pub fn as_str(self) -> &'static str {
        match self {
            StatusClass::Informational => "1xx",
            StatusClass::Success => "2xx",
            StatusClass::Redirection => "3xx",
            StatusClass::ClientError => "4xx",
            StatusClass::ServerError => "5xx",
        }
    }
}

impl EncodeLabelValue for StatusClass {
    fn encode(&self, encoder: &mut LabelValueEncoder<'_>) -> Result<(), std::fmt::Error> {
        use std::fmt::Write as _;
        encoder.write_str(self.as_str())
    }
}

/// A request's labels: its route, the module version that ran it (empty when none did) and
/// its status class.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// The route.
    #[prometheus(flatten)]
    pub route: RouteLabels,
    /// `module@version`, or empty.
    pub version: Arc<str>,
    /// `2xx`, `4xx`, …
    pub status: StatusClass,
}

/// Why the gateway answered a request itself.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RejectionLabels {
    /// The route.
    #[prometheus(flatten)]
    pub route: RouteLabels,
    /// `throttled`, `quota`, `unauthorized`, `forbidden`, `timeout`, `memory`, `trap`, …
    pub kind: &'static str,
}

/// A phase of a request.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum Phase {
    /// The route's authorizer (a cached decision included).
    Authorize,
    /// Waiting for a concurrency slot.
    Queue,
    /// Creating the handler's instance.
    Instantiate,
    /// The handler's code running, to the end of its `handle` (or `_start`).
    Guest,
}

impl EncodeLabelValue for Phase {
    fn encode(&self, encoder: &mut LabelValueEncoder<'_>) -> Result<(), std::fmt::Error> {
        use std::fmt::Write as _;
        encoder.write_str(match self {
            Phase::Authorize => "authorize",
            Phase::Queue => "queue",
            Phase::Instantiate => "instantiate",
            Phase::Guest => "guest",
        })
    }
}

/// A phase of a request on a route.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PhaseLabels {
    /// The route.
    #[prometheus(flatten)]
    pub route: RouteLabels,
    /// The phase.
    pub phase: Phase,
}

/// A route's response-cache lookups: `hit` or `miss`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CacheLabels {
    /// The route.
    #[prometheus(flatten)]
    pub route: RouteLabels,
    /// `hit` or `miss`.
    pub outcome: &'static str,
}

/// A listener: `gateway` or `admin`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ListenerLabels {
    /// Which server.
    pub listener: &'static str,
}

/// A connection closed as soon as accepted: its listener and why (`limit`, `client_limit`).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ConnectionRefusalLabels {
    /// Which server.
    pub listener: &'static str,
    /// Which limit.
    pub reason: &'static str,
}

/// An authorizer and an outcome (`hit`/`miss` for its decision cache, `ok`/`failed` for a
/// JWKS fetch).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct AuthorizerLabels {
    /// The authorizer's name.
    pub authorizer: Arc<str>,
    /// What happened.
    pub outcome: &'static str,
}

/// A usage plan (empty for keys without one).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PlanLabels {
    /// The plan's name.
    pub plan: Arc<str>,
}
