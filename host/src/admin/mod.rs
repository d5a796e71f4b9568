//! The admin API: its own listener (default 127.0.0.1:9080), JSON, bearer-token auth.
//! Uploads modules, moves aliases and edits routes in the registry, then swaps the
//! gateway's routes (see `gateway.rs`): deploys are hot and atomic.
//!
//! | endpoint | does |
//! |---|---|
//! | `GET /modules` | every module with its versions and aliases |
//! | `POST /modules/{name}` | uploads a `.wasm` (raw body) as a new version; `?executor=wagi` for a `wasm32-wasip1` command |
//! | `GET /modules/{name}` | one module |
//! | `DELETE /modules/{name}/versions/{n}` | deletes an unused version |
//! | `PUT /modules/{name}/aliases/{alias}` | `{"version": 3, "canary": {"version": 4, "percent": 10}}` |
//! | `DELETE /modules/{name}/aliases/{alias}` | deletes an unused alias |
//! | `PUT /modules/{name}/config` | `{"env": {…}, "allowed_outbound_hosts": […]}` for all its versions |
//! | `GET /routes`, `PUT /routes` | lists routes; creates or replaces one (manifest fields) |
//! | `GET /routes/{id}`, `DELETE /routes/{id}` | one route |
//! | `GET /authorizers`, `PUT /authorizers` | lists authorizers; creates or replaces one |
//! | `GET /authorizers/{name}`, `DELETE /authorizers/{name}` | one authorizer |
//! | `GET /routes/{id}/stats` | in flight, queued, throttled and rejected counts |
//! | `GET /gateway`, `PUT /gateway` | gateway-wide settings: `{"throttle": {"rate": …, "burst": …}}` |
//! | `GET /plans`, `PUT /plans/{name}`, `DELETE /plans/{name}` | usage plans: `{"throttle": …, "quota": {"limit": n, "period": "day"}}` |
//! | `GET /keys`, `POST /keys` | API keys; creating one (`{"name": …, "plan": …}`) shows its secret once |
//! | `GET /keys/{id}`, `PUT /keys/{id}`, `DELETE /keys/{id}` | one key; `PUT` sets `plan` and/or `enabled` |
//! | `POST /keys/{id}/rotate` | a new secret (shown once); the old one stops working |
//! | `POST /invoke` | runs a synthetic request: response, stdout/stderr, timings |

mod endpoints;
mod invoke;
mod keys;
mod token;

use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderValue, Method, StatusCode, header};
use http_body_util::BodyExt;

pub use token::{TokenSource, load_or_generate};

use crate::gateway::Gateway;
use crate::registry::RegistryError;
use crate::rejection::{ResponseBody, json_response};

/// An admin API error: a status and a message, answered as `{"message": …}`.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
}

impl ApiError {
    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
        }
    }
}

impl From<RegistryError> for ApiError {
    fn from(error: RegistryError) -> Self {
        ApiError::new(error.status(), error.to_string())
    }
}

type ApiResult = Result<(StatusCode, serde_json::Value), ApiError>;

/// Which endpoint a path is.
#[derive(Debug, Clone, Copy)]
enum Endpoint {
    Modules,
    Module,
    Version,
    Alias,
    Routes,
    Route,
    Invoke,
    Authorizers,
    Authorizer,
    RouteStats,
    Gateway,
    ModuleConfig,
    Plans,
    Plan,
    Keys,
    Key,
    KeyRotation,
}

/// The admin API service.
pub struct Admin {
    gateway: Arc<Gateway>,
    token: String,
    max_upload_bytes: usize,
    endpoints: matchit::Router<Endpoint>,
}

/// Largest JSON body the admin API reads.
const MAX_JSON_BYTES: usize = 1 << 20;

