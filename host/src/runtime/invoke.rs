//! One invocation: a fresh `Store` and instance for the request, the guest's `handle` call
//! run on its own task, and its outcome classified for the gateway.
//!
//! Time is bounded twice, as epochs do not interrupt a guest blocked in a host call: the
//! epoch callback traps a guest still running at the deadline (and yields to other
//! requests on the thread every tick before that), and `tokio::time::timeout_at` drops the
//! whole call — store included — at the same deadline.

use std::sync::Arc;
use std::time::{Duration, Instant};

use http_body_util::BodyExt;
use wasmtime::{PoolConcurrencyLimitError, Trap};
use wasmtime_wasi_http::WasiHttpView;
use wasmtime_wasi_http::p2::bindings::http::types::{ErrorCode, Scheme};
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;

use super::GuestBody;
use super::compute::timed;
use super::context::InvocationFacts;
use super::guest_task::{GuardedBody, GuestTask};
use super::handler::{Handler, HandlerComponent};
use super::limiter::{MemoryLimitExceeded, rearm};
use super::observe::{LiveInstance, Observation, PhaseTimes};
use super::reuse::WarmInstance;
use super::spares::{SpareKind, Spares, instantiate};
use super::state::{Sandbox, StoreSetting, new_store};
use super::tape::Tape;
use crate::config::limits::InvocationLimits;

/// Why an invocation produced no response.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InvokeError {
    /// The guest trapped (`unreachable`, a panic, a stack overflow…) before responding.
    #[error("the handler trapped: {reason}")]
    Trap {
        /// The trap, without the backtrace.
        reason: String,
    },
    /// The guest grew its memory past the route's limit.
    #[error("{0}")]
    MemoryLimit(MemoryLimitExceeded),
    /// The guest did not respond within the route's timeout.
    #[error("the handler did not respond within its timeout of {} ms", .0.as_millis())]
    Timeout(Duration),
    /// The guest used up the route's fuel budget.
    #[error("the handler used up its fuel budget")]
    OutOfFuel,
    /// Every instance slot of the pool is in use.
    #[error("no instance slot is free: {0}")]
    PoolExhausted(String),
    /// The guest returned from `handle` without setting a response.
    #[error("the handler returned without sending a response")]
    NoResponse,
    /// The guest set an error instead of a response.
    #[error("the handler answered with an error instead of a response: {0:?}")]
    ErrorResponse(ErrorCode),
    /// A WAGI module exited with a non-zero status.
    #[error("the module exited with status {0}")]
    Exited(i32),
    /// A WAGI module's stdout is not a CGI response.
    #[error("the module's output is not a CGI response: {0}")]
    MalformedOutput(String),
    /// A WAGI module wrote more than it may.
    #[error("the module wrote more than {} MiB to stdout", .0 >> 20)]
    OutputTooLarge(usize),
    /// The request body stopped arriving before the handler could read it all.
    #[error("the request body stopped arriving")]
    BodyTimeout,
    /// The request could not be handed to the guest (e.g. no `Host` header).
    #[error("the request cannot be passed to a handler: {0}")]
    BadRequest(String),
    /// A failure of the gateway itself.
    #[error("internal error: {0}")]
    Internal(String),
}

impl InvokeError {
    /// The HTTP status a client gets for it, and its stable kind (the body's `error`).
    pub fn classify(&self) -> (http::StatusCode, &'static str) {
        use http::StatusCode as S;
        match self {
            InvokeError::Trap { .. } => (S::BAD_GATEWAY, "handler_trapped"),
            InvokeError::MemoryLimit(_) => (S::BAD_GATEWAY, "handler_memory_limit"),
            InvokeError::NoResponse => (S::BAD_GATEWAY, "handler_no_response"),
            InvokeError::ErrorResponse(_) => (S::BAD_GATEWAY, "handler_error_response"),
            InvokeError::Exited(_) => (S::BAD_GATEWAY, "handler_exited"),
            InvokeError::MalformedOutput(_) => (S::BAD_GATEWAY, "handler_malformed_output"),
            InvokeError::OutputTooLarge(_) => (S::BAD_GATEWAY, "handler_output_too_large"),
            InvokeError::Timeout(_) => (S::GATEWAY_TIMEOUT, "handler_timeout"),
            InvokeError::OutOfFuel => (S::GATEWAY_TIMEOUT, "handler_out_of_fuel"),
            InvokeError::PoolExhausted(_) => (S::SERVICE_UNAVAILABLE, "instance_pool_full"),
            InvokeError::BodyTimeout => (S::REQUEST_TIMEOUT, "request_timeout"),
            InvokeError::BadRequest(_) => (S::BAD_REQUEST, "bad_request"),
            InvokeError::Internal(_) => (S::INTERNAL_SERVER_ERROR, "internal_error"),
        }
    }
}

