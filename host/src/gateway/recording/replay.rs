//! Replaying recordings on a module version: each recording's request runs through a fresh
//! instance of the version with the recorded facts and nondeterministic inputs played back
//! (`Tape::Replay`), and its response is compared with the recorded one (`diff.rs`).
//!
//! A replay runs in a sandbox like the version's own, but without its key-value stores
//! (a replay must not change live data): a handler that opens one gets an error. Its
//! output is captured, not logged, and it runs one recording at a time (the caller loads
//! each as it goes: a route's recordings are never all in memory).

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use serde::Serialize;

use super::super::Gateway;
use super::super::build::load_handler;
use super::diff::{Difference, differences};
use super::{Outcome, Recording};
use crate::config::{ALWAYS_REDACTED, InvocationLimits, Target};
use crate::runtime::REDACTED_VALUE;
use crate::runtime::{
    Handler, Invocation, InvocationFacts, MAX_BODY_BYTES, Observation, Payload, PhaseTimes, Player,
    Sandbox, Tape, header_pairs,
};

/// Why recordings cannot be replayed on a version.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// The target names no version that can run.
    #[error("cannot replay on `{target}`: {reason}")]
    Target {
        /// The target as given.
        target: String,
        /// Why it cannot run.
        reason: String,
    },
    /// The version is a WAGI command, whose inputs are not recorded.
    #[error("`{0}` is a WAGI module: only component handlers are recorded and replayed")]
    NotComponent(String),
}

/// One recording's replay.
#[derive(Debug, Serialize)]
pub struct Replayed {
    /// The recording's id.
    pub recording: String,
    /// Its request line (`GET /items/1`).
    pub request: String,
    /// The version that was recorded.
    pub recorded_version: String,
    /// What of the response differs.
    pub differences: Vec<Difference>,
    /// Where the replay asked for other inputs than were recorded.
    pub notes: Vec<String>,
}

/// The replay of several recordings on one version.
#[derive(Debug, Serialize)]
pub struct ReplayReport {
    /// The version they ran on (`hello@4`).
    pub against: String,
    /// How many were replayed.
    pub replayed: usize,
    /// How many answered differently.
    pub differing: usize,
    /// Each one's replay, in the order given.
    pub results: Vec<Replayed>,
}

/// A version ready to replay recordings on.
pub struct Replayer {
    label: String,
    handler: Handler,
    sandbox: Arc<Sandbox>,
    routes: Vec<Arc<super::super::Route>>,
}

impl Replayer {
    /// Loads the version `against` names.
    pub fn new(gateway: &Gateway, against: &Target) -> Result<Self, ReplayError> {
        let registry = gateway.registry();
        let version = load_handler(registry, &registry.state(), against).map_err(|reason| {
            ReplayError::Target {
                target: against.to_string(),
                reason: reason.to_string(),
            }
        })?;
        let label = version.label.to_str().unwrap_or_default().to_owned();
        if !matches!(version.compiled, Handler::Component(_)) {
            return Err(ReplayError::NotComponent(label));
        }
        Ok(Replayer {
            label,
            handler: version.compiled,
            // No key-value stores: a replay must not change live data.
            sandbox: Arc::new(Sandbox {
                key_value: None,
                ..(*version.sandbox).clone()
            }),
            routes: gateway.routes(),
        })
    }

    /// Replays `recording`: what of its response differs, with the player's notes.
    pub async fn run(&self, recording: &Recording) -> Replayed {
        // The route's limits, while it exists; the defaults for a fixture of a route gone.
        let limits = (self.routes.iter())
            .find(|route| route.id == recording.route.id)
            .map_or_else(InvocationLimits::default, |route| route.limits);
        let (outcome, mut notes) = run(&self.handler, &self.sandbox, &limits, recording).await;
        if !recording.request.body_complete {
            notes.push(format!(
                "the recorded request body holds only the {} bytes the recorded version read",
                recording.request.body.0.len()
            ));
        }
        Replayed {
            recording: recording.id.clone(),
            request: format!("{} {}", recording.request.method, recording.request.uri),
            recorded_version: recording.version.clone(),
            differences: differences(&recording.response, &outcome),
            notes,
        }
    }

