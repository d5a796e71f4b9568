//! A route's response cache as written (`cache = { ttl_seconds = 30, query = ["page"],
//! headers = ["accept-language"] }`) and validated: how long a `GET`'s response is kept,
//! and which query parameters and request headers tell cached responses apart.

use std::time::Duration;

use http::HeaderName;
use serde::{Deserialize, Serialize};

use super::Setting;

/// Seconds a cached response is kept (API Gateway's range).
pub const CACHE_TTL_SECONDS: Setting<u64> = Setting::new(300, 1, 3_600, "s");
/// Most query parameters or headers in a cache key.
const MAX_KEY_PARTS: usize = 20;

/// The response cache as written.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CacheConfig {
    /// Seconds a response is kept (1 to 3600, default 300).
    pub ttl_seconds: Option<u64>,
    /// Query parameters whose values are part of the key (others are ignored).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub query: Vec<String>,
    /// Request headers whose values are part of the key.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<String>,
}

/// A validated response cache setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheSpec {
    /// How long a response is kept, at most.
    pub ttl: Duration,
    /// Query parameters in the key, sorted.
    pub query: Vec<String>,
    /// Headers in the key, sorted.
    pub headers: Vec<HeaderName>,
}

impl CacheConfig {
    /// Checks the values; each problem's key is `cache.{field}`.
    pub fn validate(&self, problem: &mut impl FnMut(&str, String)) -> Option<CacheSpec> {
        let ttl = CACHE_TTL_SECONDS.resolve_at("cache.ttl_seconds", self.ttl_seconds, problem);
        let mut ok = true;
        if self.query.len() > MAX_KEY_PARTS || self.headers.len() > MAX_KEY_PARTS {
            problem(
                "cache",
                format!("at most {MAX_KEY_PARTS} query parameters and {MAX_KEY_PARTS} headers"),
            );
            ok = false;
        }
        let mut query = self.query.clone();
        if query.iter().any(|name| name.is_empty() || name.len() > 128) {
            problem(
                "cache.query",
                "a parameter name is 1 to 128 characters".into(),
            );
            ok = false;
        }
        query.sort();
        query.dedup();
        let mut headers = Vec::new();
        for name in &self.headers {
            match HeaderName::from_bytes(name.as_bytes()) {
                Ok(name) => headers.push(name),
                Err(_) => {
                    problem("cache.headers", format!("`{name}` is not a header name"));
                    ok = false;
                }
            }
        }
        headers.sort_by(|a, b| a.as_str().cmp(b.as_str()));
        headers.dedup();
        ok.then(|| CacheSpec {
            ttl: Duration::from_secs(ttl),
            query,
            headers,
        })
    }
}
