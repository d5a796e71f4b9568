//! Bindings to `wasmgate:gateway/context` (see `wit/gateway.wit`), the gateway's facts
//! about the current invocation. [`crate::Request`] exposes them; these are the raw calls.

mod bindings {
    wit_bindgen::generate!({
        path: "../wit",
        world: "wasmgate:gateway/gateway-imports",
    });
}

pub(crate) use bindings::wasmgate::gateway::context::{
    authorizer_context, path_params, principal, request_id, route, stage_variable, stage_variables,
};
