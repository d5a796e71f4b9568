//! The route table: `METHOD /template` → a route, looked up per request.
//!
//! Precedence, as in API Gateway HTTP APIs and Spin: among the routes that accept the
//! request's method, the most specific template wins — a literal segment beats a `{param}`,
//! which beats a greedy `{name+}` tail, segment by segment from the left. For one template,
//! a route for the request's method beats an `ANY` route on the same template.
//!
//! Implementation: one radix tree ([`matchit`]) per method, holding that method's routes
//! plus every `ANY` route, so one tree walk finds the winner. A tree of all templates tells
//! "no such path" (404) from "no such method" (405, with the methods that would match).

use std::collections::HashMap;

use http::Method;

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
    routes: Vec<(MethodFilter, RouteTemplate, T)>,
    /// One tree per method named by some route; each also holds every `ANY` route.
    by_method: HashMap<Method, matchit::Router<usize>>,
    /// `ANY` routes only: used for methods no route names.
    any: matchit::Router<usize>,
    /// Every template once, to tell 404 from 405.
    all: matchit::Router<()>,
    /// Template in tree syntax → template as written, for error messages.
    written: HashMap<String, String>,
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
            routes: Vec::new(),
            by_method: HashMap::new(),
            any: matchit::Router::new(),
            all: matchit::Router::new(),
            written: HashMap::new(),
        }
    }

    /// Adds a route. Fails, leaving the table unchanged, on a duplicate or an ambiguous
    /// template.
    pub fn insert(
        &mut self,
        method: MethodFilter,
        template: RouteTemplate,
        value: T,
    ) -> Result<(), RouteConflict> {
        let tree = template.tree_syntax().to_owned();
        if self
            .routes
            .iter()
            .any(|(m, t, _)| *m == method && t.tree_syntax() == tree)
        {
            return Err(RouteConflict::Duplicate {
                method,
                template: template.as_str().to_owned(),
            });
        }
        // Work on copies, so that a conflict found half-way leaves the table as it was.
        let index = self.routes.len();
        let mut all = self.all.clone();
        let mut by_method = self.by_method.clone();
        let mut any = self.any.clone();
        // Parameter names do not matter to "does some route match this path".
        if !self
            .routes
            .iter()
            .any(|(_, t, _)| t.shape() == template.shape())
        {
            all.insert(template.shape(), ())
                .map_err(|e| self.ambiguity(&template, e))?;
        }
        match &method {
            MethodFilter::One(m) => {
                // A method's tree starts with every `ANY` route.
                let tree_for_method = by_method.entry(m.clone()).or_insert_with(|| any.clone());
                if self
                    .routes
                    .iter()
                    .any(|(rm, rt, _)| *rm == MethodFilter::Any && rt.tree_syntax() == tree)
                {
                    // Same template as an `ANY` route: the method-specific route wins.
                    tree_for_method.remove(tree.clone());
                }
                tree_for_method
                    .insert(tree.clone(), index)
                    .map_err(|e| self.ambiguity(&template, e))?;
            }
            MethodFilter::Any => {
                any.insert(tree.clone(), index)
                    .map_err(|e| self.ambiguity(&template, e))?;
                for (m, tree_for_method) in by_method.iter_mut() {
                    let overridden = self.routes.iter().any(|(rm, rt, _)| {
                        *rm == MethodFilter::One(m.clone()) && rt.tree_syntax() == tree
                    });
                    if !overridden {
                        tree_for_method
                            .insert(tree.clone(), index)
                            .map_err(|e| self.ambiguity(&template, e))?;
                    }
                }
            }
        }
        self.all = all;
        self.by_method = by_method;
        self.any = any;
        self.written.insert(tree, template.as_str().to_owned());
        self.routes.push((method, template, value));
        Ok(())
    }

    fn ambiguity(&self, template: &RouteTemplate, error: matchit::InsertError) -> RouteConflict {
        let existing = match &error {
            matchit::InsertError::Conflict { with } => self
                .written
                .get(with)
                .cloned()
                .unwrap_or_else(|| with.clone()),
            other => other.to_string(),
        };
        RouteConflict::Ambiguous {
            template: template.as_str().to_owned(),
            existing,
        }
    }

    /// Finds the route for a request. `path` is the raw URI path: percent-encoded unreserved
    /// characters are decoded before matching (so `/users/m%65` is `/users/me`), and the
    /// rest after, so that an encoded `/` (`%2F`) stays inside one parameter.
    pub fn lookup(&self, method: &Method, path: &str) -> Lookup<'_, T> {
        let path = decode_unreserved(path);
        let path = path.as_ref();
        let tree = self.by_method.get(method).unwrap_or(&self.any);
        match tree.at(path) {
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
                    route: &self.routes[*found.value].2,
                    params,
                }
            }
            Err(_) if self.all.at(path).is_ok() => {
                let mut allow: Vec<Method> = self
                    .by_method
                    .iter()
                    .filter(|(_, tree)| tree.at(path).is_ok())
                    .map(|(m, _)| m.clone())
                    .collect();
                allow.sort_by(|a, b| a.as_str().cmp(b.as_str()));
                Lookup::MethodNotAllowed { allow }
            }
            Err(_) => Lookup::NotFound,
        }
    }

    /// Every route, in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = (&MethodFilter, &RouteTemplate, &T)> {
        self.routes.iter().map(|(m, t, v)| (m, t, v))
    }

    /// The number of routes.
    pub fn len(&self) -> usize {
        self.routes.len()
    }

    /// Whether the table has no routes.
    pub fn is_empty(&self) -> bool {
        self.routes.is_empty()
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
