//! What a route runs: a module (`module = "name@alias"`), an upstream HTTP service
//! (`proxy = "http://…"`, `config/proxy.rs`) or a fixed answer
//! (`mock = { status = 200, body = "ok", headers = { … } }`), as written and as validated.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use serde::{Deserialize, Serialize};

use super::{ProxySpec, Target};

/// The largest mock body (it is stored with the route).
pub const MAX_MOCK_BODY: usize = 64 * 1024;
/// The most headers a mock answers with.
const MAX_MOCK_HEADERS: usize = 50;
/// Headers the server writes itself from the body and the connection.
const FRAMING_HEADERS: [&str; 6] = [
    "content-length",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "upgrade",
    "trailer",
];

/// A mock integration as written.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MockConfig {
    /// The status (default 200).
    #[serde(default = "ok")]
    pub status: u16,
    /// The body (default empty).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub body: String,
    /// Response headers.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
}

fn ok() -> u16 {
    200
}

/// A validated mock: the response it answers.
#[derive(Debug, Clone, PartialEq)]
pub struct MockSpec {
    /// Its status.
    pub status: StatusCode,
    /// Its headers.
    pub headers: HeaderMap,
    /// Its body.
    pub body: Bytes,
}

/// What a route runs, validated.
#[derive(Debug, Clone, PartialEq)]
pub enum Integration {
    /// A module version (`name`, `name@3`, `name@alias`).
    Module(Target),
    /// An upstream HTTP service.
    Proxy(Arc<ProxySpec>),
    /// A fixed answer.
    Mock(Arc<MockSpec>),
}

impl Integration {
    /// The module it runs, if it runs one.
    pub fn module(&self) -> Option<&Target> {
        match self {
            Integration::Module(target) => Some(target),
            Integration::Proxy(_) | Integration::Mock(_) => None,
        }
    }
}

impl std::fmt::Display for Integration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Integration::Module(target) => target.fmt(f),
            Integration::Proxy(proxy) => write!(f, "proxy {}://{}", proxy.scheme, proxy.authority),
            Integration::Mock(mock) => write!(f, "mock {}", mock.status.as_u16()),
        }
    }
}

impl MockConfig {
    /// Checks the status, the headers and the body's size; each problem's key is
    /// `mock.{field}`.
    pub fn validate(&self, problem: &mut impl FnMut(&str, String)) -> Option<MockSpec> {
        let status = StatusCode::from_u16(self.status)
            .ok()
            .filter(|status| (200..=599).contains(&status.as_u16()));
        if status.is_none() {
            problem(
                "mock.status",
                format!("{} is not a final HTTP status (200 to 599)", self.status),
            );
        }
        if self.body.len() > MAX_MOCK_BODY {
            problem(
                "mock.body",
                format!("a mock body is at most {} KiB", MAX_MOCK_BODY / 1024),
            );
        }
        let mut headers = HeaderMap::new();
        if self.headers.len() > MAX_MOCK_HEADERS {
            problem(
                "mock.headers",
                format!("at most {MAX_MOCK_HEADERS} headers"),
            );
        }
        for (name, value) in &self.headers {
            let parsed = HeaderName::from_bytes(name.as_bytes());
            let Ok(parsed) = parsed else {
                problem("mock.headers", format!("`{name}` is not a header name"));
                continue;
            };
            if FRAMING_HEADERS.contains(&parsed.as_str()) {
                problem(
                    "mock.headers",
                    format!("`{name}` is written by the server from the body; leave it out"),
                );
                continue;
            }
            match HeaderValue::from_str(value) {
                Ok(value) => {
                    headers.append(parsed, value);
                }
                Err(_) => problem(
                    "mock.headers",
                    format!("the value of `{name}` has characters a header cannot hold"),
                ),
            }
        }
        Some(MockSpec {
            status: status?,
            headers,
            body: Bytes::from(self.body.clone()),
        })
    }
}
