//! An HTTP proxy integration as written (`proxy = "http://orders:8080/v1/{proxy}"`, or a
//! table with header rewrites), validated into a [`ProxySpec`]: the upstream's scheme and
//! authority, fixed by configuration, and a path template whose `{name}` placeholders take
//! the route's path parameters.

use std::collections::BTreeMap;

use http::uri::{Authority, Scheme};
use http::{HeaderName, HeaderValue};
use serde::{Deserialize, Serialize};

/// Most headers one rewrite sets or removes.
const MAX_REWRITES: usize = 50;
/// The longest upstream URL template.
const MAX_URL_LEN: usize = 2048;
/// Headers that belong to one connection or to the body's framing: never set by a rewrite.
pub const HOP_BY_HOP: [&str; 9] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// A proxy integration as written: the upstream URL, or a table with header rewrites.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(untagged)]
pub enum ProxyConfig {
    /// `proxy = "http://orders:8080/v1/{proxy}"`.
    Url(String),
    /// `proxy = { url = "…", request_headers = { … }, response_headers = { … } }`.
    Table(ProxyTable),
}

/// The table form of a proxy integration.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ProxyTable {
    /// The upstream URL template.
    pub url: String,
    /// Changes to the request's headers before it goes upstream.
    #[serde(default, skip_serializing_if = "HeaderRewrite::is_empty")]
    pub request_headers: HeaderRewrite,
    /// Changes to the upstream's response headers.
    #[serde(default, skip_serializing_if = "HeaderRewrite::is_empty")]
    pub response_headers: HeaderRewrite,
}

/// Headers to remove, then headers to set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HeaderRewrite {
    /// Names to remove.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub remove: Vec<String>,
    /// Names and the values they get (replacing any).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub set: BTreeMap<String, String>,
}

impl HeaderRewrite {
    fn is_empty(&self) -> bool {
        self.remove.is_empty() && self.set.is_empty()
    }
}

/// A validated header rewrite.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RewriteSpec {
    /// Removed first.
    pub remove: Vec<HeaderName>,
    /// Then set.
    pub set: Vec<(HeaderName, HeaderValue)>,
}

/// One piece of the upstream path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathPiece {
    /// Written as is.
    Text(String),
    /// The value of the route's path parameter of this name, percent-encoded again (a `/`
    /// in it too).
    Param(String),
    /// The value of the route's greedy parameter: each of its `/`-separated segments
    /// percent-encoded again.
    Tail(String),
}

/// A validated proxy integration.
#[derive(Debug, Clone, PartialEq)]
pub struct ProxySpec {
    /// `http` or `https`.
    pub scheme: Scheme,
    /// Host and port.
    pub authority: Authority,
    /// The path (and a fixed query, if the template has one) with its placeholders.
    pub path: Vec<PathPiece>,
    /// Request header changes.
    pub request_headers: RewriteSpec,
    /// Response header changes.
    pub response_headers: RewriteSpec,
}

impl ProxyConfig {
    /// Checks the URL template against the route's parameter names (`params`) and the
    /// rewrites; each problem's key is `proxy` or `proxy.{field}`.
    pub fn validate(
        &self,
        params: &[&str],
        greedy: Option<&str>,
        problem: &mut impl FnMut(&str, String),
    ) -> Option<ProxySpec> {
        let (url, request, response) = match self {
            ProxyConfig::Url(url) => (url, None, None),
            ProxyConfig::Table(table) => (
                &table.url,
                Some(&table.request_headers),
                Some(&table.response_headers),
            ),
        };
        let request_headers = request
            .map(|rewrite| rewrite.validate("proxy.request_headers", problem))
            .unwrap_or_default();
        let response_headers = response
            .map(|rewrite| rewrite.validate("proxy.response_headers", problem))
            .unwrap_or_default();
        let key = if matches!(self, ProxyConfig::Url(_)) {
            "proxy"
        } else {
            "proxy.url"
        };
        let (scheme, authority, path) = parse_url(url, params, greedy)
            .map_err(|message| problem(key, message))
            .ok()?;
        Some(ProxySpec {
            scheme,
            authority,
            path,
            request_headers,
            response_headers,
        })
    }
}

