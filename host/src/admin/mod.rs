//! The admin API: its own listener (default 127.0.0.1:9080), JSON, bearer-token auth.
//! Uploads modules, moves aliases and edits routes in the registry, then swaps the
//! gateway's routes (see `gateway.rs`): deploys are hot and atomic.
//!
//! | endpoint | does |
//! |---|---|
//! | `GET /modules` | every module with its versions and aliases |
//! | `POST /modules/{name}` | uploads a `.wasm` (raw body) as a new version; `?executor=wagi` for a `wasm32-wasip1` command; `&alias=prod&route=GET%20/path` also points an alias and a route at it, in the same change |
//! | `GET /modules/{name}` | one module |
//! | `DELETE /modules/{name}/versions/{n}` | deletes an unused version |
//! | `PUT /modules/{name}/aliases/{alias}` | `{"version": 3, "canary": {"version": 4, "percent": 10}}` |
//! | `DELETE /modules/{name}/aliases/{alias}` | deletes an unused alias |
//! | `POST /modules/{name}/aliases/{alias}/rollback` | points the alias back at what it pointed at before its latest move |
//! | `PUT /modules/{name}/config` | `{"env": {…}, "allowed_outbound_hosts": […]}` for all its versions |
//! | `PATCH /modules/{name}/config` | the same, replacing only the parts given |
//! | `PUT /modules/{name}/secrets/{secret}`, `DELETE …` | sets (raw body) or deletes a secret: stored sealed, listed by name only |
//! | `GET /routes`, `PUT /routes` | lists routes; creates or replaces one (manifest fields) |
//! | `GET /routes/{id}`, `DELETE /routes/{id}` | one route |
//! | `GET /authorizers`, `PUT /authorizers` | lists authorizers; creates or replaces one |
//! | `GET /authorizers/{name}`, `DELETE /authorizers/{name}` | one authorizer |
//! | `POST /authorizers/{name}/promote` | makes the authorizer's `shadow` its module |
//! | `GET /routes/{id}/stats` | in flight, queued, throttled and rejected counts |
//! | `DELETE /routes/{id}/cache` | forget the responses the route keeps (`?path=/items/7`: those of one path) |
//! | `GET /gateway`, `PUT /gateway` | gateway-wide settings: `{"throttle": {"rate": …, "burst": …}, "cors": {…}}` (a setting left out is removed) |
//! | `GET /plans`, `PUT /plans/{name}`, `DELETE /plans/{name}` | usage plans: `{"throttle": …, "quota": {"limit": n, "period": "day"}}` |
//! | `GET /keys`, `POST /keys` | API keys; creating one (`{"name": …, "plan": …}`) shows its secret once |
//! | `GET /keys/{id}`, `PUT /keys/{id}`, `DELETE /keys/{id}` | one key (with `quota`: its use this period, when its plan has one); `PUT` sets `plan` and/or `enabled` |
//! | `POST /keys/{id}/rotate` | a new secret (shown once); the old one stops working |
//! | `GET /history` | alias moves and route changes, newest first: who, when, from, to (`?limit=N&module=NAME`) |
//! | `GET /apis`, `POST /apis` | the routes and authorizers as an OpenAPI 3.1 document; creating or replacing those of a document (JSON or YAML), all or nothing |
//! | `POST /invoke` | runs a synthetic request: response, stdout/stderr, timings |
//! | `GET /routes/{id}/recordings`, `GET …/recordings/{recording}`, `DELETE …/recordings` | a recording route's ids and newest recordings (`?limit=N`), one whole, or forget them all |
//! | `POST /routes/{id}/replay`, `POST /replay` | replays a route's recordings (or the `recordings` given) on `{"against": "module@version"}`: what of each response differs |
//! | `GET /metrics` | every metric, in Prometheus's text format |
//! | `GET /stats` | every route's counts so far (requests by status class, refusals by kind, durations per latency bucket, in flight, queued) and the instances: what the web console charts |
//! | `GET /logs` | the latest access records (`?route=TEMPLATE&status=5xx`) |
//! | `GET /logs/stream` | access records and guest output from now on, as server-sent events (same filters) |
//! | `GET /healthz`, `GET /readyz` | probes, without a token: the process serves; the routes serve and it is not draining |
//! | `GET /console` | the web console's files (`console.rs`), without a token: the page signs in with one |

mod apis;
mod body;
mod console;
mod endpoints;
mod history;
mod invoke;
mod keys;
mod logs;
mod openapi;
mod probes;
mod recordings;
mod router;
mod token;
mod upload;

