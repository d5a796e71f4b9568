//! Record and replay (a route's `record = {…}`): a sampled share of a route's invocations
//! is recorded at the WIT boundary — the request as the guest read it, the gateway facts
//! it could ask for, every nondeterministic input (`runtime/tape/`) and the response it
//! wrote — and kept in the data dir (`registry/recordings.rs`), credentials redacted.
//! `replay.rs` runs recordings again on any version with those inputs played back, and
//! `diff.rs` names what of the response changed.
//!
//! - `session.rs`: one recorded invocation, from sampling to the end of its response.
//! - `writer.rs`: the thread that stores finished recordings, off the request's path.

mod diff;
mod replay;
mod session;
mod writer;

use serde::{Deserialize, Serialize};

use crate::runtime::{HeaderPairs, Inputs, Payload};

pub use diff::Difference;
pub use replay::{ReplayError, ReplayReport, Replayed, Replayer};
pub(super) use session::Session;
pub(super) use writer::RecordingWriter;

/// The format of the recordings this gateway writes.
pub const RECORDING_FORMAT: u32 = 1;

/// One recorded invocation: as stored, as the admin API returns it, and as
/// `wasmgate replay --save-fixtures` writes it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Recording {
    /// [`RECORDING_FORMAT`].
    pub format: u32,
    /// Its name in the store (time-ordered).
    pub id: String,
    /// When it was recorded, in milliseconds since the Unix epoch.
    pub recorded_at_ms: u64,
    /// The route that ran it.
    pub route: RecordedRoute,
    /// The module version that ran (`hello@3`).
    pub version: String,
    /// The request the guest got.
    pub request: RecordedRequest,
    /// What `wasmgate:gateway/context` answered.
    pub context: RecordedContext,
    /// Clock readings, random bytes and outbound responses.
    pub inputs: Inputs,
    /// What the guest answered.
    pub response: Outcome,
}

/// The route of a recording.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordedRoute {
    /// Its id in the admin API.
    pub id: String,
    /// Its method (`GET`, `ANY`…).
    pub method: String,
    /// Its path template.
    pub path: String,
}

/// A recorded request.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordedRequest {
    /// The method.
    pub method: String,
    /// Path and query.
    pub uri: String,
    /// The headers, credentials redacted.
    pub headers: HeaderPairs,
    /// What the guest read of the body.
    pub body: Payload,
    /// Whether the guest read the body to its end (else `body` is what it read of it).
    #[serde(default = "yes")]
    pub body_complete: bool,
}

fn yes() -> bool {
    true
}

/// The gateway facts of a recorded invocation.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordedContext {
    /// The request's id.
    pub request_id: String,
    /// The route's path parameters, decoded.
    pub path_params: Vec<(String, String)>,
    /// The principal its authorizer allowed.
    pub principal: Option<String>,
    /// Its authorizer's context.
    pub authorizer_context: Vec<(String, String)>,
    /// The stage variables of the alias that ran.
    pub stage_variables: Vec<(String, String)>,
    /// The client's address.
    pub client_ip: Option<std::net::IpAddr>,
    /// Whether the request came over TLS.
    pub over_tls: bool,
}

/// What an invocation answered: a response, or the error a client got instead.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Outcome {
    /// The status the client got.
    pub status: u16,
    /// The error's kind (`handler_trapped`…) when the guest gave no response.
    pub error: Option<String>,
    /// The response's headers, as the guest set them.
    #[serde(default)]
    pub headers: HeaderPairs,
    /// The response's body.
    #[serde(default)]
    pub body: Payload,
}

impl Outcome {
    /// The outcome of an invocation that failed with `error`.
    fn failed(error: &crate::runtime::InvokeError) -> Self {
        let (status, kind) = error.classify();
        Outcome {
            status: status.as_u16(),
            error: Some(kind.to_owned()),
            headers: Vec::new(),
            body: Payload::default(),
        }
    }
}
