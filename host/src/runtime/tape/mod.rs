//! Record and replay at the WIT boundary: a [`Tape`] given to an invocation either records
//! every nondeterministic input the guest receives (wall and monotonic clock readings,
//! random bytes, the insecure seed, outbound HTTP responses) or plays recorded ones back,
//! in the order the guest asks for them.
//!
//! - `clocks.rs`, `random.rs`: the WASI clocks and generators that record or play back.
//! - `outbound.rs`: outgoing HTTP requests answered by the network (recorded) or the tape.
//! - `capture.rs`: a body wrapper keeping a bounded copy of what passes through it.
//!
//! Everything recorded is bounded ([`MAX_CLOCK_READINGS`], [`MAX_RANDOM_BYTES`],
//! [`MAX_OUTBOUND`], [`MAX_BODY_BYTES`]): an invocation that reads more is not recorded
//! ([`Recorder::finish`] says why), rather than recorded in part.

mod capture;
mod clocks;
mod outbound;
mod random;

use std::sync::{Arc, Mutex, MutexGuard};

use base64::Engine as _;
use bytes::Bytes;
use serde::{Deserialize, Serialize};

pub use capture::{Budget, Capture, Captured, TeeBody};
pub(super) use outbound::{OutboundSlot, play_outbound};

/// Most readings of each clock one recording keeps.
pub const MAX_CLOCK_READINGS: usize = 10_000;
/// Most random bytes one recording keeps (of each generator).
pub const MAX_RANDOM_BYTES: usize = 1 << 20;
/// Most outbound requests one recording keeps.
pub const MAX_OUTBOUND: usize = 64;
/// Most bytes of one body (request, response or outbound response) a recording keeps.
pub const MAX_BODY_BYTES: usize = 1 << 20;
/// Most bytes of bodies and random bytes one recording keeps in all (its file is at most
/// about 1.5 MiB: base64, and the clock readings, add to it).
pub const MAX_RECORDING_BYTES: usize = 1 << 20;

/// What an invocation does with its nondeterministic inputs.
#[derive(Clone)]
pub enum Tape {
    /// Takes them from the host and records them.
    Record(Arc<Recorder>),
    /// Plays recorded ones back.
    Replay(Arc<Player>),
}

/// Bytes as JSON: `{"text": …}` when they are UTF-8, else `{"base64": …}`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Payload(pub Bytes);

#[serde_with::skip_serializing_none]
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PayloadJson {
    text: Option<String>,
    base64: Option<String>,
}

impl Serialize for Payload {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // Text only when JSON keeps it as it is: control characters would take 6 bytes.
        let text = std::str::from_utf8(&self.0).ok().filter(|text| {
            !text
                .chars()
                .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
        });
        let json = match text {
            Some(text) => PayloadJson {
                text: Some(text.to_owned()),
                base64: None,
            },
            None => PayloadJson {
                text: None,
                base64: Some(base64::engine::general_purpose::STANDARD.encode(&self.0)),
            },
        };
        json.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Payload {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        match PayloadJson::deserialize(deserializer)? {
            PayloadJson {
                text: Some(text),
                base64: None,
            } => Ok(Payload(Bytes::from(text))),
            PayloadJson {
                text: None,
                base64: Some(encoded),
            } => base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .map(|bytes| Payload(Bytes::from(bytes)))
                .map_err(D::Error::custom),
            _ => Err(D::Error::custom(
                "a body is `{\"text\": …}` or `{\"base64\": …}`",
            )),
        }
    }
}

/// Header pairs as recorded: names lowercased, values as text (bytes that are not UTF-8
/// replaced), a redacted header's value replaced by [`REDACTED_VALUE`].
pub type HeaderPairs = Vec<(String, String)>;

/// What a redacted header's value is stored as.
pub const REDACTED_VALUE: &str = "[redacted]";

/// `headers` as recorded, with the values of the headers `redacted` names replaced.
pub fn header_pairs(headers: &http::HeaderMap, redacted: &[http::HeaderName]) -> HeaderPairs {
    headers
        .iter()
        .map(|(name, value)| {
            let value = if redacted.contains(name) {
                REDACTED_VALUE.to_owned()
            } else {
                String::from_utf8_lossy(value.as_bytes()).into_owned()
            };
            (name.as_str().to_owned(), value)
        })
        .collect()
}

