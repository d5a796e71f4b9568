//! The admin API's endpoints, declared once: method, path template and handler in one
//! table. A path no endpoint has is 404; a known path with another method is 405 with
//! `Allow`.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use http::{Method, StatusCode};

use super::body::{MAX_JSON_BYTES, read_body};
use super::endpoints::Api;
use super::upload::UploadOptions;
use super::{ApiError, ApiResult, invoke, logs, recordings};
use crate::gateway::Gateway;

/// One call of an endpoint: the request, its path parameters and the gateway.
pub(super) struct Call {
    gateway: Arc<Gateway>,
    /// The name of the admin token it came with, if named.
    actor: Option<Arc<str>>,
    max_upload_bytes: usize,
    params: Vec<(String, String)>,
    parts: http::request::Parts,
    body: Option<hyper::body::Incoming>,
}

impl Call {
    /// The endpoints' operations.
    fn api(&self) -> Api<'_> {
        Api {
            gateway: &self.gateway,
            actor: self.actor.clone(),
        }
    }

    /// The path parameter `name`, percent-decoded.
    fn param(&self, name: &str) -> Result<String, ApiError> {
        let raw = self
            .params
            .iter()
            .find(|(key, _)| key == name)
            .map_or("", |(_, value)| value.as_str());
        percent_encoding::percent_decode_str(raw)
            .decode_utf8()
            .map(|s| s.into_owned())
            .map_err(|_| ApiError::new(StatusCode::BAD_REQUEST, format!("`{name}` is not UTF-8")))
    }

    /// The body, at most `limit` bytes (413 beyond).
    async fn body_up_to(&mut self, limit: usize) -> Result<Bytes, ApiError> {
        match self.body.take() {
            Some(body) => read_body(&self.parts.headers, body, limit).await,
            None => Ok(Bytes::new()),
        }
    }

    /// A JSON body (at most 1 MiB).
    async fn json(&mut self) -> Result<Bytes, ApiError> {
        self.body_up_to(MAX_JSON_BYTES).await
    }

    /// A module upload's or a test invocation's body (at most `--max-upload-mb`).
    async fn upload(&mut self) -> Result<Bytes, ApiError> {
        self.body_up_to(self.max_upload_bytes).await
    }
}

type Answer = Pin<Box<dyn Future<Output = ApiResult> + Send>>;
type Handler = fn(Call) -> Answer;

/// The endpoint table: one `METHOD "path" => |call| body` line (or block) per endpoint;
/// `body` runs in an async block that owns the [`Call`]. With `|call, json|`, the request's
/// JSON body ([`Call::json`]) is read first, as `json`.
macro_rules! endpoints {
    ($($method:ident $path:literal => |$call:ident $(, $json:ident)?| $body:expr),* $(,)?) => {
        vec![$(
            (Method::$method, $path, {
                #[allow(unused_mut, reason = "only the handlers that read a body need `mut`")]
                fn handle(mut $call: Call) -> Answer {
                    Box::pin(async move {
                        $(let $json = $call.json().await?;)?
                        $body
                    })
                }
                handle as Handler
            }),
        )*]
    };
}

