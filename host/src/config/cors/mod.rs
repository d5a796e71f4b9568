//! Cross-origin resource sharing as written (`cors = { allow_origins = [...], ... }` on a
//! route, or `[gateway] cors` for every route), validated into a [`CorsPolicy`], which
//! answers the Fetch standard's questions: is this origin, this method, are these request
//! headers allowed.

mod origin;

use http::{HeaderName, HeaderValue, Method};
use serde::{Deserialize, Serialize};

pub use origin::{MAX_ORIGIN_LEN, OriginPattern};

use super::{Problem, Setting};

/// Seconds a browser may cache a preflight's answer (Firefox caps it at a day).
pub const MAX_AGE: Setting<u64> = Setting::new(0, 0, 86_400, "s");
/// Most entries in each of the lists.
const MAX_ENTRIES: usize = 100;
/// Most names in one request's `Access-Control-Request-Headers`.
const MAX_REQUESTED_HEADERS: usize = 64;

/// CORS as written.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CorsConfig {
    /// Origins allowed: `https://app.example`, `https://*.example.com`, or `*` for any.
    pub allow_origins: Vec<String>,
    /// Methods a preflight allows (default: any method the path is routed for).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow_methods: Vec<String>,
    /// Request headers a preflight allows besides the CORS-safelisted ones (`*`: any).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow_headers: Vec<String>,
    /// Response headers scripts may read besides the safelisted ones.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expose_headers: Vec<String>,
    /// Whether requests may carry cookies and HTTP authentication (then no `*` anywhere).
    pub allow_credentials: Option<bool>,
    /// Seconds a browser may reuse a preflight's answer (at most 86400).
    pub max_age: Option<u64>,
}

/// A validated CORS configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct CorsPolicy {
    /// `None`: any origin.
    origins: Option<Vec<OriginPattern>>,
    /// `None`: any method the path is routed for.
    methods: Option<Vec<Method>>,
    /// `None`: any request header.
    headers: Option<Vec<HeaderName>>,
    /// `Access-Control-Expose-Headers`, when some are exposed.
    pub expose_headers: Option<HeaderValue>,
    /// Whether `Access-Control-Allow-Credentials: true` is sent.
    pub credentials: bool,
    /// `Access-Control-Max-Age`, when set.
    pub max_age: Option<HeaderValue>,
}

impl CorsConfig {
    /// Checks every list; each problem's key is `{prefix}.{field}`.
    pub fn validate(&self, prefix: &str) -> Result<CorsPolicy, Vec<Problem>> {
        let mut problems = Vec::new();
        let mut problem = |field: &str, message: String| {
            problems.push(Problem::new(format!("{prefix}.{field}"), message));
        };
        let credentials = self.allow_credentials == Some(true);
        let with_credentials = "`*` cannot be combined with `allow_credentials = true` \
                                (browsers refuse it): list the values";
        for (field, list) in [
            ("allow_origins", &self.allow_origins),
            ("allow_methods", &self.allow_methods),
            ("allow_headers", &self.allow_headers),
            ("expose_headers", &self.expose_headers),
        ] {
            if list.len() > MAX_ENTRIES {
                problem(field, format!("at most {MAX_ENTRIES} entries"));
            } else if list.iter().any(|entry| entry == "*") && list.len() > 1 {
                problem(field, "`*` stands for every value: write it alone".into());
            }
        }
        let origins = match self.allow_origins.as_slice() {
            [] => {
                problem(
                    "allow_origins",
                    "list the origins allowed (`https://app.example`), or `*` for any".into(),
                );
                None
            }
            [any] if any == "*" => {
                if credentials {
                    problem("allow_origins", with_credentials.into());
                }
                None
            }
            listed => Some(
                listed
                    .iter()
                    .filter_map(|text| {
                        OriginPattern::parse(text)
                            .map_err(|message| problem("allow_origins", message))
                            .ok()
                    })
                    .collect(),
            ),
        };
        // Each is `Ok(None)` for `*`, and errors were reported as problems.
        let methods = star_or_list(&self.allow_methods, |text| {
            Method::from_bytes(text.as_bytes())
                .ok()
                .filter(|_| text.bytes().all(|b| b.is_ascii_uppercase()))
                .ok_or_else(|| format!("`{text}` is not a method (uppercase, like `PUT`)"))
        })
        .map_err(|message| problem("allow_methods", message));
        let headers = star_or_list(&self.allow_headers, header_name)
            .map_err(|message| problem("allow_headers", message));
        let exposed = star_or_list(&self.expose_headers, header_name)
            .map_err(|message| problem("expose_headers", message));
        if credentials && self.expose_headers.iter().any(|h| h == "*") {
            problem("expose_headers", with_credentials.into());
        }
        let max_age = self
            .max_age
            .map(|age| MAX_AGE.resolve_at("max_age", Some(age), &mut problem));
        if !problems.is_empty() {
            return Err(problems);
        }
        let expose_headers = match exposed {
            Ok(None) => Some(HeaderValue::from_static("*")),
            Ok(Some(names)) if !names.is_empty() => Some(joined(&names)),
            _ => None,
        };
        Ok(CorsPolicy {
            origins,
            // Omitted, like `*`: whatever the path is routed for.
            methods: methods.ok().flatten().filter(|listed| !listed.is_empty()),
            headers: headers.ok().flatten(),
            expose_headers,
            credentials,
            max_age: max_age.map(HeaderValue::from),
        })
    }
}

