//! The live feed behind the admin API's `GET /logs` and `GET /logs/stream` (server-sent
//! events), which `wasmgate logs [--follow]` reads: each request's access record, and the
//! guests' output lines.
//!
//! The last [`RECENT`] access records are kept (their fields, serialised only when read);
//! guest lines, and every record, go to followers as they happen — and cost nothing when no
//! one follows. A follower that falls behind by more than [`FOLLOW_BACKLOG`] events loses
//! the oldest and is told how many.

use std::collections::VecDeque;
use std::net::IpAddr;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::SystemTime;

use serde_json::{Value, json};
use tokio::sync::broadcast;

/// Access records kept for `GET /logs`.
pub const RECENT: usize = 200;

/// Events a follower may fall behind by.
pub const FOLLOW_BACKLOG: usize = 4096;

/// Longest guest line a follower gets, in bytes (longer ones are cut).
const GUEST_LINE_LIMIT: usize = 1024;

/// One request, as the access log records it.
#[derive(Debug, Clone)]
pub struct AccessEvent {
    /// When it ended.
    pub time: SystemTime,
    /// Its id.
    pub request_id: http::HeaderValue,
    /// The client's address.
    pub client: Option<IpAddr>,
    /// Its method.
    pub method: http::Method,
    /// The route's template (`(none)` when no route took it).
    pub route: Arc<str>,
    /// Its path, bounded.
    pub path: String,
    /// The response's status.
    pub status: u16,
    /// The kind of refusal, when the gateway answered itself.
    pub rejection: Option<&'static str>,
    /// Milliseconds from its head to the end of the response.
    pub ms: f64,
    /// The module version that ran it.
    pub version: Option<http::HeaderValue>,
    /// The principal its authorizer allowed.
    pub principal: Option<String>,
}

/// What the feed carries.
#[derive(Debug, Clone)]
pub enum LiveEvent {
    /// A request ended.
    Access(Arc<AccessEvent>),
    /// A guest wrote a line.
    Guest {
        /// The request it handled.
        request_id: Arc<str>,
        /// Its route's template.
        route: Arc<str>,
        /// `stdout` or `stderr`.
        stream: &'static str,
        /// The line (bounded).
        line: String,
    },
}

impl LiveEvent {
    /// The route it belongs to.
    pub fn route(&self) -> &str {
        match self {
            LiveEvent::Access(event) => &event.route,
            LiveEvent::Guest { route, .. } => route,
        }
    }

    /// The response's status (guest lines have none).
    pub fn status(&self) -> Option<u16> {
        match self {
            LiveEvent::Access(event) => Some(event.status),
            LiveEvent::Guest { .. } => None,
        }
    }

    /// As JSON, with a `type` of `access` or `guest`.
    pub fn to_json(&self) -> Value {
        match self {
            LiveEvent::Access(event) => json!({
                "type": "access",
                "time": humantime::format_rfc3339_millis(event.time).to_string(),
                "request_id": event.request_id.to_str().unwrap_or_default(),
                "client": event.client.map(|ip| ip.to_string()),
                "method": event.method.as_str(),
                "route": &*event.route,
                "path": event.path,
                "status": event.status,
                "rejection": event.rejection,
                "ms": event.ms,
                "version": event.version.as_ref().and_then(|v| v.to_str().ok()),
                "principal": event.principal,
            }),
            LiveEvent::Guest {
                request_id,
                route,
                stream,
                line,
            } => json!({
                "type": "guest",
                "request_id": &**request_id,
                "route": &**route,
                "stream": stream,
                "line": line,
            }),
        }
    }
}

struct Feed {
    followers: broadcast::Sender<LiveEvent>,
    recent: Mutex<VecDeque<Arc<AccessEvent>>>,
}

fn feed() -> &'static Feed {
    static FEED: LazyLock<Feed> = LazyLock::new(|| Feed {
        followers: broadcast::channel(FOLLOW_BACKLOG).0,
        recent: Mutex::new(VecDeque::with_capacity(RECENT)),
    });
    &FEED
}

/// Records a request that ended.
pub fn access(event: AccessEvent) {
    let feed = feed();
    let event = Arc::new(event);
    {
        let mut recent = feed.recent.lock().unwrap_or_else(|p| p.into_inner());
        if recent.len() == RECENT {
            recent.pop_front();
        }
        recent.push_back(event.clone());
    }
    if feed.followers.receiver_count() > 0 {
        let _ = feed.followers.send(LiveEvent::Access(event));
    }
}

/// Passes a guest's output line to followers, if any.
pub fn guest_line(request_id: &Arc<str>, route: &Arc<str>, stream: &'static str, line: &str) {
    let feed = feed();
    if feed.followers.receiver_count() == 0 {
        return;
    }
    let mut cut = line.len().min(GUEST_LINE_LIMIT);
    while !line.is_char_boundary(cut) {
        cut -= 1;
    }
    let _ = feed.followers.send(LiveEvent::Guest {
        request_id: request_id.clone(),
        route: route.clone(),
        stream,
        line: line[..cut].to_owned(),
    });
}

/// The access records kept, oldest first.
pub fn recent() -> Vec<Arc<AccessEvent>> {
    let recent = feed().recent.lock().unwrap_or_else(|p| p.into_inner());
    recent.iter().cloned().collect()
}

/// Every event from now on.
pub fn follow() -> broadcast::Receiver<LiveEvent> {
    feed().followers.subscribe()
}