/// Every endpoint (the table in `mod.rs`'s documentation lists the same).
fn endpoints() -> Vec<(Method, &'static str, Handler)> {
    endpoints! {
        GET "/modules" => |c| c.api().list_modules(),
        GET "/modules/{name}" => |c| c.api().get_module(&c.param("name")?),
        POST "/modules/{name}" => |c| {
            let options = UploadOptions::parse(c.parts.uri.query());
            // Read even when the query is refused: a client still sending its body would
            // see the connection reset instead of the answer.
            let bytes = c.upload().await?;
            c.api().upload(&c.param("name")?, bytes, options?).await
        },
        DELETE "/modules/{name}/versions/{version}" => |c| {
            let (name, version) = (c.param("name")?, c.param("version")?);
            c.api().delete_version(&name, &version).await
        },
        PUT "/modules/{name}/aliases/{alias}" => |c, json| {
            let (name, alias) = (c.param("name")?, c.param("alias")?);
            c.api().put_alias(&name, &alias, &json).await
        },
        POST "/modules/{name}/aliases/{alias}/rollback" => |c| {
            let (name, alias) = (c.param("name")?, c.param("alias")?);
            c.api().rollback_alias(&name, &alias).await
        },
        DELETE "/modules/{name}/aliases/{alias}" => |c| {
            let (name, alias) = (c.param("name")?, c.param("alias")?);
            c.api().delete_alias(&name, &alias).await
        },
        PUT "/modules/{name}/config" => |c, json| {
            c.api().put_module_config(&c.param("name")?, &json).await
        },
        PATCH "/modules/{name}/config" => |c, json| {
            c.api().patch_module_config(&c.param("name")?, &json).await
        },
        PUT "/modules/{name}/secrets/{secret}" => |c, json| {
            let (name, secret) = (c.param("name")?, c.param("secret")?);
            c.api().put_secret(&name, &secret, &json).await
        },
        DELETE "/modules/{name}/secrets/{secret}" => |c| {
            let (name, secret) = (c.param("name")?, c.param("secret")?);
            c.api().delete_secret(&name, &secret).await
        },
        GET "/routes" => |c| c.api().list_routes(),
        PUT "/routes" => |c, json| c.api().put_route(&json).await,
        GET "/routes/{id}" => |c| c.api().get_route(&c.param("id")?),
        DELETE "/routes/{id}" => |c| c.api().delete_route(&c.param("id")?).await,
        GET "/routes/{id}/stats" => |c| c.api().route_stats(&c.param("id")?),
        GET "/routes/{id}/recordings" => |c| {
            recordings::list(&c.gateway, &c.param("id")?, c.parts.uri.query()).await
        },
        GET "/routes/{id}/recordings/{recording}" => |c| {
            recordings::get(&c.gateway, &c.param("id")?, &c.param("recording")?).await
        },
        DELETE "/routes/{id}/recordings" => |c| {
            recordings::clear(&c.gateway, &c.param("id")?).await
        },
        POST "/routes/{id}/replay" => |c, json| {
            recordings::replay_route(&c.gateway, &c.param("id")?, &json).await
        },
        POST "/replay" => |c| {
            let bytes = c.upload().await?;
            recordings::replay_given(&c.gateway, &bytes).await
        },
        DELETE "/routes/{id}/cache" => |c| {
            c.api().invalidate_cache(&c.param("id")?, c.parts.uri.query())
        },
        GET "/authorizers" => |c| c.api().list_authorizers(),
        PUT "/authorizers" => |c, json| c.api().put_authorizer(&json).await,
        GET "/authorizers/{name}" => |c| c.api().get_authorizer(&c.param("name")?),
        DELETE "/authorizers/{name}" => |c| c.api().delete_authorizer(&c.param("name")?).await,
        POST "/authorizers/{name}/promote" => |c| {
            c.api().promote_shadow(&c.param("name")?).await
        },
        GET "/gateway" => |c| c.api().get_gateway(),
        PUT "/gateway" => |c, json| c.api().put_gateway(&json).await,
        GET "/plans" => |c| c.api().list_plans(),
        PUT "/plans/{name}" => |c, json| c.api().put_plan(&c.param("name")?, &json).await,
        DELETE "/plans/{name}" => |c| c.api().delete_plan(&c.param("name")?).await,
        GET "/keys" => |c| c.api().list_keys().await,
        POST "/keys" => |c, json| c.api().create_key(&json).await,
        GET "/keys/{id}" => |c| c.api().get_key(&c.param("id")?).await,
        PUT "/keys/{id}" => |c, json| c.api().update_key(&c.param("id")?, &json).await,
        DELETE "/keys/{id}" => |c| c.api().delete_key(&c.param("id")?).await,
        POST "/keys/{id}/rotate" => |c| c.api().rotate_key(&c.param("id")?).await,
        GET "/history" => |c| c.api().history(c.parts.uri.query()),
        GET "/apis" => |c| c.api().get_apis(),
        POST "/apis" => |c| {
            let bytes = c.upload().await?;
            c.api().post_apis(&bytes).await
        },
        GET "/logs" => |c| logs::recent(c.parts.uri.query()),
        GET "/stats" => |c| Ok((StatusCode::OK, c.gateway.live_counts())),
        POST "/invoke" => |c| {
            let bytes = c.upload().await?;
            invoke::invoke(&c.gateway, &bytes).await
        },
    }
}

/// The endpoints by path.
pub(super) struct Router {
    paths: matchit::Router<Vec<(Method, Handler)>>,
}

impl Router {
    /// The router over [`endpoints`].
    pub(super) fn new() -> Self {
        let mut by_path: Vec<(&'static str, Vec<(Method, Handler)>)> = Vec::new();
        for (method, path, handler) in endpoints() {
            match by_path.iter_mut().find(|(known, _)| *known == path) {
                Some((_, methods)) => methods.push((method, handler)),
                None => by_path.push((path, vec![(method, handler)])),
            }
        }
        let mut paths = matchit::Router::new();
        for (path, methods) in by_path {
            // The paths above are fixed and distinct; the unit test below inserts them all.
            if let Err(error) = paths.insert(path, methods) {
                tracing::error!(%error, path, "admin endpoint not registered");
            }
        }
        Router { paths }
    }

    /// Runs the endpoint `request` names.
    pub(super) async fn dispatch(
        &self,
        gateway: &Arc<Gateway>,
        max_upload_bytes: usize,
        actor: Option<Arc<str>>,
        request: hyper::Request<hyper::body::Incoming>,
    ) -> ApiResult {
        let (parts, body) = request.into_parts();
        let path = parts.uri.path();
        let found = self.paths.at(path).map_err(|_| {
            ApiError::new(StatusCode::NOT_FOUND, format!("no admin endpoint `{path}`"))
        })?;
        let Some((_, handler)) = found.value.iter().find(|(m, _)| *m == parts.method) else {
            let allow: Vec<&str> = found.value.iter().map(|(m, _)| m.as_str()).collect();
            return Err(ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                format!("`{} {path}` is not an admin endpoint", parts.method),
            )
            .with_allow(allow.join(", ")));
        };
        let params = found
            .params
            .iter()
            .map(|(key, value)| (key.to_owned(), value.to_owned()))
            .collect();
        handler(Call {
            gateway: gateway.clone(),
            actor,
            max_upload_bytes,
            params,
            parts,
            body: Some(body),
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_endpoint_is_routable_once() {
        let router = Router::new();
        let mut seen = std::collections::HashSet::new();
        for (method, path, _) in endpoints() {
            assert!(seen.insert((method.clone(), path)), "{method} {path} twice");
            let concrete = path.replace('{', "x").replace('}', "");
            let found = router.paths.at(&concrete).expect("registered");
            assert!(found.value.iter().any(|(m, _)| *m == method));
        }
    }
}
