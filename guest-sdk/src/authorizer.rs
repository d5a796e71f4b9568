//! [`AuthRequest`] and [`Decision`]: what a custom authorizer receives and answers (see
//! `#[authorizer]`).

use std::fmt::Display;

/// Which kind of authorizer a route runs this as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthorizerKind {
    /// One identity source (a header, by default `Authorization`), passed as the token.
    Token,
    /// Any set of identity sources (headers, query or path parameters, source IP).
    Request,
}

/// What an authorizer sees of a request.
///
/// ```
/// use wasmgate_sdk::{AuthRequest, AuthorizerKind};
///
/// let req = AuthRequest {
///     kind: AuthorizerKind::Token,
///     token: Some("Bearer abc".into()),
///     method: "GET".into(),
///     path: "/orders/7".into(),
///     route: "/orders/{id}".into(),
///     path_params: vec![("id".into(), "7".into())],
///     headers: vec![("x-tenant".into(), "acme".into())],
///     query: vec![],
///     source_ip: "10.0.0.1".into(),
///     request_id: "r-1".into(),
/// };
/// assert_eq!(req.bearer_token(), Some("abc"));
/// assert_eq!(req.header("X-Tenant"), Some("acme"));
/// assert_eq!(req.param("id"), Some("7"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthRequest {
    /// Token or request authorizer.
    pub kind: AuthorizerKind,
    /// For a token authorizer, the identity source's value (e.g. `Bearer …`).
    pub token: Option<String>,
    /// The request method.
    pub method: String,
    /// The path as sent (still percent-encoded), without the query.
    pub path: String,
    /// The matched route's template.
    pub route: String,
    /// The route's path parameters, decoded.
    pub path_params: Vec<(String, String)>,
    /// Request headers, names lowercased.
    pub headers: Vec<(String, String)>,
    /// Query parameters, decoded.
    pub query: Vec<(String, String)>,
    /// The client's IP address.
    pub source_ip: String,
    /// The gateway's id for this request.
    pub request_id: String,
}

impl AuthRequest {
    /// A header's value (case-insensitive name).
    ///
    /// See [`AuthRequest`] for an example.
    pub fn header(&self, name: &str) -> Option<&str> {
        find(&self.headers, |key| key.eq_ignore_ascii_case(name))
    }

    /// A query parameter's first value.
    ///
    /// ```
    /// # let mut req = wasmgate_sdk::AuthRequest { kind: wasmgate_sdk::AuthorizerKind::Request, token: None, method: "GET".into(), path: "/".into(), route: "/".into(), path_params: vec![], headers: vec![], query: vec![], source_ip: String::new(), request_id: String::new() };
    /// req.query.push(("key".into(), "k1".into()));
    /// assert_eq!(req.query("key"), Some("k1"));
    /// ```
    pub fn query(&self, name: &str) -> Option<&str> {
        find(&self.query, |key| key == name)
    }

    /// A path parameter of the route.
    ///
    /// See [`AuthRequest`] for an example.
    pub fn param(&self, name: &str) -> Option<&str> {
        find(&self.path_params, |key| key == name)
    }

    /// The token without a leading `Bearer ` (case-insensitive), if there is a token.
    ///
    /// See [`AuthRequest`] for an example.
    pub fn bearer_token(&self) -> Option<&str> {
        let token = self.token.as_deref()?.trim();
        Some(match token.get(..7) {
            Some(prefix) if prefix.eq_ignore_ascii_case("bearer ") => token[7..].trim(),
            _ => token,
        })
    }
}

fn find(pairs: &[(String, String)], matches: impl Fn(&str) -> bool) -> Option<&str> {
    pairs
        .iter()
        .find(|(key, _)| matches(key))
        .map(|(_, value)| value.as_str())
}

/// An authorizer's answer.
///
/// ```
/// use wasmgate_sdk::Decision;
///
/// let yes = Decision::allow("user-42").with_context("tier", "gold").with_ttl(60);
/// assert!(yes.allow);
/// assert_eq!(yes.context, [("tier".to_string(), "gold".to_string())]);
/// assert!(!Decision::deny().allow);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// Whether the handler may run.
    pub allow: bool,
    /// Who the caller is (the handler reads it with `Request::principal`).
    pub principal_id: String,
    /// Facts passed on to the handler (`Request::authorizer_context`).
    pub context: Vec<(String, String)>,
    /// How long the gateway may reuse this decision for the same identity, in seconds;
    /// `None`: the authorizer's configured TTL; `Some(0)`: never.
    pub ttl_seconds: Option<u32>,
}

impl Decision {
    /// Allows the request as `principal`.
    ///
    /// See [`Decision`] for an example.
    pub fn allow(principal: impl Into<String>) -> Self {
        Decision {
            allow: true,
            principal_id: principal.into(),
            context: Vec::new(),
            ttl_seconds: None,
        }
    }

    /// Denies the request (the client gets 403).
    ///
    /// See [`Decision`] for an example.
    pub fn deny() -> Self {
        Decision {
            allow: false,
            principal_id: String::new(),
            context: Vec::new(),
            ttl_seconds: None,
        }
    }

    /// Adds a context entry for the handler.
    ///
    /// See [`Decision`] for an example.
    pub fn with_context(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.context.push((key.into(), value.into()));
        self
    }

    /// Sets how long the decision may be reused, in seconds (0: never).
    ///
    /// See [`Decision`] for an example.
    pub fn with_ttl(mut self, seconds: u32) -> Self {
        self.ttl_seconds = Some(seconds);
        self
    }
}

/// What an authorizer function may return: a [`Decision`], or a `Result` whose error
/// makes the gateway answer 500 (it fails closed).
///
/// ```
/// use wasmgate_sdk::{Decision, IntoDecision};
/// assert!(Decision::deny().into_decision().is_ok());
/// let failed: Result<Decision, String> = Err("no key store".into());
/// assert_eq!(failed.into_decision().unwrap_err(), "no key store");
/// ```
pub trait IntoDecision {
    /// Converts into a decision or an error message.
    fn into_decision(self) -> Result<Decision, String>;
}

impl IntoDecision for Decision {
    fn into_decision(self) -> Result<Decision, String> {
        Ok(self)
    }
}

impl<E: Display> IntoDecision for Result<Decision, E> {
    fn into_decision(self) -> Result<Decision, String> {
        self.map_err(|e| e.to_string())
    }
}