/// What invoking a handler ends with: the response (its body may still be streaming), or why
/// there is none.
pub type InvokeResult = Result<hyper::Response<HyperOutgoingBody>, InvokeError>;

/// What an invocation runs with, besides the request.
pub struct Invocation<'a> {
    /// What the guest learns through `wasmgate:gateway/context`.
    pub facts: InvocationFacts,
    /// When the response head is due (the request's deadline): the guest is interrupted
    /// then.
    pub deadline: Instant,
    /// The route's time (the request's whole budget), memory and fuel limits.
    pub limits: &'a InvocationLimits,
    /// The module's environment and outbound allow-list.
    pub sandbox: &'a Arc<Sandbox>,
    /// Where to capture the guest's output and timings (a test invoke), instead of logging.
    pub observation: Option<Arc<Observation>>,
    /// Where the instantiation and guest times are recorded.
    pub times: Arc<PhaseTimes>,
    /// Kept until the invocation ends — after the response body, not just its head (a
    /// concurrency slot, say).
    pub admission: Box<dyn Send + Sync>,
    /// With `isolation = "reuse"`, the most requests one instance serves: an idle instance
    /// may serve this one, and this one's instance later ones (components only, never when
    /// observed). `None`: a fresh instance, dropped at the end.
    pub reuse: Option<u32>,
    /// Records the guest's nondeterministic inputs, or plays recorded ones back (components
    /// only; a taped invocation always gets a fresh instance, dropped at the end).
    pub tape: Option<Tape>,
}

impl Handler {
    /// Runs `request` through a fresh instance of this handler, by its executor; see
    /// [`HandlerComponent::invoke`] and [`super::WagiHandler::invoke`].
    pub async fn invoke(
        &self,
        request: hyper::Request<impl GuestBody>,
        invocation: Invocation<'_>,
    ) -> InvokeResult {
        match self {
            Handler::Component(handler) => handler.invoke(request, invocation).await,
            Handler::Wagi(handler) => handler.invoke(request, invocation).await,
        }
    }
}

