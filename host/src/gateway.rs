//! The gateway: routes a request to its handler and turns every outcome into a response.
//!
//! The routes live in a snapshot built from the registry. A deploy builds a new snapshot
//! and swaps it in atomically: new requests see it at once, requests in flight keep the
//! `Route` (and handler version) they started with.

use std::sync::Arc;

use arc_swap::ArcSwap;
use bytes::Bytes;
use http::HeaderValue;
use hyper::body::Body;

use crate::limits::InvocationLimits;
use crate::registry::{Registry, RegistryError, RegistryState, Target, route_id};
use crate::rejection::{REQUEST_ID, Rejection, ResponseBody};
use crate::routing::{Lookup, MethodFilter, RouteTable};
use crate::runtime::{HandlerComponent, InvocationFacts, InvokeError, Observation};

/// The response header naming the module version that answered (`hello@3`).
pub const EXECUTED_VERSION: http::HeaderName = http::HeaderName::from_static("x-wasmgate-version");

/// A route ready to serve.
pub struct Route {
    /// Its id in the admin API.
    pub id: String,
    /// Accepted methods.
    pub method: MethodFilter,
    /// The template, as written (the context interface returns it).
    pub template: Arc<str>,
    /// What it runs, as written (`hello@prod`).
    pub target: Target,
    /// The handler version(s), or why none can run.
    handlers: Result<Handlers, String>,
    /// Timeout and memory of each invocation.
    pub limits: InvocationLimits,
}

/// The version a route runs, and possibly a canary sharing its traffic.
struct Handlers {
    primary: Version,
    canary: Option<(Version, u8)>,
}

struct Version {
    label: HeaderValue,
    handler: HandlerComponent,
}

impl Handlers {
    /// Picks the version for one request: the canary takes `percent` of requests, decided
    /// by the request id's random bits.
    fn pick(&self, request_id: &uuid::Uuid) -> &Version {
        match &self.canary {
            Some((canary, percent)) if (request_id.as_u128() % 100) < u128::from(*percent) => {
                canary
            }
            _ => &self.primary,
        }
    }
}

/// Routes and their compiled handlers, swapped whole on every deploy.
pub struct Gateway {
    registry: Arc<Registry>,
    routes: ArcSwap<RouteTable<Arc<Route>>>,
}

impl crate::server::HttpHandler for Gateway {
    fn handle(
        &self,
        request: hyper::Request<hyper::body::Incoming>,
    ) -> impl Future<Output = hyper::Response<ResponseBody>> + Send {
        Gateway::handle(self, request)
    }
}

impl Gateway {
    /// Builds the routes the registry holds (loading every handler version they use), and
    /// subscribes to the registry's changes to rebuild them after each.
    pub fn new(registry: Arc<Registry>) -> Result<Arc<Self>, RegistryError> {
        let routes = build_routes(&registry, &registry.state())?;
        let gateway = Arc::new(Gateway {
            registry: registry.clone(),
            routes: ArcSwap::from_pointee(routes),
        });
        let weak = Arc::downgrade(&gateway);
        registry.subscribe(move |state| {
            if let Some(gateway) = weak.upgrade() {
                gateway.rebuild(state);
            }
        });
        Ok(gateway)
    }

    /// Builds the routes of `state` and swaps them in; on failure the current routes stay.
    fn rebuild(&self, state: &RegistryState) {
        match build_routes(&self.registry, state) {
            Ok(routes) => self.routes.store(Arc::new(routes)),
            Err(error) => tracing::error!(%error, "routes not rebuilt; the previous ones serve"),
        }
    }

    /// The registry behind the routes.
    pub fn registry(&self) -> &Arc<Registry> {
        &self.registry
    }

    /// Every route, in the registry's order.
    pub fn routes(&self) -> Vec<Arc<Route>> {
        self.routes
            .load()
            .iter()
            .map(|(_, _, r)| r.clone())
            .collect()
    }

    /// Serves one request: route it, run its handler, answer. Never fails: every failure
    /// becomes a [`Rejection`] response.
    pub async fn handle<B>(&self, request: hyper::Request<B>) -> hyper::Response<ResponseBody>
    where
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: Into<wasmtime_wasi_http::Error>,
    {
        self.handle_observed(request, None).await
    }

