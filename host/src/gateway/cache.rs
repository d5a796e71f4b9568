//! The response cache of routes with `cache = {…}`: `GET` (and `HEAD`) responses kept in
//! memory, bounded by bytes (`moka`, each entry weighed by its key, headers and body), each
//! for its route's TTL or less (`Cache-Control: max-age`).
//!
//! A key is the route's scope (its id and the versions it runs, so a deploy is seen at
//! once), the raw path, the configured query parameters and headers, and the principal its
//! authorizer allowed (one caller never gets another's response). Only a complete `200`
//! whose body fits [`MAX_ENTRY_BYTES`] is kept, and never one marked `no-store` or
//! `private`, or one that sets a cookie. Clients cannot bypass or refresh entries (that
//! would let anyone push load through to the backend); the admin API invalidates them.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{StatusCode, request::Parts};
use http_body::Body;
use sha2::{Digest, Sha256};

use crate::config::CacheSpec;
use crate::server::response::{BodyWatcher, ResponseBody, full_body, watch_body};

/// The bytes all cached responses may take together.
pub const CAPACITY_BYTES: u64 = 64 << 20;
/// The largest response body kept.
pub const MAX_ENTRY_BYTES: usize = 1 << 20;
/// `x-cache: hit` or `miss`.
pub const X_CACHE: HeaderName = HeaderName::from_static("x-cache");

/// One kept response.
#[derive(Debug)]
pub(super) struct CachedResponse {
    /// What it answers, with its `ETag`.
    pub headers: HeaderMap,
    pub body: Bytes,
    pub etag: HeaderValue,
    /// The version that made it (`x-wasmgate-version`).
    pub version: Option<HeaderValue>,
    /// The route's id and the raw path, for invalidation.
    pub route_id: Arc<str>,
    pub path: Arc<str>,
    stored: Instant,
    ttl: Duration,
}

/// Every route's kept responses.
pub struct ResponseCache {
    entries: moka::sync::Cache<Arc<str>, Arc<CachedResponse>>,
}

/// Each entry lives for its own TTL.
struct EntryTtl;

impl moka::Expiry<Arc<str>, Arc<CachedResponse>> for EntryTtl {
    fn expire_after_create(
        &self,
        _: &Arc<str>,
        value: &Arc<CachedResponse>,
        _: std::time::Instant,
    ) -> Option<Duration> {
        Some(value.ttl)
    }
}

impl Default for ResponseCache {
    fn default() -> Self {
        let entries = moka::sync::Cache::builder()
            .max_capacity(CAPACITY_BYTES)
            .weigher(|key: &Arc<str>, value: &Arc<CachedResponse>| {
                let headers: usize = (value.headers.iter())
                    .map(|(name, value)| name.as_str().len() + value.len() + 32)
                    .sum();
                u32::try_from(key.len() + headers + value.body.len() + 256).unwrap_or(u32::MAX)
            })
            .expire_after(EntryTtl)
            .support_invalidation_closures()
            .build();
        ResponseCache { entries }
    }
}

impl ResponseCache {
    /// The response kept under `key`, if any.
    pub(super) fn get(&self, key: &str) -> Option<Arc<CachedResponse>> {
        self.entries.get(key)
    }

    /// Forgets the responses of route `route_id` (only those for `path`, if given).
    pub fn invalidate(&self, route_id: &str, path: Option<&str>) {
        let (route_id, path): (Arc<str>, Option<Arc<str>>) =
            (route_id.into(), path.map(Into::into));
        // Invalidation closures are supported by the builder; this cannot fail.
        let _ = self.entries.invalidate_entries_if(move |_, entry| {
            entry.route_id == route_id && path.as_ref().is_none_or(|path| entry.path == *path)
        });
        self.entries.run_pending_tasks();
    }

    /// The bytes kept now (as weighed).
    pub fn bytes(&self) -> u64 {
        self.entries.run_pending_tasks();
        self.entries.weighted_size()
    }
}

/// The key of a request on a route with `spec` under `scope`, for `principal`.
pub(super) fn key(
    scope: &str,
    spec: &CacheSpec,
    parts: &Parts,
    principal: Option<&str>,
) -> Arc<str> {
    let mut key = String::with_capacity(scope.len() + parts.uri.path().len() + 16);
    key.push_str(scope);
    key.push('\n');
    key.push_str(parts.uri.path());
    if !spec.query.is_empty() {
        let pairs: Vec<(String, String)> =
            form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes())
                .filter(|(name, _)| spec.query.iter().any(|wanted| wanted == name))
                .map(|(name, value)| (name.into_owned(), value.into_owned()))
                .collect();
        for wanted in &spec.query {
            for (_, value) in pairs.iter().filter(|(name, _)| name == wanted) {
                key.push_str(&format!("\n?{}={}", wanted.len(), value.len()));
                key.push_str(wanted);
                key.push_str(value);
            }
        }
    }
    for name in &spec.headers {
        for value in parts.headers.get_all(name) {
            key.push_str(&format!("\n:{}={}", name.as_str().len(), value.len()));
            key.push_str(name.as_str());
            key.push_str(&String::from_utf8_lossy(value.as_bytes()));
        }
    }
    if let Some(principal) = principal {
        key.push_str(&format!("\n@{}", principal.len()));
        key.push_str(principal);
    }
    Arc::from(key)
}