/// One outbound request and the response the guest got.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exchange {
    /// The request's method.
    pub method: String,
    /// The request's URI.
    pub uri: String,
    /// The response's status, or none when the request failed.
    pub status: Option<u16>,
    /// Why it failed, when it did.
    pub error: Option<String>,
    /// The response's headers.
    #[serde(default)]
    pub headers: HeaderPairs,
    /// What the guest read of the response's body.
    #[serde(default)]
    pub body: Payload,
    /// Whether the guest read the body to its end (else `body` is what it read of it).
    #[serde(default = "yes")]
    pub body_complete: bool,
}

fn yes() -> bool {
    true
}

/// Every nondeterministic input of one invocation, in the order the guest received it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Inputs {
    /// `wasi:clocks/wall-clock.now` readings, in nanoseconds since the Unix epoch.
    #[serde(default)]
    pub wall_clock: Vec<u64>,
    /// `wasi:clocks/monotonic-clock.now` readings, in nanoseconds.
    #[serde(default)]
    pub monotonic_clock: Vec<u64>,
    /// What `wasi:random/random` produced.
    #[serde(default)]
    pub random: Payload,
    /// What `wasi:random/insecure` produced.
    #[serde(default)]
    pub insecure_random: Payload,
    /// `wasi:random/insecure-seed`, as two 64-bit halves (low, high).
    #[serde(default)]
    pub insecure_seed: (u64, u64),
    /// Outbound requests and their responses.
    #[serde(default)]
    pub outbound: Vec<Exchange>,
}

/// An outbound request: its response head once it came, and the copy of its body.
struct PendingExchange {
    exchange: Exchange,
    body: Option<Arc<Capture>>,
}

/// Records one invocation's inputs (see the module documentation).
pub struct Recorder {
    state: Mutex<RecorderState>,
    /// Headers of outbound responses stored redacted.
    redacted: Arc<[http::HeaderName]>,
    /// What the recording's bodies and random bytes may take in all.
    budget: Arc<Budget>,
}

struct RecorderState {
    inputs: Inputs,
    /// What each generator produced so far (secure, insecure).
    random: Vec<u8>,
    insecure_random: Vec<u8>,
    /// Outbound requests in the order the guest sent them.
    outbound: Vec<PendingExchange>,
    /// Why the invocation cannot be recorded, once it read more than a recording keeps.
    overflow: Option<String>,
}

impl Recorder {
    /// A recorder storing the headers `redacted` names redacted.
    pub fn new(redacted: Arc<[http::HeaderName]>) -> Arc<Self> {
        let mut seed = [0u8; 16];
        let _ = getrandom::fill(&mut seed);
        let seed = u128::from_le_bytes(seed);
        Arc::new(Recorder {
            state: Mutex::new(RecorderState {
                inputs: Inputs {
                    insecure_seed: (seed as u64, (seed >> 64) as u64),
                    ..Inputs::default()
                },
                random: Vec::new(),
                insecure_random: Vec::new(),
                outbound: Vec::new(),
                overflow: None,
            }),
            redacted,
            budget: Budget::new(MAX_RECORDING_BYTES),
        })
    }

    /// A capture of one body of this recording (at most [`MAX_BODY_BYTES`], from the
    /// recording's budget).
    pub fn capture(&self) -> Arc<Capture> {
        Capture::new(MAX_BODY_BYTES, self.budget.clone())
    }

    fn lock(&self) -> MutexGuard<'_, RecorderState> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs `record` on the state unless the recording overflowed already; `over` says
    /// why it overflows when `record` returns false. An overflowed recording lets go of
    /// what it kept.
    fn record(
        &self,
        over: impl FnOnce() -> String,
        record: impl FnOnce(&mut RecorderState) -> bool,
    ) {
        let mut state = self.lock();
        if state.overflow.is_none() && !record(&mut state) {
            state.overflow = Some(over());
            state.inputs = Inputs::default();
            state.random = Vec::new();
            state.insecure_random = Vec::new();
            state.outbound = Vec::new();
        }
    }

