//! [`Request`]: the HTTP request a handler receives, with its route's path parameters.

use std::cell::OnceCell;

use serde::de::DeserializeOwned;

use crate::context;
use crate::error::Error;

/// An incoming HTTP request, its body already read.
///
/// Its method, path, headers, path parameters, request id and the authorizer's principal
/// are asked of the gateway only when used (the first three through `wasi:http`, the rest
/// through the `wasmgate:gateway/context` import): a handler that reads none of them does
/// not pay for copying them in. The body is read in full before the handler runs, so a
/// body that breaks off is answered 400 and never seen in part.
///
/// ```no_run
/// use wasmgate_sdk::{Request, Response};
///
/// fn handle(req: Request) -> Response {
///     let name = req.param("name").unwrap_or_else(|| "world".into());
///     let loud = req.query("loud").is_some();
///     let greeting = format!("Hello, {name}!");
///     Response::text(if loud { greeting.to_uppercase() } else { greeting })
/// }
/// ```
#[derive(Debug)]
pub struct Request {
    method: OnceCell<String>,
    path_with_query: OnceCell<String>,
    headers: OnceCell<Vec<(String, Vec<u8>)>>,
    /// Where the method, path and headers are read from when first asked for; none when
    /// given in parts.
    incoming: Option<IncomingParts>,
    body: Vec<u8>,
    params: OnceCell<Vec<(String, String)>>,
}

/// An incoming request kept unread: its method, path and headers are each asked of the
/// host only when first needed (a handler that reads none of them makes no call for them).
#[derive(Debug)]
pub(crate) struct IncomingParts {
    request: wasi::http::types::IncomingRequest,
}

impl IncomingParts {
    /// The parts of `request`, read when the handler first asks for them.
    pub(crate) fn of(request: wasi::http::types::IncomingRequest) -> Self {
        IncomingParts { request }
    }

    /// Every header, as the host has them. The `fields` handle (a child resource of the
    /// request) is dropped before this returns, as `wasi:http` requires of children.
    fn headers(&self) -> Vec<(String, Vec<u8>)> {
        self.request.headers().entries()
    }

    fn method(&self) -> String {
        use wasi::http::types::Method;
        match self.request.method() {
            Method::Get => "GET".into(),
            Method::Head => "HEAD".into(),
            Method::Post => "POST".into(),
            Method::Put => "PUT".into(),
            Method::Delete => "DELETE".into(),
            Method::Connect => "CONNECT".into(),
            Method::Options => "OPTIONS".into(),
            Method::Trace => "TRACE".into(),
            Method::Patch => "PATCH".into(),
            Method::Other(other) => other,
        }
    }

    fn path_with_query(&self) -> String {
        self.request.path_with_query().unwrap_or_else(|| "/".into())
    }
}

fn lowercased(headers: Vec<(String, Vec<u8>)>) -> Vec<(String, Vec<u8>)> {
    headers
        .into_iter()
        .map(|(name, value)| (name.to_ascii_lowercase(), value))
        .collect()
}

impl Request {
    /// Builds a request from its parts, e.g. in a unit test of a handler. Path parameters
    /// given here are used instead of asking the gateway.
    ///
    /// ```
    /// use wasmgate_sdk::Request;
    ///
    /// let req = Request::from_parts("GET", "/hello/ada?x=1", vec![], vec![])
    ///     .with_params(vec![("name".into(), "ada".into())]);
    /// assert_eq!(req.param("name").as_deref(), Some("ada"));
    /// assert_eq!(req.query("x").as_deref(), Some("1"));
    /// ```
    pub fn from_parts(
        method: impl Into<String>,
        path_with_query: impl Into<String>,
        headers: Vec<(String, Vec<u8>)>,
        body: Vec<u8>,
    ) -> Self {
        Request {
            method: OnceCell::from(method.into()),
            path_with_query: OnceCell::from(path_with_query.into()),
            headers: OnceCell::from(lowercased(headers)),
            incoming: None,
            body,
            params: OnceCell::new(),
        }
    }

    /// A request whose method, path and headers are read from `incoming` when first asked
    /// for.
    pub(crate) fn from_incoming(incoming: IncomingParts, body: Vec<u8>) -> Self {
        Request {
            method: OnceCell::new(),
            path_with_query: OnceCell::new(),
            headers: OnceCell::new(),
            incoming: Some(incoming),
            body,
            params: OnceCell::new(),
        }
    }