    /// [`Gateway::handle`], recording the invocation in `observation` (the admin API's test
    /// invoke): the same routing, limits and answers.
    pub async fn handle_observed<B>(
        &self,
        request: hyper::Request<B>,
        observation: Option<Arc<Observation>>,
    ) -> hyper::Response<ResponseBody>
    where
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: Into<wasmtime_wasi_http::Error>,
    {
        let uuid = uuid::Uuid::new_v4();
        let request_id = uuid.to_string();
        let id_header = HeaderValue::from_str(&request_id)
            .unwrap_or_else(|_| HeaderValue::from_static("invalid-request-id"));
        let (route, params) = {
            let routes = self.routes.load();
            match routes.lookup(request.method(), request.uri().path()) {
                Lookup::Found { route, params } => (route.clone(), params),
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
            }
        };
        if let Some(observation) = &observation {
            observation.set_route(&route.id, &route.template);
        }
        let version = match &route.handlers {
            Ok(handlers) => handlers.pick(&uuid),
            Err(reason) => {
                return Rejection::Unavailable(reason.clone()).into_response(&id_header);
            }
        };
        let facts = InvocationFacts {
            request_id,
            route: route.template.clone(),
            path_params: params,
            principal: None,
            authorizer_context: Vec::new(),
        };
        match version
            .handler
            .invoke(request, facts, &route.limits, observation)
            .await
        {
            Ok(mut response) => {
                let headers = response.headers_mut();
                headers.insert(REQUEST_ID, id_header);
                headers.insert(EXECUTED_VERSION, version.label.clone());
                response
            }
            Err(error) => {
                log_failure(&id_header, &route, &error);
                let mut response = Rejection::Handler(error).into_response(&id_header);
                response
                    .headers_mut()
                    .insert(EXECUTED_VERSION, version.label.clone());
                response
            }
        }
    }
}

fn log_failure(request_id: &HeaderValue, route: &Route, error: &InvokeError) {
    tracing::warn!(
        request_id = ?request_id,
        route = %route.template,
        target = %route.target,
        %error,
        "invocation failed"
    );
}

/// Resolves every stored route to its handler versions. A route whose version cannot be
/// loaded (say, its stored file was quarantined) stays, answering 503.
fn build_routes(
    registry: &Registry,
    state: &RegistryState,
) -> Result<RouteTable<Arc<Route>>, RegistryError> {
    let mut table = RouteTable::new();
    for record in &state.routes {
        let spec = record.config.validate().map_err(|problems| {
            RegistryError::Storage(format!(
                "stored route `{} {}` is invalid: {problems:?}",
                record.config.method, record.config.path
            ))
        })?;
        let handlers = load_handlers(registry, state, &spec.target);
        if let Err(reason) = &handlers {
            tracing::error!(route = %record.config.path, %reason, "route cannot run");
        }
        let route = Route {
            id: route_id(&record.config),
            method: spec.method.clone(),
            template: Arc::from(spec.template.as_str()),
            target: spec.target.clone(),
            handlers,
            limits: spec.limits,
        };
        table
            .insert(spec.method, spec.template, Arc::new(route))
            .map_err(|conflict| RegistryError::Conflict(conflict.to_string()))?;
    }
    Ok(table)
}

fn load_handlers(
    registry: &Registry,
    state: &RegistryState,
    target: &Target,
) -> Result<Handlers, String> {
    let resolved = Registry::resolve(state, target)?;
    let version = |number: u32, sha256: &str| -> Result<Version, String> {
        let handler = registry.handler(sha256).map_err(|e| {
            format!(
                "version {number} of `{}` cannot be loaded: {e}",
                target.module
            )
        })?;
        let label = HeaderValue::from_str(&format!("{}@{number}", target.module))
            .map_err(|e| e.to_string())?;
        Ok(Version { label, handler })
    };
    Ok(Handlers {
        primary: version(resolved.version, &resolved.sha256)?,
        canary: match &resolved.canary {
            Some((number, sha256, percent)) => Some((version(*number, sha256)?, *percent)),
            None => None,
        },
    })
}
