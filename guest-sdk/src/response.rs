//! [`Response`] and [`IntoResponse`]: what a handler answers.

use serde::Serialize;

use crate::error::Error;

/// An HTTP response: status, headers and body.
///
/// ```
/// use wasmgate_sdk::Response;
///
/// let r = Response::text("hi").with_status(201).with_header("x-trace", "abc");
/// assert_eq!(r.status(), 201);
/// assert_eq!(r.body(), b"hi");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    status: u16,
    headers: Vec<(String, Vec<u8>)>,
    body: Vec<u8>,
}

impl Response {
    /// An empty response with a status.
    ///
    /// ```
    /// let r = wasmgate_sdk::Response::new(204);
    /// assert!(r.body().is_empty());
    /// ```
    pub fn new(status: u16) -> Self {
        Response {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// 200 with a `text/plain; charset=utf-8` body.
    ///
    /// ```
    /// let r = wasmgate_sdk::Response::text("Hello!");
    /// assert_eq!(r.header("content-type"), Some("text/plain; charset=utf-8"));
    /// ```
    pub fn text(body: impl Into<String>) -> Self {
        Response::new(200)
            .with_header("content-type", "text/plain; charset=utf-8")
            .with_body(body.into())
    }

    /// 200 with a JSON body. If `value` cannot be serialised, a 500 JSON error instead.
    ///
    /// ```
    /// let r = wasmgate_sdk::Response::json(&serde_json::json!({"ok": true}));
    /// assert_eq!(r.body(), br#"{"ok":true}"#);
    /// assert_eq!(r.header("content-type"), Some("application/json"));
    /// ```
    pub fn json<T: Serialize + ?Sized>(value: &T) -> Self {
        match serde_json::to_vec(value) {
            Ok(body) => Response::new(200)
                .with_header("content-type", "application/json")
                .with_body(body),
            Err(error) => {
                let body = serde_json::json!({ "message": format!("cannot serialise the response: {error}") });
                Response::new(500)
                    .with_header("content-type", "application/json")
                    .with_body(body.to_string())
            }
        }
    }

    /// Sets the status.
    ///
    /// ```
    /// assert_eq!(wasmgate_sdk::Response::text("made").with_status(201).status(), 201);
    /// ```
    pub fn with_status(mut self, status: u16) -> Self {
        self.status = status;
        self
    }

    /// Adds a header (names are case-insensitive; adding a name twice sends both values).
    ///
    /// ```
    /// let r = wasmgate_sdk::Response::new(200).with_header("Cache-Control", "no-store");
    /// assert_eq!(r.header("cache-control"), Some("no-store"));
    /// ```
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<Vec<u8>>) -> Self {
        self.headers
            .push((name.into().to_ascii_lowercase(), value.into()));
        self
    }

    /// Replaces the body.
    ///
    /// ```
    /// let r = wasmgate_sdk::Response::new(200).with_body(vec![1, 2, 3]);
    /// assert_eq!(r.body(), [1, 2, 3]);
    /// ```
    pub fn with_body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// The status.
    ///
    /// ```
    /// assert_eq!(wasmgate_sdk::Response::new(404).status(), 404);
    /// ```
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The first value of a header, if present and UTF-8.
    ///
    /// ```
    /// let r = wasmgate_sdk::Response::new(200).with_header("x-a", "1");
    /// assert_eq!(r.header("X-A"), Some("1"));
    /// assert_eq!(r.header("x-b"), None);
    /// ```
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .and_then(|(_, v)| std::str::from_utf8(v).ok())
    }

    /// All headers, names lowercased.
    ///
    /// ```
    /// let r = wasmgate_sdk::Response::new(200).with_header("X-A", "1");
    /// assert_eq!(r.headers(), [("x-a".to_string(), b"1".to_vec())]);
    /// ```
    pub fn headers(&self) -> &[(String, Vec<u8>)] {
        &self.headers
    }

    /// The body.
    ///
    /// ```
    /// assert_eq!(wasmgate_sdk::Response::text("x").body(), b"x");
    /// ```
    pub fn body(&self) -> &[u8] {
        &self.body
    }
}

/// What a handler may return: a [`Response`], text, or a `Result` whose error converts
/// into [`Error`].
///
/// ```
/// use wasmgate_sdk::{Error, IntoResponse, Response};
///
/// assert_eq!("hi".into_response().body(), b"hi");
/// let failed: Result<Response, Error> = Err(Error::not_found("gone"));
/// assert_eq!(failed.into_response().status(), 404);
/// ```
pub trait IntoResponse {
    /// Converts into a response.
    ///
    /// ```
    /// use wasmgate_sdk::IntoResponse;
    /// assert_eq!(String::from("made").into_response().status(), 200);
    /// ```
    fn into_response(self) -> Response;
}

impl IntoResponse for Response {
    fn into_response(self) -> Response {
        self
    }
}

impl IntoResponse for String {
    fn into_response(self) -> Response {
        Response::text(self)
    }
}

impl IntoResponse for &'static str {
    fn into_response(self) -> Response {
        Response::text(self)
    }
}

impl<T: IntoResponse, E: Into<Error>> IntoResponse for Result<T, E> {
    fn into_response(self) -> Response {
        match self {
            Ok(value) => value.into_response(),
            Err(error) => error.into().into_response(),
        }
    }
}
