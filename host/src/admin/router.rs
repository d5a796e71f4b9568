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
use super::{ApiError, ApiResult, invoke, upload_executor};
use crate::gateway::Gateway;

/// One call of an endpoint: the request, its path parameters and the gateway.
pub(super) struct Call {
    gateway: Arc<Gateway>,
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

fn endpoint(
    method: Method,
    path: &'static str,
    handler: Handler,
) -> (Method, &'static str, Handler) {
    (method, path, handler)
}

/// Every endpoint (the table in `mod.rs`'s documentation lists the same).
fn endpoints() -> Vec<(Method, &'static str, Handler)> {
    use Method as M;
    vec![
        endpoint(M::GET, "/modules", |c| {
            Box::pin(async move { c.api().list_modules() })
        }),
        endpoint(M::GET, "/modules/{name}", |c| {
            Box::pin(async move { c.api().get_module(&c.param("name")?) })
        }),
        endpoint(M::POST, "/modules/{name}", |mut c| {
            Box::pin(async move {
                let bytes = c.upload().await?;
                let executor = upload_executor(c.parts.uri.query())?;
                c.api().upload(&c.param("name")?, bytes, executor).await
            })
        }),
        endpoint(M::DELETE, "/modules/{name}/versions/{version}", |c| {
            Box::pin(async move {
                let (name, version) = (c.param("name")?, c.param("version")?);
                c.api().delete_version(&name, &version).await
            })
        }),
        endpoint(M::PUT, "/modules/{name}/aliases/{alias}", |mut c| {
            Box::pin(async move {
                let bytes = c.json().await?;
                let (name, alias) = (c.param("name")?, c.param("alias")?);
                c.api().put_alias(&name, &alias, &bytes).await
            })
        }),
        endpoint(M::DELETE, "/modules/{name}/aliases/{alias}", |c| {
            Box::pin(async move {
                let (name, alias) = (c.param("name")?, c.param("alias")?);
                c.api().delete_alias(&name, &alias).await
            })
        }),
        endpoint(M::PUT, "/modules/{name}/config", |mut c| {
            Box::pin(async move {
                let bytes = c.json().await?;
                c.api().put_module_config(&c.param("name")?, &bytes).await
            })
        }),
        endpoint(M::GET, "/routes", |c| {
            Box::pin(async move { c.api().list_routes() })
        }),
        endpoint(M::PUT, "/routes", |mut c| {
            Box::pin(async move {
                let bytes = c.json().await?;
                c.api().put_route(&bytes).await
            })
        }),
        endpoint(M::GET, "/routes/{id}", |c| {
            Box::pin(async move { c.api().get_route(&c.param("id")?) })
        }),
        endpoint(M::DELETE, "/routes/{id}", |c| {
            Box::pin(async move { c.api().delete_route(&c.param("id")?).await })
        }),
        endpoint(M::GET, "/routes/{id}/stats", |c| {
            Box::pin(async move { c.api().route_stats(&c.param("id")?) })
        }),
        endpoint(M::GET, "/authorizers", |c| {
            Box::pin(async move { c.api().list_authorizers() })
        }),
        endpoint(M::PUT, "/authorizers", |mut c| {
            Box::pin(async move {
                let bytes = c.json().await?;
                c.api().put_authorizer(&bytes).await
            })
        }),
        endpoint(M::GET, "/authorizers/{name}", |c| {
            Box::pin(async move { c.api().get_authorizer(&c.param("name")?) })
        }),
        endpoint(M::DELETE, "/authorizers/{name}", |c| {
            Box::pin(async move { c.api().delete_authorizer(&c.param("name")?).await })
        }),
        endpoint(M::GET, "/gateway", |c| {
            Box::pin(async move { c.api().get_gateway() })
        }),
        endpoint(M::PUT, "/gateway", |mut c| {
            Box::pin(async move {
                let bytes = c.json().await?;
                c.api().put_gateway(&bytes).await
            })
        }),
        endpoint(M::GET, "/plans", |c| {
            Box::pin(async move { c.api().list_plans() })
        }),
        endpoint(M::PUT, "/plans/{name}", |mut c| {
            Box::pin(async move {
                let bytes = c.json().await?;
                c.api().put_plan(&c.param("name")?, &bytes).await
            })
        }),
        endpoint(M::DELETE, "/plans/{name}", |c| {
            Box::pin(async move { c.api().delete_plan(&c.param("name")?).await })
        }),
        endpoint(M::GET, "/keys", |c| {
            Box::pin(async move { c.api().list_keys() })
        }),
        endpoint(M::POST, "/keys", |mut c| {
            Box::pin(async move {
                let bytes = c.json().await?;
                c.api().create_key(&bytes).await
            })
        }),
        endpoint(M::GET, "/keys/{id}", |c| {
            Box::pin(async move { c.api().get_key(&c.param("id")?) })
        }),
        endpoint(M::PUT, "/keys/{id}", |mut c| {
            Box::pin(async move {
                let bytes = c.json().await?;
                c.api().update_key(&c.param("id")?, &bytes).await
            })
        }),
        endpoint(M::DELETE, "/keys/{id}", |c| {
            Box::pin(async move { c.api().delete_key(&c.param("id")?).await })
        }),
        endpoint(M::POST, "/keys/{id}/rotate", |c| {
            Box::pin(async move { c.api().rotate_key(&c.param("id")?).await })
        }),
        endpoint(M::POST, "/invoke", |mut c| {
            Box::pin(async move {
                let bytes = c.upload().await?;
                invoke::invoke(&c.gateway, &bytes).await
            })
        }),
    ]
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