    /// The inputs recorded, or why the invocation cannot be replayed from them.
    pub fn finish(&self) -> Result<Inputs, String> {
        let mut state = self.lock();
        if let Some(reason) = state.overflow.take() {
            return Err(reason);
        }
        let mut inputs = std::mem::take(&mut state.inputs);
        inputs.random = Payload(Bytes::from(std::mem::take(&mut state.random)));
        inputs.insecure_random = Payload(Bytes::from(std::mem::take(&mut state.insecure_random)));
        for pending in state.outbound.drain(..) {
            let mut exchange = pending.exchange;
            if let Some(capture) = pending.body {
                let captured = capture.taken();
                if captured.over {
                    return Err(format!(
                        "an outbound response body is over {} KiB, or the recording over {} KiB",
                        MAX_BODY_BYTES >> 10,
                        MAX_RECORDING_BYTES >> 10
                    ));
                }
                exchange.body = Payload(captured.bytes);
                exchange.body_complete = captured.ended;
            }
            inputs.outbound.push(exchange);
        }
        Ok(inputs)
    }
}

/// Plays one recording's inputs back, noting where the guest asked for more (or other)
/// than was recorded.
pub struct Player {
    inputs: Inputs,
    /// The wall clock's reading once the recorded ones are used up, when there were none.
    fallback_wall: u64,
    cursor: Mutex<Cursor>,
}

#[derive(Default)]
struct Cursor {
    wall: usize,
    monotonic: usize,
    random: usize,
    insecure: usize,
    /// Which recorded outbound requests were answered.
    answered: Vec<bool>,
    extra_wall: u64,
    extra_monotonic: u64,
    /// When each clock was first read past its recorded readings.
    wall_past_end: Option<std::time::Instant>,
    monotonic_past_end: Option<std::time::Instant>,
    extra_random: u64,
    notes: Vec<String>,
}

/// Most notes one replay keeps about inputs that differ.
const MAX_NOTES: usize = 32;

impl Tape {
    /// Gives the WASI context being built this tape's clocks and generators.
    pub(super) fn configure(&self, builder: &mut wasmtime_wasi::WasiCtxBuilder) {
        match self {
            Tape::Record(recorder) => {
                let seed = recorder.lock().inputs.insecure_seed;
                builder
                    .wall_clock(clocks::RecordingWallClock(recorder.clone()))
                    .monotonic_clock(clocks::RecordingMonotonicClock::new(recorder.clone()))
                    .secure_random(random::TapedRng::new(recorder.clone(), false))
                    .insecure_random(random::TapedRng::new(recorder.clone(), true))
                    .insecure_random_seed(u128::from(seed.0) | (u128::from(seed.1) << 64));
            }
            Tape::Replay(player) => {
                let seed = player.inputs.insecure_seed;
                builder
                    .wall_clock(clocks::PlayingWallClock(player.clone()))
                    .monotonic_clock(clocks::PlayingMonotonicClock(player.clone()))
                    .secure_random(random::TapedRng::new(player.clone(), false))
                    .insecure_random(random::TapedRng::new(player.clone(), true))
                    .insecure_random_seed(u128::from(seed.0) | (u128::from(seed.1) << 64));
            }
        }
    }
}

impl Player {
    /// Plays `inputs` back; `recorded_at` (nanoseconds since the epoch) is what the wall
    /// clock reads when nothing was recorded of it.
    pub fn new(inputs: Inputs, recorded_at: u64) -> Arc<Self> {
        let answered = vec![false; inputs.outbound.len()];
        Arc::new(Player {
            inputs,
            fallback_wall: recorded_at,
            cursor: Mutex::new(Cursor {
                answered,
                ..Cursor::default()
            }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Cursor> {
        self.cursor
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Where the replay asked for inputs the recording does not have, or did not use
    /// what it has.
    pub fn notes(&self) -> Vec<String> {
        let cursor = self.lock();
        let mut notes = cursor.notes.clone();
        let mut extra = |count: u64, what: &str| {
            if count > 0 {
                notes.push(format!("{what} {count} more time(s) than recorded"));
            }
        };
        extra(cursor.extra_wall, "read the wall clock");
        extra(cursor.extra_monotonic, "read the monotonic clock");
        if cursor.extra_random > 0 {
            notes.push(format!(
                "read {} random byte(s) more than recorded",
                cursor.extra_random
            ));
        }
        let answered = cursor.answered.iter().filter(|answered| **answered).count();
        let unused = self.inputs.outbound.len().saturating_sub(answered);
        if unused > 0 {
            notes.push(format!(
                "sent {unused} outbound request(s) fewer than recorded"
            ));
        }
        notes
    }

    fn note(cursor: &mut Cursor, note: String) {
        if cursor.notes.len() < MAX_NOTES {
            cursor.notes.push(note);
        }
    }
}

#[cfg(test)]
mod tests;