use std::sync::Arc;

use http::{HeaderValue, StatusCode, header};

pub use probes::{MetricsOnly, Readiness};
pub use token::{AdminToken, TokenSource, load_or_generate};

use crate::gateway::Gateway;
use crate::registry::RegistryError;
use crate::server::response::{ErrorReply, ResponseBody, json_response};

/// An admin API error: a status and a message, answered as `{"message": …}` (through the
/// same [`ErrorReply`] as the gateway's own answers).
#[derive(Debug)]
pub struct ApiError(ErrorReply);

impl ApiError {
    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError(ErrorReply::plain(status).message(message))
    }

    /// The methods the path accepts, for a 405's `Allow`.
    fn with_allow(self, allow: String) -> Self {
        match HeaderValue::from_str(&allow) {
            Ok(value) => ApiError(self.0.header(header::ALLOW, value)),
            Err(_) => self,
        }
    }

    fn into_response(self) -> hyper::Response<ResponseBody> {
        self.0.into_response(None)
    }
}

impl From<RegistryError> for ApiError {
    fn from(error: RegistryError) -> Self {
        ApiError::new(error.status(), error.to_string())
    }
}

type ApiResult = Result<(StatusCode, serde_json::Value), ApiError>;

/// The admin API service.
pub struct Admin {
    gateway: Arc<Gateway>,
    tokens: Vec<AdminToken>,
    max_upload_bytes: usize,
    router: router::Router,
    readiness: Arc<Readiness>,
}

impl Admin {
    /// The API over `gateway`'s registry, accepting `tokens`.
    pub fn new(gateway: Arc<Gateway>, tokens: Vec<AdminToken>, max_upload_bytes: usize) -> Self {
        Admin {
            gateway,
            tokens,
            max_upload_bytes,
            router: router::Router::new(),
            readiness: Arc::default(),
        }
    }

    /// What `/readyz` answers; drain it when shutdown begins.
    pub fn readiness(&self) -> Arc<Readiness> {
        self.readiness.clone()
    }

    /// The token the request carries, if it is one of ours: `Some(name)`, the name `None`
    /// for an unnamed token. Every token is compared (in constant time), whichever matches.
    fn authorized(
        &self,
        request: &hyper::Request<hyper::body::Incoming>,
    ) -> Option<Option<Arc<str>>> {
        let given = request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))?
            .trim();
        let mut found = None;
        for token in &self.tokens {
            if token::constant_time_eq(given.as_bytes(), token.secret.as_bytes()) {
                found = Some(token.name.as_deref().map(Arc::from));
            }
        }
        found
    }

    /// The answer to `request`, marked as the admin API's.
    async fn serve(
        &self,
        request: hyper::Request<hyper::body::Incoming>,
    ) -> hyper::Response<ResponseBody> {
        let mut response = self.answer(request).await;
        response.headers_mut().insert(
            http::HeaderName::from_static(ADMIN_API_HEADER),
            HeaderValue::from_static("admin"),
        );
        response
    }

    async fn answer(
        &self,
        request: hyper::Request<hyper::body::Incoming>,
    ) -> hyper::Response<ResponseBody> {
        if let Some(answer) = probes::probe(&self.readiness, &request) {
            return answer;
        }
        if let Some(answer) = console::serve(&request) {
            return answer;
        }
        let Some(actor) = self.authorized(&request) else {
            let mut response = json_response(
                StatusCode::UNAUTHORIZED,
                &serde_json::json!({ "message": "Unauthorized: send `Authorization: Bearer <admin token>`" }),
            );
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            return response;
        };
        if probes::is_metrics(&request) {
            return probes::metrics_response();
        }
        if request.method() == http::Method::GET && request.uri().path() == "/logs/stream" {
            let query = request.uri().query();
            return logs::stream(query, self.readiness.clone())
                .unwrap_or_else(ApiError::into_response);
        }
        let result = self
            .router
            .dispatch(&self.gateway, self.max_upload_bytes, actor, request)
            .await;
        match result {
            Ok((status, body)) => json_response(status, &body),
            Err(error) => error.into_response(),
        }
    }
}

/// The header every admin API answer carries, so a client pointed at another server (the
/// gateway's own listener, say) can tell it is not talking to an admin API.
pub const ADMIN_API_HEADER: &str = "x-wasmgate-api";

impl crate::server::HttpService for Admin {
    fn handle(
        &self,
        request: hyper::Request<hyper::body::Incoming>,
    ) -> impl Future<Output = hyper::Response<ResponseBody>> + Send {
        self.serve(request)
    }
}
