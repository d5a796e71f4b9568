//! The HTTP proxy integration on the wire: the request goes to the route's upstream (its
//! URL fixed by configuration, the path parameters substituted and percent-encoded again,
//! the client's query appended), its body streamed, with hop-by-hop headers dropped,
//! `X-Forwarded-For/-Proto/-Host` set from what the gateway knows, and the route's header
//! rewrites applied; the upstream's response streams back the same way.
//!
//! The client is `reqwest` (hyper-util's pooled client underneath: keep-alive, HTTP/1.1 and
//! h2 by ALPN, TLS verified against the system's roots), one per worker thread so a
//! connection is driven by the runtime of the worker that uses it. Upstreams are the
//! operator's: the guests' outbound allow-list does not apply, and environment proxies
//! (`HTTP_PROXY`) are not used.

use std::time::Duration;

use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http_body_util::{BodyDataStream, BodyExt};
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};

use super::body::RequestBody;
use super::rejection::{Rejection, UpstreamFailure};
use super::request::RequestCtx;
use crate::config::{HOP_BY_HOP, PathPiece, ProxySpec, RewriteSpec};
use crate::server::response::ResponseBody;

/// Longest a connection to an upstream may take to open.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long an idle pooled connection is kept.
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(90);

/// What a path segment keeps as it is (RFC 3986 `pchar` less the sub-delimiters a server
/// may read specially); everything else is percent-encoded.
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'[')
    .add(b'\\')
    .add(b']')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");

thread_local! {
    static CLIENT: Result<reqwest::Client, String> = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(CONNECT_TIMEOUT)
        .pool_idle_timeout(POOL_IDLE_TIMEOUT)
        .build()
        .map_err(|error| error.to_string());
}

/// Sends `request` to the route's upstream and returns its response; no answer within
/// what is left of the request's deadline → 504 (naming the time the request was given,
/// as a handler's timeout does), none at all → 502.
pub(super) async fn forward(
    spec: &ProxySpec,
    ctx: &RequestCtx,
    request: hyper::Request<RequestBody>,
) -> Result<hyper::Response<ResponseBody>, Rejection> {
    let left = ctx.deadline.remaining();
    let client = CLIENT
        .with(Clone::clone)
        .map_err(|error| Rejection::Upstream(UpstreamFailure::Failed(error)))?;
    let (parts, body) = request.into_parts();
    let url = upstream_url(spec, &ctx.params, parts.uri.query());
    let headers = upstream_headers(&parts, ctx, &spec.request_headers);
    let mut upstream = client.request(parts.method, url).headers(headers);
    if !http_body::Body::is_end_stream(&body) {
        upstream = upstream.body(reqwest::Body::wrap_stream(BodyDataStream::new(body)));
    }
    let response = match tokio::time::timeout(left, upstream.send()).await {
        Err(_) => {
            let given = ctx.deadline.budget;
            return Err(Rejection::Upstream(UpstreamFailure::Timeout(given)));
        }
        Ok(Err(error)) => {
            tracing::warn!(request_id = ctx.id.as_str(), upstream = %spec.authority, %error, "upstream request failed");
            let failure = if error.is_connect() {
                UpstreamFailure::Unreachable
            } else {
                UpstreamFailure::Failed("the upstream's answer broke off".into())
            };
            return Err(Rejection::Upstream(failure));
        }
        Ok(Ok(response)) => response,
    };
    let mut response = http::Response::<reqwest::Body>::from(response);
    strip_hop_by_hop(response.headers_mut());
    rewrite(response.headers_mut(), &spec.response_headers);
    Ok(response.map(|body| {
        body.map_err(|_| wasmtime_wasi_http::Error::HttpResponseIncomplete)
            .boxed_unsync()
    }))
}

/// The upstream URL: the template with the route's (decoded) parameters encoded again,
/// then the client's query.
fn upstream_url(spec: &ProxySpec, params: &[(String, String)], query: Option<&str>) -> String {
    let value = |name: &str| {
        params
            .iter()
            .find(|(param, _)| param == name)
            .map_or("", |(_, value)| value.as_str())
    };
    let mut url = format!("{}://{}", spec.scheme, spec.authority);
    for piece in &spec.path {
        match piece {
            PathPiece::Text(text) => url.push_str(text),
            PathPiece::Param(name) => url.extend(utf8_percent_encode(value(name), SEGMENT)),
            PathPiece::Tail(name) => {
                // The tail's slashes separate segments; each segment is encoded.
                for (i, segment) in value(name).split('/').enumerate() {
                    if i > 0 {
                        url.push('/');
                    }
                    url.extend(utf8_percent_encode(segment, SEGMENT));
                }
            }
        }
    }
    if let Some(query) = query.filter(|query| !query.is_empty()) {
        url.push(if url.contains('?') { '&' } else { '?' });
        url.push_str(query);
    }
    url
}

/// The request's headers for the upstream: no hop-by-hop or `Host` (the client writes the
/// upstream's), the forwarding headers from what the gateway knows (whatever the client
/// sent in them), then the route's rewrite.
fn upstream_headers(
    parts: &http::request::Parts,
    ctx: &RequestCtx,
    rewrite_spec: &RewriteSpec,
) -> HeaderMap {
    let mut headers = parts.headers.clone();
    let host = parts.headers.get(header::HOST).cloned().or_else(|| {
        parts
            .uri
            .authority()
            .and_then(|a| HeaderValue::from_str(a.as_str()).ok())
    });
    strip_hop_by_hop(&mut headers);
    for name in [
        header::HOST,
        header::FORWARDED,
        X_FORWARDED_FOR,
        X_FORWARDED_PROTO,
        X_FORWARDED_HOST,
    ] {
        headers.remove(name);
    }
    if let Some(ip) = ctx.client_ip
        && let Ok(value) = HeaderValue::from_str(&ip.to_string())
    {
        headers.insert(X_FORWARDED_FOR, value);
    }
    let proto = if ctx.over_tls { "https" } else { "http" };
    headers.insert(X_FORWARDED_PROTO, HeaderValue::from_static(proto));
    if let Some(host) = host {
        headers.insert(X_FORWARDED_HOST, host);
    }
    rewrite(&mut headers, rewrite_spec);
    headers
}

/// Removes the headers of one connection: the standard hop-by-hop ones and those its
/// `Connection` header names.
fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    for name in named {
        headers.remove(name);
    }
    for name in HOP_BY_HOP {
        headers.remove(name);
    }
}

/// Removes, then sets.
fn rewrite(headers: &mut HeaderMap, spec: &RewriteSpec) {
    for name in &spec.remove {
        headers.remove(name);
    }
    for (name, value) in &spec.set {
        headers.insert(name.clone(), value.clone());
    }
}