    /// Sets the path parameters (instead of asking the gateway for them).
    ///
    /// ```
    /// let req = wasmgate_sdk::Request::from_parts("GET", "/", vec![], vec![])
    ///     .with_params(vec![("id".into(), "7".into())]);
    /// assert_eq!(req.params(), [("id".to_string(), "7".to_string())]);
    /// ```
    pub fn with_params(self, params: Vec<(String, String)>) -> Self {
        Request {
            params: OnceCell::from(params),
            ..self
        }
    }

    /// The method, e.g. `GET`.
    ///
    /// ```
    /// let req = wasmgate_sdk::Request::from_parts("POST", "/", vec![], vec![]);
    /// assert_eq!(req.method(), "POST");
    /// ```
    pub fn method(&self) -> &str {
        self.method.get_or_init(|| match &self.incoming {
            Some(incoming) => incoming.method(),
            None => String::new(),
        })
    }

    /// The path and query as sent.
    fn path_with_query(&self) -> &str {
        self.path_with_query.get_or_init(|| match &self.incoming {
            Some(incoming) => incoming.path_with_query(),
            None => "/".into(),
        })
    }

    /// The path as sent, still percent-encoded, without the query.
    ///
    /// ```
    /// let req = wasmgate_sdk::Request::from_parts("GET", "/a%20b?q=1", vec![], vec![]);
    /// assert_eq!(req.path(), "/a%20b");
    /// ```
    pub fn path(&self) -> &str {
        let path_with_query = self.path_with_query();
        match path_with_query.split_once('?') {
            Some((path, _)) => path,
            None => path_with_query,
        }
    }

    /// The raw query string, without `?` (empty if none).
    ///
    /// ```
    /// let req = wasmgate_sdk::Request::from_parts("GET", "/?a=1&b=2", vec![], vec![]);
    /// assert_eq!(req.query_string(), "a=1&b=2");
    /// ```
    pub fn query_string(&self) -> &str {
        self.path_with_query()
            .split_once('?')
            .map_or("", |(_, query)| query)
    }

    /// The query's `name=value` pairs, decoded (`+` is a space), in order.
    ///
    /// ```
    /// let req = wasmgate_sdk::Request::from_parts("GET", "/?q=a+b&q=%C3%A9&flag", vec![], vec![]);
    /// assert_eq!(req.query_pairs(), [
    ///     ("q".to_string(), "a b".to_string()),
    ///     ("q".to_string(), "é".to_string()),
    ///     ("flag".to_string(), String::new()),
    /// ]);
    /// ```
    pub fn query_pairs(&self) -> Vec<(String, String)> {
        self.query_string()
            .split('&')
            .filter(|pair| !pair.is_empty())
            .map(|pair| {
                let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
                (decode_query_part(name), decode_query_part(value))
            })
            .collect()
    }