impl Admin {
    /// The API over `gateway`'s registry, accepting `token`.
    pub fn new(gateway: Arc<Gateway>, token: String, max_upload_bytes: usize) -> Self {
        let mut endpoints = matchit::Router::new();
        for (path, endpoint) in [
            ("/modules", Endpoint::Modules),
            ("/modules/{name}", Endpoint::Module),
            ("/modules/{name}/versions/{version}", Endpoint::Version),
            ("/modules/{name}/aliases/{alias}", Endpoint::Alias),
            ("/modules/{name}/config", Endpoint::ModuleConfig),
            ("/routes", Endpoint::Routes),
            ("/routes/{id}", Endpoint::Route),
            ("/invoke", Endpoint::Invoke),
            ("/authorizers", Endpoint::Authorizers),
            ("/authorizers/{name}", Endpoint::Authorizer),
            ("/routes/{id}/stats", Endpoint::RouteStats),
            ("/gateway", Endpoint::Gateway),
            ("/plans", Endpoint::Plans),
            ("/plans/{name}", Endpoint::Plan),
            ("/keys", Endpoint::Keys),
            ("/keys/{id}", Endpoint::Key),
            ("/keys/{id}/rotate", Endpoint::KeyRotation),
        ] {
            // The paths above are fixed and distinct.
            if let Err(error) = endpoints.insert(path, endpoint) {
                tracing::error!(%error, path, "admin endpoint not registered");
            }
        }
        Admin {
            gateway,
            token,
            max_upload_bytes,
            endpoints,
        }
    }

    fn authorized(&self, request: &hyper::Request<hyper::body::Incoming>) -> bool {
        request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .is_some_and(|given| {
                token::constant_time_eq(given.trim().as_bytes(), self.token.as_bytes())
            })
    }

    async fn serve(
        &self,
        request: hyper::Request<hyper::body::Incoming>,
    ) -> hyper::Response<ResponseBody> {
        if !self.authorized(&request) {
            let mut response = json_response(
                StatusCode::UNAUTHORIZED,
                &serde_json::json!({ "message": "Unauthorized: send `Authorization: Bearer <admin token>`" }),
            );
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            return response;
        }
        let result = self.dispatch(request).await;
        match result {
            Ok((status, body)) => json_response(status, &body),
            Err(error) => json_response(
                error.status,
                &serde_json::json!({ "message": error.message }),
            ),
        }
    }

    async fn dispatch(&self, request: hyper::Request<hyper::body::Incoming>) -> ApiResult {
        let (parts, body) = request.into_parts();
        let path = parts.uri.path().to_owned();
        let found = self.endpoints.at(&path).map_err(|_| {
            ApiError::new(StatusCode::NOT_FOUND, format!("no admin endpoint `{path}`"))
        })?;
        let endpoint = *found.value;
        let param = |name: &str| -> Result<String, ApiError> {
            let raw = found.params.get(name).unwrap_or_default();
            percent_encoding::percent_decode_str(raw)
                .decode_utf8()
                .map(|s| s.into_owned())
                .map_err(|_| {
                    ApiError::new(StatusCode::BAD_REQUEST, format!("`{name}` is not UTF-8"))
                })
        };
        let api = endpoints::Api {
            gateway: &self.gateway,
        };
        let method = parts.method.clone();
        match (endpoint, &method) {
            (Endpoint::Modules, &Method::GET) => api.list_modules(),
            (Endpoint::Module, &Method::GET) => api.get_module(&param("name")?),
            (Endpoint::Module, &Method::POST) => {
                let bytes = read_body(&parts.headers, body, self.max_upload_bytes).await?;
                let executor = upload_executor(parts.uri.query())?;
                api.upload(&param("name")?, bytes, executor).await
            }
            (Endpoint::Version, &Method::DELETE) => {
                api.delete_version(&param("name")?, &param("version")?)
                    .await
            }
            (Endpoint::Alias, &Method::PUT) => {
                let bytes = read_body(&parts.headers, body, MAX_JSON_BYTES).await?;
                api.put_alias(&param("name")?, &param("alias")?, &bytes)
                    .await
            }
            (Endpoint::Alias, &Method::DELETE) => {
                api.delete_alias(&param("name")?, &param("alias")?).await
            }
            (Endpoint::Routes, &Method::GET) => api.list_routes(),
            (Endpoint::Routes, &Method::PUT) => {
                let bytes = read_body(&parts.headers, body, MAX_JSON_BYTES).await?;
                api.put_route(&bytes).await
            }
            (Endpoint::Route, &Method::GET) => api.get_route(&param("id")?),
            (Endpoint::Route, &Method::DELETE) => api.delete_route(&param("id")?).await,
            (Endpoint::RouteStats, &Method::GET) => api.route_stats(&param("id")?),
            (Endpoint::Gateway, &Method::GET) => api.get_gateway(),
            (Endpoint::Gateway, &Method::PUT) => {
                let bytes = read_body(&parts.headers, body, MAX_JSON_BYTES).await?;
                api.put_gateway(&bytes).await
            }
            (Endpoint::ModuleConfig, &Method::PUT) => {
                let bytes = read_body(&parts.headers, body, MAX_JSON_BYTES).await?;
                api.put_module_config(&param("name")?, &bytes).await
            }
            (Endpoint::Plans, &Method::GET) => api.list_plans(),
            (Endpoint::Plan, &Method::PUT) => {
                let bytes = read_body(&parts.headers, body, MAX_JSON_BYTES).await?;
                api.put_plan(&param("name")?, &bytes).await
            }
            (Endpoint::Plan, &Method::DELETE) => api.delete_plan(&param("name")?).await,
            (Endpoint::Keys, &Method::GET) => api.list_keys(),
            (Endpoint::Keys, &Method::POST) => {
                let bytes = read_body(&parts.headers, body, MAX_JSON_BYTES).await?;
                api.create_key(&bytes).await
            }
            (Endpoint::Key, &Method::GET) => api.get_key(&param("id")?),
            (Endpoint::Key, &Method::PUT) => {
                let bytes = read_body(&parts.headers, body, MAX_JSON_BYTES).await?;
                api.update_key(&param("id")?, &bytes).await
            }
            (Endpoint::Key, &Method::DELETE) => api.delete_key(&param("id")?).await,
            (Endpoint::KeyRotation, &Method::POST) => api.rotate_key(&param("id")?).await,
            (Endpoint::Authorizers, &Method::GET) => api.list_authorizers(),
            (Endpoint::Authorizers, &Method::PUT) => {
                let bytes = read_body(&parts.headers, body, MAX_JSON_BYTES).await?;
                api.put_authorizer(&bytes).await
            }
            (Endpoint::Authorizer, &Method::GET) => api.get_authorizer(&param("name")?),
            (Endpoint::Authorizer, &Method::DELETE) => api.delete_authorizer(&param("name")?).await,
            (Endpoint::Invoke, &Method::POST) => {
                let bytes = read_body(&parts.headers, body, self.max_upload_bytes).await?;
                invoke::invoke(&self.gateway, &bytes).await
            }
            _ => Err(ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                format!("`{method} {path}` is not an admin endpoint"),
            )),
        }
    }
}

