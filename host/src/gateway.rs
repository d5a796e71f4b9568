//! The gateway: routes a request to its handler and turns every outcome into a response.
//!
//! Built from a [`Manifest`]: each module is compiled once, each route points at one.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use http::HeaderValue;
use hyper::body::Body;

use crate::limits::InvocationLimits;
use crate::manifest::{Manifest, ModuleName};
use crate::rejection::{REQUEST_ID, Rejection, ResponseBody};
use crate::routing::{Lookup, MethodFilter, RouteConflict, RouteTable, RouteTemplate};
use crate::runtime::{HandlerComponent, InvocationFacts, LoadError, Runtime};

/// A route ready to serve.
pub struct Route {
    /// Accepted methods.
    pub method: MethodFilter,
    /// The template, as written (the context interface returns it).
    pub template: Arc<str>,
    /// The module's name.
    pub module: ModuleName,
    /// The compiled handler.
    handler: HandlerComponent,
    /// Timeout and memory of each invocation.
    pub limits: InvocationLimits,
}

/// Why a gateway could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GatewayError {
    /// A module failed to load.
    #[error("module `{module}`: {error}")]
    Load {
        /// The module.
        module: ModuleName,
        /// Why.
        error: LoadError,
    },
    /// A route names a module that is not loaded.
    #[error("route `{route}`: no module named `{module}`")]
    UnknownModule {
        /// The route.
        route: String,
        /// The module it names.
        module: ModuleName,
    },
    /// Two routes conflict.
    #[error(transparent)]
    Conflict(#[from] RouteConflict),
}

/// Routes and their compiled handlers.
pub struct Gateway {
    runtime: Arc<Runtime>,
    routes: RouteTable<Route>,
}

impl Gateway {
    /// Compiles every module of the manifest and builds the route table.
    pub fn from_manifest(runtime: Arc<Runtime>, manifest: &Manifest) -> Result<Self, GatewayError> {
        let mut handlers = HashMap::new();
        for module in &manifest.modules {
            let started = std::time::Instant::now();
            let handler =
                runtime
                    .load_handler(&module.path)
                    .map_err(|error| GatewayError::Load {
                        module: module.name.clone(),
                        error,
                    })?;
            tracing::info!(
                module = %module.name,
                path = %module.path.display(),
                compile_ms = started.elapsed().as_millis() as u64,
                "module loaded"
            );
            handlers.insert(module.name.clone(), handler);
        }
        let mut routes = RouteTable::new();
        for spec in &manifest.routes {
            let handler = handlers
                .get(&spec.module)
                .ok_or_else(|| GatewayError::UnknownModule {
                    route: spec.to_string(),
                    module: spec.module.clone(),
                })?
                .clone();
            let route = Route {
                method: spec.method.clone(),
                template: Arc::from(spec.template.as_str()),
                module: spec.module.clone(),
                handler,
                limits: spec.limits,
            };
            routes.insert(spec.method.clone(), spec.template.clone(), route)?;
        }
        Ok(Gateway { runtime, routes })
    }

    /// The runtime the handlers run on.
    pub fn runtime(&self) -> &Arc<Runtime> {
        &self.runtime
    }

    /// Every route with its template.
    pub fn routes(&self) -> impl Iterator<Item = (&RouteTemplate, &Route)> {
        self.routes
            .iter()
            .map(|(_, template, route)| (template, route))
    }

    /// Serves one request: route it, run its handler, answer. Never fails: every failure
    /// becomes a [`Rejection`] response.
    pub async fn handle<B>(&self, request: hyper::Request<B>) -> hyper::Response<ResponseBody>
    where
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: Into<wasmtime_wasi_http::Error>,
    {
        let request_id = uuid::Uuid::new_v4().to_string();
        let id_header = HeaderValue::from_str(&request_id)
            .unwrap_or_else(|_| HeaderValue::from_static("invalid-request-id"));
        let (route, params) = match self.routes.lookup(request.method(), request.uri().path()) {
            Lookup::Found { route, params } => (route, params),
            Lookup::InvalidParam { name } => {
                return Rejection::BadRequest(format!(
                    "the path parameter `{name}` is not valid UTF-8 once percent-decoded"
                ))
                .into_response(&id_header);
            }
            Lookup::MethodNotAllowed { allow } => {
                return Rejection::MethodNotAllowed { allow }.into_response(&id_header);
            }
            Lookup::NotFound => return Rejection::NotFound.into_response(&id_header),
        };
        let facts = InvocationFacts {
            request_id,
            route: route.template.clone(),
            path_params: params,
            principal: None,
            authorizer_context: Vec::new(),
        };
        match route.handler.invoke(request, facts, &route.limits).await {
            Ok(mut response) => {
                response.headers_mut().insert(REQUEST_ID, id_header);
                response
            }
            Err(error) => {
                tracing::warn!(
                    request_id = ?id_header,
                    route = %route.template,
                    module = %route.module,
                    %error,
                    "invocation failed"
                );
                Rejection::Handler(error).into_response(&id_header)
            }
        }
    }
}
