//! Custom authorizer components (`wasmgate:gateway/authorizer`, see `wit/gateway.wit`):
//! one call of `authorize` in a fresh instance, bounded in time and memory like a
//! handler, with the decision's size capped.

use std::time::Instant;

use super::context::InvocationFacts;
use super::invoke::{InvokeError, classify};
use super::observe::LiveInstance;
use super::state::{InvocationState, Sandbox, StoreSetting, new_store};
use crate::config::limits::InvocationLimits;

mod bindings {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "wasmgate:gateway/authorizer",
        exports: { default: async },
    });
}

pub(super) use bindings::AuthorizerPre;
pub use bindings::exports::wasmgate::gateway::authorize::{AuthRequest, AuthorizerKind, Decision};

/// Largest decision accepted — principal, context keys and values together — as API
/// Gateway's 8 KiB limit on authorizer responses.
pub const MAX_DECISION_BYTES: usize = 8 * 1024;

/// A compiled, pre-linked authorizer component.
#[derive(Clone)]
pub struct AuthorizerComponent {
    pub(super) pre: AuthorizerPre<InvocationState>,
}

/// Why an authorizer gave no usable decision (the gateway answers 500: it fails closed).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthorizeError {
    /// It trapped, ran out of time or memory, or could not be instantiated.
    #[error("the authorizer failed: {0}")]
    Failed(InvokeError),
    /// It returned an error.
    #[error("the authorizer returned an error: {0}")]
    Errored(String),
    /// Its decision is over [`MAX_DECISION_BYTES`].
    #[error("the authorizer's decision is {0} bytes, over the limit of 8 KiB")]
    TooLarge(usize),
}

impl AuthorizerComponent {
    /// Runs `authorize` for one request in a fresh instance.
    pub async fn authorize(
        &self,
        request: AuthRequest,
        facts: InvocationFacts,
        limits: &InvocationLimits,
        sandbox: &Sandbox,
    ) -> Result<Decision, AuthorizeError> {
        let deadline = Instant::now() + limits.timeout;
        let setting = StoreSetting {
            facts,
            sandbox,
            observation: None,
            tape: None,
        };
        let mut store = new_store(self.pre.engine(), setting, limits, deadline);
        let pre = self.pre.clone();
        // Run inline: the request waits for the decision anyway, and dropping the request
        // (the client went away) drops the call with it.
        let call = async move {
            let _live = LiveInstance::new();
            let authorizer = pre.instantiate_async(&mut store).await?;
            authorizer
                .wasmgate_gateway_authorize()
                .call_authorize(&mut store, &request)
                .await
        };
        match tokio::time::timeout_at(deadline.into(), call).await {
            Err(_elapsed) => Err(AuthorizeError::Failed(InvokeError::Timeout(limits.timeout))),
            Ok(Err(error)) => Err(AuthorizeError::Failed(classify(error, limits.timeout))),
            Ok(Ok(Err(message))) => Err(AuthorizeError::Errored(message)),
            Ok(Ok(Ok(decision))) => {
                let size = decision.principal_id.len()
                    + decision
                        .context
                        .iter()
                        .map(|(k, v)| k.len() + v.len())
                        .sum::<usize>();
                if size > MAX_DECISION_BYTES {
                    return Err(AuthorizeError::TooLarge(size));
                }
                Ok(decision)
            }
        }
    }
}