impl HandlerComponent {
    /// Runs `request` through a fresh instance of this handler; resolves when the response
    /// head is ready (the body keeps streaming from the guest afterwards). Dropping the
    /// future, or the response's body before its end, aborts the invocation.
    ///
    /// With an [`Invocation::observation`], the guest's output is captured there instead of
    /// logged, and the instantiation and `handle` times are recorded.
    pub async fn invoke(
        &self,
        request: hyper::Request<impl GuestBody>,
        Invocation {
            facts,
            deadline,
            limits,
            sandbox,
            observation,
            times,
            admission,
            reuse,
            tape,
        }: Invocation<'_>,
    ) -> InvokeResult {
        let request_id = facts.request_id.clone();
        let over_tls = facts.over_tls;
        let pre = self.pre.clone();
        let reuse = reuse.filter(|_| observation.is_none() && tape.is_none());
        // A request that gets a fresh instance anyway may get a spare, made ahead.
        let spare_may_serve =
            reuse.is_none() && observation.is_none() && tape.is_none() && self.spares.enabled();
        let spare = if spare_may_serve {
            self.spares.take(&self.pool, limits, sandbox)
        } else {
            None
        };
        let warm = reuse.and_then(|_| self.pool.take(limits, sandbox));
        let reused = warm.is_some();
        // An instance that exists already: a warm one, or a spare (which served nothing).
        let ready = warm
            .map(|warm| (warm.store, warm.proxy, warm.served))
            .or(spare.map(|(store, proxy)| (store, proxy, 0)));
        let (mut store, warm_proxy, served) = match ready {
            Some((mut store, proxy, served)) => {
                // Ready for this request: its facts and log, deadline and fuel.
                store.data_mut().rebind(facts);
                rearm(&mut store, |state| &mut state.limiter, limits, deadline);
                (store, Some(proxy), served)
            }
            None => {
                let setting = StoreSetting {
                    facts,
                    sandbox,
                    observation: observation.as_deref(),
                    tape,
                };
                let store = new_store(pre.engine(), setting, limits, deadline);
                (store, None, 0)
            }
        };
        let limits = *limits;
        // Where the instance may go back, and what it is matched by there; only for reuse.
        let reuse = reuse.map(|max_requests| (max_requests, sandbox.clone(), self.pool.clone()));
        // Where the instance goes when it answered cleanly: to the spares' preparer (only
        // from a worker that slept since its last hand-over; a busy one clones nothing).
        let retire = (spare_may_serve && Spares::worker_slept()).then(|| SpareKind {
            version: self.pool.clone(),
            pre: self.pre.clone(),
            limits,
            sandbox: sandbox.clone(),
        });
        let spares = self.spares.clone();

        let (sender, receiver) = tokio::sync::oneshot::channel();
        let mut http = store.data_mut().http();
        let scheme = if over_tls {
            Scheme::Https
        } else {
            Scheme::Http
        };
        let (request, out) = match http.new_incoming_request(scheme, request) {
            Ok(request) => (request, http.new_response_outparam(sender)),
            Err(e) => return Err(InvokeError::BadRequest(format!("{e:#}"))),
        };
        let out = out.map_err(|e| InvokeError::Internal(format!("{e:#}")))?;

        // The guest runs on its own task, so it can keep streaming the body after the head
        // is returned; the store, and the instance, are dropped when that task ends.
        let timeout = limits.timeout;
        let metered = times.clone();
        let task = GuestTask::spawn(async move {
            let _admission = admission;
            let _live = LiveInstance::new();
            let spares_ref = &spares;
            let call = async move {
                let instantiating = Instant::now();
                let proxy = match warm_proxy {
                    Some(proxy) => proxy,
                    None => instantiate(&pre, &mut store, spares_ref).await?,
                };
                let handling = Instant::now();
                times.set_instantiate(instantiating, handling);
                let handled = proxy
                    .wasi_http_incoming_handler()
                    .call_handle(&mut store, request, out)
                    .await;
                times.set_guest(handling, Instant::now());
                (times.compute()).note_memory(store.data().limiter.used_bytes());
                handled.map(|()| (store, proxy))
            };
            match tokio::time::timeout_at(deadline.into(), timed(metered, call)).await {
                Ok(Ok((mut store, proxy))) => {
                    // Only an instance that answered cleanly serves again.
                    if let Some((max_requests, sandbox, pool)) = reuse
                        && served + 1 < max_requests
                        && store.data_mut().reusable()
                    {
                        pool.put(WarmInstance {
                            store,
                            proxy,
                            served: served + 1,
                            limits,
                            sandbox,
                            idle_since: Instant::now(),
                        });
                    } else if let Some(kind) = retire {
                        spares.retire(store, proxy, kind);
                    }
                    Ok(())
                }
                Ok(Err(error)) => Err(classify(error, timeout)),
                Err(_elapsed) => Err(InvokeError::Timeout(timeout)),
            }
        });

        match receiver.await {
            Ok(Ok(response)) => {
                Ok(response.map(|body| GuardedBody::new(body, task, request_id).boxed_unsync()))
            }
            Ok(Err(code)) => Err(InvokeError::ErrorResponse(code)),
            // The outparam was dropped unset: the task's outcome says why.
            Err(_) => {
                let error = task
                    .outcome()
                    .await
                    .err()
                    .unwrap_or(InvokeError::NoResponse);
                if reused && matches!(error, InvokeError::NoResponse) {
                    self.pool.refuse_reuse(&request_id);
                }
                Err(error)
            }
        }
    }
}

pub(super) fn classify(error: wasmtime::Error, timeout: Duration) -> InvokeError {
    tracing::debug!("invocation failed: {error:?}");
    if let Some(trap) = error.downcast_ref::<Trap>() {
        return match trap {
            Trap::Interrupt => InvokeError::Timeout(timeout),
            Trap::OutOfFuel => InvokeError::OutOfFuel,
            other => InvokeError::Trap {
                reason: other.to_string(),
            },
        };
    }
    for cause in error.chain() {
        if let Some(exceeded) = cause.downcast_ref::<MemoryLimitExceeded>() {
            return InvokeError::MemoryLimit(MemoryLimitExceeded {
                desired_bytes: exceeded.desired_bytes,
                limit_mb: exceeded.limit_mb,
            });
        }
        if let Some(pool) = cause.downcast_ref::<PoolConcurrencyLimitError>() {
            return InvokeError::PoolExhausted(pool.to_string());
        }
    }
    InvokeError::Trap {
        reason: error.root_cause().to_string(),
    }
}