    /// The first value of a query parameter, decoded.
    ///
    /// ```
    /// let req = wasmgate_sdk::Request::from_parts("GET", "/?name=ada%20l", vec![], vec![]);
    /// assert_eq!(req.query("name").as_deref(), Some("ada l"));
    /// assert_eq!(req.query("other"), None);
    /// ```
    pub fn query(&self, name: &str) -> Option<String> {
        self.query_pairs()
            .into_iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value)
    }

    /// The first value of a header (case-insensitive), if it is UTF-8.
    ///
    /// ```
    /// let req = wasmgate_sdk::Request::from_parts(
    ///     "GET", "/", vec![("Content-Type".into(), b"text/plain".to_vec())], vec![]);
    /// assert_eq!(req.header("content-type"), Some("text/plain"));
    /// ```
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers()
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .and_then(|(_, value)| std::str::from_utf8(value).ok())
    }

    /// Every header, names lowercased, in the order received (repeated names repeat).
    ///
    /// ```
    /// let req = wasmgate_sdk::Request::from_parts("GET", "/", vec![("X-A".into(), b"1".to_vec())], vec![]);
    /// assert_eq!(req.headers(), [("x-a".to_string(), b"1".to_vec())]);
    /// ```
    pub fn headers(&self) -> &[(String, Vec<u8>)] {
        self.headers.get_or_init(|| match &self.incoming {
            Some(incoming) => lowercased(incoming.headers()),
            None => Vec::new(),
        })
    }

    /// The body's bytes.
    ///
    /// ```
    /// let req = wasmgate_sdk::Request::from_parts("POST", "/", vec![], b"raw".to_vec());
    /// assert_eq!(req.body(), b"raw");
    /// ```
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// The body as UTF-8 text; a 400 [`Error`] if it is not.
    ///
    /// ```
    /// let req = wasmgate_sdk::Request::from_parts("POST", "/", vec![], vec![0xff]);
    /// assert_eq!(req.text().unwrap_err().status(), 400);
    /// ```
    pub fn text(&self) -> Result<&str, Error> {
        std::str::from_utf8(&self.body)
            .map_err(|e| Error::bad_request(format!("the body is not UTF-8 text: {e}")))
    }

    /// The body parsed as JSON; a 400 [`Error`] saying why if it does not parse.
    ///
    /// ```
    /// #[derive(Debug, serde::Deserialize)]
    /// struct Order { qty: u32 }
    ///
    /// let req = wasmgate_sdk::Request::from_parts("POST", "/", vec![], br#"{"qty": 3}"#.to_vec());
    /// assert_eq!(req.json::<Order>().unwrap().qty, 3);
    /// let bad = wasmgate_sdk::Request::from_parts("POST", "/", vec![], b"{".to_vec());
    /// assert_eq!(bad.json::<Order>().unwrap_err().status(), 400);
    /// ```
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, Error> {
        serde_json::from_slice(&self.body)
            .map_err(|e| Error::bad_request(format!("the body is not the expected JSON: {e}")))
    }

    /// A path parameter of the matched route, percent-decoded (e.g. `name` for
    /// `/hello/{name}`; a greedy `{proxy+}` is named `proxy`).
    ///
    /// ```no_run
    /// # let req = wasmgate_sdk::Request::from_parts("GET", "/", vec![], vec![]);
    /// let name = req.param("name").unwrap_or_default();
    /// ```
    pub fn param(&self, name: &str) -> Option<String> {
        self.params()
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
    }

    /// Every path parameter, in template order.
    ///
    /// ```no_run
    /// # let req = wasmgate_sdk::Request::from_parts("GET", "/", vec![], vec![]);
    /// for (name, value) in req.params() {
    ///     println!("{name} = {value}");
    /// }
    /// ```
    pub fn params(&self) -> &[(String, String)] {
        self.params.get_or_init(context::path_params)
    }

    /// The gateway's id for this invocation (also the `x-request-id` response header).
    ///
    /// ```no_run
    /// # let req = wasmgate_sdk::Request::from_parts("GET", "/", vec![], vec![]);
    /// eprintln!("[{}] handling", req.request_id());
    /// ```
    pub fn request_id(&self) -> String {
        context::request_id()
    }

    /// The template of the matched route, e.g. `/hello/{name}`.
    ///
    /// ```no_run
    /// # let req = wasmgate_sdk::Request::from_parts("GET", "/", vec![], vec![]);
    /// assert!(req.route().starts_with('/'));
    /// ```
    pub fn route(&self) -> String {
        context::route()
    }

    /// The principal the route's authorizer allowed, if the route has an authorizer.
    ///
    /// ```no_run
    /// # let req = wasmgate_sdk::Request::from_parts("GET", "/", vec![], vec![]);
    /// let user = req.principal().unwrap_or_else(|| "anonymous".into());
    /// ```
    pub fn principal(&self) -> Option<String> {
        context::principal()
    }

    /// The context map the route's authorizer attached to its decision.
    ///
    /// ```no_run
    /// # let req = wasmgate_sdk::Request::from_parts("GET", "/", vec![], vec![]);
    /// let tenant = req.authorizer_context().into_iter().find(|(k, _)| k == "tenant");
    /// ```
    pub fn authorizer_context(&self) -> Vec<(String, String)> {
        context::authorizer_context()
    }

    /// A stage variable of the alias the route runs (`name@prod`): a setting the operator
    /// changes without a new version (`PUT /modules/{name}/aliases/{alias}` with
    /// `"variables"`).
    ///
    /// ```no_run
    /// # let req = wasmgate_sdk::Request::from_parts("GET", "/", vec![], vec![]);
    /// let database = req.stage_variable("database").unwrap_or_else(|| "dev".into());
    /// ```
    pub fn stage_variable(&self, name: &str) -> Option<String> {
        context::stage_variable(name)
    }

    /// Every stage variable of the alias the route runs.
    ///
    /// ```no_run
    /// # let req = wasmgate_sdk::Request::from_parts("GET", "/", vec![], vec![]);
    /// for (name, value) in req.stage_variables() {
    ///     eprintln!("{name} = {value}");
    /// }
    /// ```
    pub fn stage_variables(&self) -> Vec<(String, String)> {
        context::stage_variables()
    }
}

fn decode_query_part(part: &str) -> String {
    let spaced = part.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8_lossy()
        .into_owned()
}
