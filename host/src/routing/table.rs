//! The route table: `METHOD /template` → a route, looked up per request.
//!
//! Precedence, as in API Gateway HTTP APIs and Spin: among the routes that accept the
//! request's method, the most specific template wins — a literal segment beats a `{param}`,
//! which beats a greedy `{name+}` tail, segment by segment from the left. For one template,
//! a route for the request's method beats an `ANY` route on the same template.
//!
//! A `HEAD` request that no `HEAD` or `ANY` route takes is answered by the `GET` route for
//! its path (the server sends the head without the body), as API Gateway does.
//!
//! Implementation: one radix tree ([`matchit`]) per method, holding that method's routes
//! plus every `ANY` route, so one tree walk finds the winner. A tree of all templates tells
//! "no such path" (404) from "no such method" (405, with the methods that would match).

use std::sync::Arc;

use http::Method;

use super::index::RouteIndex;
use super::template::RouteTemplate;

/// Which request methods a route accepts.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum MethodFilter {
    /// Every method (`ANY` in a manifest).
    Any,
    /// Exactly one method.
    One(Method),
}

impl MethodFilter {
    /// The methods a manifest may name, besides `ANY`.
    pub const ROUTABLE: [Method; 7] = [
        Method::GET,
        Method::HEAD,
        Method::POST,
        Method::PUT,
        Method::DELETE,
        Method::PATCH,
        Method::OPTIONS,
    ];

    /// Parses `GET`, `post`, `ANY`…; `None` for anything else.
    ///
    /// ```
    /// use wasmgate::routing::MethodFilter;
    /// assert_eq!(MethodFilter::parse("get"), Some(MethodFilter::One(http::Method::GET)));
    /// assert_eq!(MethodFilter::parse("ANY"), Some(MethodFilter::Any));
    /// assert_eq!(MethodFilter::parse("FETCH"), None);
    /// ```
    pub fn parse(text: &str) -> Option<Self> {
        let upper = text.to_ascii_uppercase();
        if upper == "ANY" {
            return Some(MethodFilter::Any);
        }
        Self::ROUTABLE
            .into_iter()
            .find(|m| m.as_str() == upper)
            .map(MethodFilter::One)
    }
}

impl std::fmt::Display for MethodFilter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MethodFilter::Any => f.write_str("ANY"),
            MethodFilter::One(m) => f.write_str(m.as_str()),
        }
    }
}

/// Why a route could not be added to the table.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RouteConflict {
    /// The same method and template were given twice.
    #[error("`{method} {template}` is declared twice")]
    Duplicate {
        /// The method of both routes.
        method: MethodFilter,
        /// The template of both routes.
        template: String,
    },
    /// Two templates would match the same paths ambiguously (e.g. `/a/{x}` and `/a/{y}`).
    #[error("`{template}` conflicts with `{existing}`: both match the same paths")]
    Ambiguous {
        /// The template being added.
        template: String,
        /// The template already in the table.
        existing: String,
    },
}

/// The outcome of looking up a request.
#[derive(Debug, PartialEq, Eq)]
pub enum Lookup<'a, T> {
    /// A route accepts the request.
    Found {
        /// The route's value.
        route: &'a T,
        /// Its path parameters, percent-decoded, in template order.
        params: Vec<(String, String)>,
    },
    /// A parameter's percent-decoded bytes are not UTF-8.
    InvalidParam {
        /// The parameter's name.
        name: String,
    },
    /// Routes exist for the path, but none for the method.
    MethodNotAllowed {
        /// The methods that would be accepted, sorted.
        allow: Vec<Method>,
    },
    /// No route has a template matching the path.
    NotFound,
}

/// A route table under construction or ready for lookups.
///
/// ```
/// use wasmgate::routing::{Lookup, MethodFilter, RouteTable};
/// use http::Method;
///
/// let mut table = RouteTable::new();
/// table.insert(MethodFilter::One(Method::GET), "/hello/{name}".parse().unwrap(), "hello").unwrap();
/// match table.lookup(&Method::GET, "/hello/ada%20l") {
///     Lookup::Found { route, params } => {
///         assert_eq!(*route, "hello");
///         assert_eq!(params, [("name".to_string(), "ada l".to_string())]);
///     }
///     other => panic!("{other:?}"),
/// }
/// assert!(matches!(table.lookup(&Method::POST, "/hello/ada"), Lookup::MethodNotAllowed { .. }));
/// assert_eq!(table.lookup(&Method::GET, "/nope"), Lookup::NotFound);
/// ```
#[derive(Debug)]
pub struct RouteTable<T> {
    /// The routes' trees, shared with tables made by [`RouteTable::with_values`].
    index: Arc<RouteIndex>,
    /// Each route's value, by position.
    values: Vec<T>,
}