    /// The report of `results`, replayed by this.
    pub fn report(&self, results: Vec<Replayed>) -> ReplayReport {
        ReplayReport {
            against: self.label.clone(),
            replayed: results.len(),
            differing: results.iter().filter(|r| !r.differences.is_empty()).count(),
            results,
        }
    }
}

/// Runs one recording; its outcome, and the player's notes.
async fn run(
    handler: &Handler,
    sandbox: &Arc<Sandbox>,
    limits: &InvocationLimits,
    recording: &Recording,
) -> (Outcome, Vec<String>) {
    let context = &recording.context;
    let facts = InvocationFacts {
        request_id: context.request_id.clone(),
        route: Arc::from(recording.route.path.as_str()),
        path_params: context.path_params.clone(),
        principal: context.principal.clone(),
        authorizer_context: context.authorizer_context.clone(),
        client_ip: context.client_ip,
        over_tls: context.over_tls,
        stage_variables: context.stage_variables.clone().into(),
        traceparent: None,
    };
    let recorded_at = recording.recorded_at_ms.saturating_mul(1_000_000);
    let player = Player::new(recording.inputs.clone(), recorded_at);
    let request = match request_of(recording) {
        Ok(request) => request,
        Err(message) => return (failed(400, "bad_recording", message), Vec::new()),
    };
    let deadline = Instant::now() + limits.timeout;
    let invocation = Invocation {
        facts,
        deadline,
        limits,
        sandbox,
        observation: Some(Arc::new(Observation::default())),
        times: Arc::new(PhaseTimes::default()),
        admission: Box::new(()),
        reuse: None,
        tape: Some(Tape::Replay(player.clone())),
    };
    let outcome = match handler.invoke(request, invocation).await {
        Err(error) => Outcome::failed(&error),
        Ok(response) => {
            let (parts, body) = response.into_parts();
            let body = Limited::new(body, MAX_BODY_BYTES).collect();
            match tokio::time::timeout_at(deadline.into(), body).await {
                Ok(Ok(body)) => Outcome {
                    status: parts.status.as_u16(),
                    error: None,
                    headers: header_pairs(&parts.headers, &redacted(&recording.response)),
                    body: Payload(body.to_bytes()),
                },
                Ok(Err(error)) => failed(502, "response_body", error.to_string()),
                Err(_) => failed(
                    504,
                    "handler_timeout",
                    "the response body did not end".into(),
                ),
            }
        }
    };
    (outcome, player.notes())
}

/// The headers a replayed response keeps redacted: the credentials, and those the recorded
/// response has redacted.
fn redacted(recorded: &Outcome) -> Vec<http::HeaderName> {
    let mut names: Vec<http::HeaderName> = ALWAYS_REDACTED
        .iter()
        .map(|name| http::HeaderName::from_static(name))
        .collect();
    for (name, value) in &recorded.headers {
        if value == REDACTED_VALUE
            && let Ok(name) = http::HeaderName::from_bytes(name.as_bytes())
        {
            names.push(name);
        }
    }
    names
}

/// An outcome the replay itself produced (no response to compare).
fn failed(status: u16, kind: &str, message: String) -> Outcome {
    Outcome {
        status,
        error: Some(kind.to_owned()),
        headers: Vec::new(),
        body: Payload(Bytes::from(message)),
    }
}

type ReplayBody = http_body_util::combinators::UnsyncBoxBody<Bytes, wasmtime_wasi_http::Error>;

/// The recorded request, ready to hand to a guest.
fn request_of(recording: &Recording) -> Result<hyper::Request<ReplayBody>, String> {
    let recorded = &recording.request;
    let mut request = hyper::Request::builder()
        .method(recorded.method.as_str())
        .uri(recorded.uri.as_str());
    for (name, value) in &recorded.headers {
        request = request.header(name.as_str(), value.as_str());
    }
    let body = Full::new(recorded.body.0.clone())
        .map_err(|never| match never {})
        .boxed_unsync();
    request
        .body(body)
        .map_err(|e| format!("the recorded request is not valid: {e}"))
}