/// The response to a request a kept response answers: 304 when its `If-None-Match` names
/// the kept `ETag`.
pub(super) fn answer(entry: &CachedResponse, request: &HeaderMap) -> hyper::Response<ResponseBody> {
    let not_modified = request
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|tag| {
            let tag = tag.trim();
            tag == "*" || tag.trim_start_matches("W/") == entry.etag.to_str().unwrap_or("")
        });
    let mut response = if not_modified {
        let mut response = hyper::Response::new(full_body(Bytes::new()));
        *response.status_mut() = StatusCode::NOT_MODIFIED;
        response
            .headers_mut()
            .insert(header::ETAG, entry.etag.clone());
        response
    } else {
        let mut response = hyper::Response::new(full_body(entry.body.clone()));
        *response.headers_mut() = entry.headers.clone();
        response
    };
    let headers = response.headers_mut();
    headers.insert(X_CACHE, HeaderValue::from_static("hit"));
    headers.insert(
        header::AGE,
        HeaderValue::from(entry.stored.elapsed().as_secs()),
    );
    response
}

/// What a miss's response needs to be kept when its body ends.
pub(super) struct Pending {
    pub cache: Arc<ResponseCache>,
    pub key: Arc<str>,
    pub route_id: Arc<str>,
    pub path: Arc<str>,
    pub ttl: Duration,
    pub version: Option<HeaderValue>,
}

/// Marks a miss's response, and keeps it (as its body streams to the client) when it may
/// be kept.
pub(super) fn keep(
    pending: Pending,
    mut response: hyper::Response<ResponseBody>,
) -> hyper::Response<ResponseBody> {
    response
        .headers_mut()
        .insert(X_CACHE, HeaderValue::from_static("miss"));
    let Some(ttl) = keepable_for(&response, pending.ttl) else {
        return response;
    };
    let headers = response.headers().clone();
    let keeper = Keeper {
        collected: BytesMut::new(),
        store: Some((Pending { ttl, ..pending }, headers)),
    };
    response.map(|body| watch_body(body, keeper))
}

/// How long `response` may be kept: `None` if not at all.
fn keepable_for(response: &hyper::Response<ResponseBody>, ttl: Duration) -> Option<Duration> {
    let headers = response.headers();
    if response.status() != StatusCode::OK || headers.contains_key(header::SET_COOKIE) {
        return None;
    }
    let mut ttl = ttl;
    for directive in headers
        .get_all(header::CACHE_CONTROL)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(|directive| directive.trim().to_ascii_lowercase())
    {
        if directive == "no-store" || directive == "private" || directive == "no-cache" {
            return None;
        }
        if let Some(seconds) = directive.strip_prefix("max-age=") {
            let seconds: u64 = seconds.trim_matches('"').parse().ok()?;
            ttl = ttl.min(Duration::from_secs(seconds));
        }
    }
    let fits = Body::size_hint(response.body())
        .upper()
        .is_none_or(|upper| upper <= MAX_ENTRY_BYTES as u64);
    (fits && !ttl.is_zero()).then_some(ttl)
}

/// Collects a response body as it is sent; keeps it when it ended whole.
struct Keeper {
    collected: BytesMut,
    /// Taken when kept, or dropped once it can no longer be.
    store: Option<(Pending, HeaderMap)>,
}

impl BodyWatcher for Keeper {
    fn sent(&mut self, data: &[u8], end: bool) {
        if self.collected.len() + data.len() > MAX_ENTRY_BYTES {
            self.store = None;
            self.collected = BytesMut::new();
        } else if self.store.is_some() {
            self.collected.extend_from_slice(data);
        }
        if end {
            self.finish();
        }
    }

    fn failed(&mut self) {
        self.store = None;
    }
}

impl Keeper {
    /// The body ended whole: keep it.
    fn finish(&mut self) {
        let Some((pending, mut headers)) = self.store.take() else {
            return;
        };
        let body = std::mem::take(&mut self.collected).freeze();
        let etag = match headers.get(header::ETAG) {
            Some(etag) => etag.clone(),
            None => {
                let digest = Sha256::digest(&body);
                let etag = format!("\"{}\"", hex::encode(&digest[..16]));
                let etag = HeaderValue::from_str(&etag).unwrap_or(HeaderValue::from_static("\"\""));
                headers.insert(header::ETAG, etag.clone());
                etag
            }
        };
        headers.remove(X_CACHE);
        let entry = CachedResponse {
            headers,
            body,
            etag,
            version: pending.version,
            route_id: pending.route_id,
            path: pending.path,
            stored: Instant::now(),
            ttl: pending.ttl,
        };
        pending.cache.entries.insert(pending.key, Arc::new(entry));
    }
}
