//! The host side of `wasmgate:gateway/context` (see `wit/gateway.wit`): what a handler can
//! learn about its invocation beyond the HTTP request itself.

use std::sync::Arc;

use wasmtime::component::{HasSelf, Linker};

mod bindings {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "wasmgate:gateway/gateway-imports",
    });
}

use bindings::wasmgate::gateway::context;

/// The facts about one invocation that the context interface returns.
#[derive(Debug, Clone, Default)]
pub struct InvocationFacts {
    /// Unique id of the invocation (also the `x-request-id` response header).
    pub request_id: String,
    /// The matched route's template.
    pub route: Arc<str>,
    /// Decoded path parameters, in template order.
    pub path_params: Vec<(String, String)>,
    /// The principal an authorizer allowed, if any.
    pub principal: Option<String>,
    /// The authorizer's context map.
    pub authorizer_context: Vec<(String, String)>,
    /// The client's address, when the connection has one (WAGI's `REMOTE_ADDR`).
    pub client_ip: Option<std::net::IpAddr>,
    /// Whether the request came over TLS (the `https` scheme guests see).
    pub over_tls: bool,
    /// The stage variables of the alias the route runs.
    pub stage_variables: Arc<[(String, String)]>,
    /// The W3C `traceparent` naming the invocation's span, when the request is traced: the
    /// guest's outbound requests carry it unless they set their own.
    pub traceparent: Option<http::HeaderValue>,
}

impl context::Host for InvocationFacts {
    fn request_id(&mut self) -> String {
        self.request_id.clone()
    }

    fn route(&mut self) -> String {
        self.route.to_string()
    }

    fn path_params(&mut self) -> Vec<(String, String)> {
        self.path_params.clone()
    }

    fn path_param(&mut self, name: String) -> Option<String> {
        value_of(&self.path_params, &name)
    }

    fn principal(&mut self) -> Option<String> {
        self.principal.clone()
    }

    fn authorizer_context(&mut self) -> Vec<(String, String)> {
        self.authorizer_context.clone()
    }

    fn stage_variables(&mut self) -> Vec<(String, String)> {
        self.stage_variables.to_vec()
    }

    fn stage_variable(&mut self, name: String) -> Option<String> {
        value_of(&self.stage_variables, &name)
    }
}

/// The value `name` has among `pairs`.
fn value_of(pairs: &[(String, String)], name: &str) -> Option<String> {
    pairs
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.clone())
}

/// Adds the context interface to `linker`; `facts` finds the invocation's facts in the
/// store's data.
pub(super) fn add_to_linker<T: 'static>(
    linker: &mut Linker<T>,
    facts: fn(&mut T) -> &mut InvocationFacts,
) -> wasmtime::Result<()> {
    context::add_to_linker::<T, HasSelf<InvocationFacts>>(linker, facts)
}