impl CorsPolicy {
    /// Whether `Access-Control-Allow-Origin: *` answers every origin.
    pub fn any_origin(&self) -> bool {
        self.origins.is_none()
    }

    /// Whether a request from `origin` (its `Origin` header) may read responses.
    pub fn allows_origin(&self, origin: &str) -> bool {
        origin.len() <= MAX_ORIGIN_LEN
            && match &self.origins {
                None => true,
                Some(patterns) => patterns.iter().any(|pattern| pattern.matches(origin)),
            }
    }

    /// Whether a preflight may allow `method` (one the path is routed for).
    pub fn allows_method(&self, method: &Method) -> bool {
        match &self.methods {
            None => true,
            Some(listed) => listed.contains(method),
        }
    }

    /// The `Access-Control-Allow-Headers` answering a preflight's
    /// `Access-Control-Request-Headers`: the names requested, when every one is allowed;
    /// `None` when one is not (or the list is malformed or too long).
    pub fn allowed_request_headers(&self, requested: &str) -> Option<HeaderValue> {
        let mut names = Vec::new();
        for name in requested
            .split(',')
            .map(str::trim)
            .filter(|n| !n.is_empty())
        {
            if names.len() == MAX_REQUESTED_HEADERS {
                return None;
            }
            let name = HeaderName::from_bytes(name.as_bytes()).ok()?;
            if let Some(allowed) = &self.headers
                && !allowed.contains(&name)
            {
                return None;
            }
            names.push(name);
        }
        Some(joined(&names))
    }
}

/// `None` for `["*"]`, else every entry parsed (the first failure's message).
fn star_or_list<T>(
    list: &[String],
    parse: impl Fn(&str) -> Result<T, String>,
) -> Result<Option<Vec<T>>, String> {
    if list.iter().any(|entry| entry == "*") {
        return Ok(None);
    }
    list.iter()
        .map(|entry| parse(entry))
        .collect::<Result<_, _>>()
        .map(Some)
}

fn header_name(text: &str) -> Result<HeaderName, String> {
    HeaderName::from_bytes(text.as_bytes()).map_err(|_| format!("`{text}` is not a header name"))
}

/// `a, b, c` (header names are valid header value bytes).
fn joined(names: &[HeaderName]) -> HeaderValue {
    let text = names
        .iter()
        .map(HeaderName::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    HeaderValue::from_str(&text).expect("header names are visible ASCII")
}

#[cfg(test)]
mod tests;