impl crate::server::HttpHandler for Admin {
    fn handle(
        &self,
        request: hyper::Request<hyper::body::Incoming>,
    ) -> impl Future<Output = hyper::Response<ResponseBody>> + Send {
        self.serve(request)
    }
}

/// The executor an upload asks for: `?executor=wagi`, else the default (`component`).
fn upload_executor(query: Option<&str>) -> Result<crate::registry::Executor, ApiError> {
    let mut executor = crate::registry::Executor::default();
    for pair in query
        .unwrap_or("")
        .split('&')
        .filter(|pair| !pair.is_empty())
    {
        match pair.split_once('=') {
            Some(("executor", value)) => {
                executor = value
                    .parse()
                    .map_err(|message| ApiError::new(StatusCode::BAD_REQUEST, message))?;
            }
            _ => {
                return Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    format!("unknown query parameter `{pair}`: an upload takes only `executor`"),
                ));
            }
        }
    }
    Ok(executor)
}

/// Reads a whole body of at most `limit` bytes; beyond it, 413.
///
/// An over-long body is still read (and dropped), up to [`DRAIN_LIMIT`]: answering before the
/// client finished sending would close the connection under it, and most clients then report
/// a broken pipe instead of the 413.
async fn read_body(
    headers: &http::HeaderMap,
    mut body: hyper::body::Incoming,
    limit: usize,
) -> Result<Bytes, ApiError> {
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the body is larger than the limit of {limit} bytes"),
        )
    };
    let announced = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if announced.is_some_and(|length| length > DRAIN_LIMIT as u64) {
        return Err(too_large());
    }
    let mut collected = bytes::BytesMut::new();
    let mut seen = 0usize;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                format!("cannot read the body: {e}"),
            )
        })?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        seen = seen.saturating_add(data.len());
        if seen > DRAIN_LIMIT {
            break;
        }
        if seen <= limit {
            collected.extend_from_slice(&data);
        }
    }
    if seen > limit {
        return Err(too_large());
    }
    Ok(collected.freeze())
}

/// How much of an over-long body is read before the connection is given up on.
const DRAIN_LIMIT: usize = 256 << 20;