impl HeaderRewrite {
    fn validate(&self, key: &str, problem: &mut impl FnMut(&str, String)) -> RewriteSpec {
        let mut spec = RewriteSpec::default();
        if self.remove.len() > MAX_REWRITES || self.set.len() > MAX_REWRITES {
            problem(
                key,
                format!("at most {MAX_REWRITES} headers to remove and to set"),
            );
            return spec;
        }
        let mut name = |text: &str| match HeaderName::from_bytes(text.as_bytes()) {
            Ok(name) if HOP_BY_HOP.contains(&name.as_str()) || name == http::header::HOST => {
                problem(
                    key,
                    format!("`{text}` is the connection's, set by the gateway; leave it out"),
                );
                None
            }
            Ok(name) => Some(name),
            Err(_) => {
                problem(key, format!("`{text}` is not a header name"));
                None
            }
        };
        spec.remove = self.remove.iter().filter_map(|text| name(text)).collect();
        let mut set = Vec::new();
        for (text, value) in &self.set {
            if let Some(name) = name(text) {
                set.push((name, value));
            }
        }
        for (name, value) in set {
            match HeaderValue::from_str(value) {
                Ok(value) => spec.set.push((name, value)),
                Err(_) => problem(
                    key,
                    format!("the value of `{name}` has characters a header cannot hold"),
                ),
            }
        }
        spec
    }
}

/// Splits `scheme://authority/path` and finds the path's placeholders.
fn parse_url(
    url: &str,
    params: &[&str],
    greedy: Option<&str>,
) -> Result<(Scheme, Authority, Vec<PathPiece>), String> {
    if url.len() > MAX_URL_LEN {
        return Err(format!(
            "an upstream URL is at most {MAX_URL_LEN} characters"
        ));
    }
    let shape = "write `http://host[:port]/path`, `{name}` standing for the route's path parameter";
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| format!("`{url}` is not a URL: {shape}"))?;
    let scheme = match scheme.to_ascii_lowercase().as_str() {
        "http" => Scheme::HTTP,
        "https" => Scheme::HTTPS,
        other => return Err(format!("the scheme `{other}` is not http or https")),
    };
    let (authority, path) = match rest.find(['/', '?']) {
        Some(at) => rest.split_at(at),
        None => (rest, "/"),
    };
    if authority.contains('@') {
        return Err(
            "credentials in the URL are not supported: set an `authorization` header \
                    in `request_headers`"
                .into(),
        );
    }
    let authority = authority
        .parse::<Authority>()
        .ok()
        .filter(|authority| !authority.host().is_empty())
        .ok_or_else(|| format!("`{url}` has no valid host: {shape}"))?;
    if path.contains('#') {
        return Err(format!("`{url}` has a fragment, which is never sent"));
    }
    let path = if path.starts_with('?') {
        format!("/{path}")
    } else {
        path.to_owned()
    };
    Ok((scheme, authority, path_pieces(&path, params, greedy)?))
}

/// The path's text and `{name}` placeholders, each naming one of `params`.
fn path_pieces(
    path: &str,
    params: &[&str],
    greedy: Option<&str>,
) -> Result<Vec<PathPiece>, String> {
    let mut pieces = Vec::new();
    let mut rest = path;
    while let Some(open) = rest.find('{') {
        let close = rest[open..]
            .find('}')
            .map(|i| open + i)
            .ok_or_else(|| "a `{` in the upstream URL has no `}`".to_owned())?;
        let name = &rest[open + 1..close];
        if !params.contains(&name) {
            return Err(format!(
                "`{{{name}}}` is not a path parameter of the route (it has: {})",
                if params.is_empty() {
                    "none".to_owned()
                } else {
                    params.join(", ")
                }
            ));
        }
        if open > 0 {
            pieces.push(PathPiece::Text(rest[..open].to_owned()));
        }
        pieces.push(if greedy == Some(name) {
            PathPiece::Tail(name.to_owned())
        } else {
            PathPiece::Param(name.to_owned())
        });
        rest = &rest[close + 1..];
    }
    if rest.contains('}') {
        return Err("a `}` in the upstream URL has no `{`".into());
    }
    if !rest.is_empty() {
        pieces.push(PathPiece::Text(rest.to_owned()));
    }
    // What is not a placeholder must be a valid path as it is.
    for piece in &pieces {
        if let PathPiece::Text(text) = piece
            && text.parse::<http::uri::PathAndQuery>().is_err()
        {
            return Err(format!(
                "`{text}` is not valid in a URL path: percent-encode it"
            ));
        }
    }
    Ok(pieces)
}