impl<T> Default for RouteTable<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> RouteTable<T> {
    /// An empty table.
    pub fn new() -> Self {
        RouteTable {
            index: Arc::new(RouteIndex::default()),
            values: Vec::new(),
        }
    }

    /// Adds a route. Fails, leaving the table unchanged, on a duplicate or an ambiguous
    /// template. Adding costs one insertion per tree, whatever the table's size (plus a
    /// copy of the trees when they are shared with another table).
    pub fn insert(
        &mut self,
        method: MethodFilter,
        template: RouteTemplate,
        value: T,
    ) -> Result<(), RouteConflict> {
        Arc::make_mut(&mut self.index).insert(method, template)?;
        self.values.push(value);
        Ok(())
    }

    /// A table of the same routes holding `values` (one per route, in order), sharing this
    /// table's trees: no route is inserted again. `None` when the counts differ.
    pub fn with_values<U>(&self, values: Vec<U>) -> Option<RouteTable<U>> {
        (values.len() == self.values.len()).then(|| RouteTable {
            index: self.index.clone(),
            values,
        })
    }

    /// How many routes, from the first, have these methods and templates in this order.
    pub fn common_prefix<'a>(
        &self,
        routes: impl IntoIterator<Item = (&'a MethodFilter, &'a RouteTemplate)>,
    ) -> usize {
        self.index
            .routes
            .iter()
            .zip(routes)
            .take_while(|((m, t), (method, template))| m == *method && t == *template)
            .count()
    }

    /// Finds the route for a request. `path` is the raw URI path: percent-encoded unreserved
    /// characters are decoded before matching (so `/users/m%65` is `/users/me`), and the
    /// rest after, so that an encoded `/` (`%2F`) stays inside one parameter.
    pub fn lookup(&self, method: &Method, path: &str) -> Lookup<'_, T> {
        let path = decode_unreserved(path);
        let path = path.as_ref();
        let tree = self.index.by_method.get(method).unwrap_or(&self.index.any);
        // A `HEAD` no `HEAD` (or `ANY`) route takes is answered by the `GET` route.
        let found = tree
            .at(path)
            .or_else(|miss| match self.index.by_method.get(&Method::GET) {
                Some(get) if method == Method::HEAD => get.at(path),
                _ => Err(miss),
            });
        match found {
            Ok(found) => {
                let mut params = Vec::with_capacity(found.params.len());
                for (name, raw) in found.params.iter() {
                    match percent_encoding::percent_decode_str(raw).decode_utf8() {
                        Ok(value) => params.push((name.to_owned(), value.into_owned())),
                        Err(_) => {
                            return Lookup::InvalidParam {
                                name: name.to_owned(),
                            };
                        }
                    }
                }
                Lookup::Found {
                    route: &self.values[*found.value],
                    params,
                }
            }
            Err(_) if self.index.all.at(path).is_ok() => {
                let mut allow: Vec<Method> = self
                    .index
                    .by_method
                    .iter()
                    .filter(|(_, tree)| tree.at(path).is_ok())
                    .map(|(m, _)| m.clone())
                    .collect();
                if allow.contains(&Method::GET) && !allow.contains(&Method::HEAD) {
                    allow.push(Method::HEAD);
                }
                allow.sort_by(|a, b| a.as_str().cmp(b.as_str()));
                Lookup::MethodNotAllowed { allow }
            }
            Err(_) => Lookup::NotFound,
        }
    }

    /// Every route, in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = (&MethodFilter, &RouteTemplate, &T)> {
        self.index
            .routes
            .iter()
            .zip(&self.values)
            .map(|((m, t), v)| (m, t, v))
    }

    /// The number of routes.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether the table has no routes.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

/// Decodes `%XX` escapes of unreserved characters (RFC 3986: letters, digits, `-._~`),
/// which mean the same encoded or not; every other escape stays as it is.
fn decode_unreserved(path: &str) -> std::borrow::Cow<'_, str> {
    if !path.contains('%') {
        return std::borrow::Cow::Borrowed(path);
    }
    let bytes = path.as_bytes();
    let mut out = String::with_capacity(path.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = |b: u8| (b as char).to_digit(16);
            if let (Some(hi), Some(lo)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                let decoded = (hi * 16 + lo) as u8;
                if decoded.is_ascii_alphanumeric() || b"-._~".contains(&decoded) {
                    out.push(decoded as char);
                    i += 3;
                    continue;
                }
            }
        }
        // `%` and ASCII bytes map to themselves; a multi-byte char is copied whole.
        let len = utf8_len(bytes[i]);
        out.push_str(&path[i..i + len]);
        i += len;
    }
    std::borrow::Cow::Owned(out)
}

/// Length of the UTF-8 sequence starting with `first`.
fn utf8_len(first: u8) -> usize {
    match first {
        0x00..=0x7f => 1,
        0xc0..=0xdf => 2,
        0xe0..=0xef => 3,
        _ => 4,
    }
}
