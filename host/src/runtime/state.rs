//! The data of one invocation's `Store`: WASI and `wasi:http` contexts, the resource
//! table, the limiter (`limiter.rs`) and the gateway facts. Built fresh for every request,
//! and readied again for each request a reused instance serves.

use std::time::Instant;

use wasmtime::component::ResourceTable;
use wasmtime::{Engine, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiBody, WasiHttpCtx, WasiHttpCtxView, WasiHttpHooks, WasiHttpView};

use std::sync::Arc;

use super::config_store::ConfigValues;
use super::context::InvocationFacts;
use super::guest_log::GuestLog;
use super::keyvalue::{KeyValueAccess, KeyValueView};
use super::limiter::{SandboxLimiter, configure_store};
use super::observe::Observation;
use super::tape::{OutboundSlot, Tape};
use crate::allowlist::AllowList;
use crate::config::limits::InvocationLimits;

/// Store data of one invocation.
pub struct InvocationState {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    table: ResourceTable,
    hooks: OutboundPolicy,
    pub(super) limiter: SandboxLimiter,
    pub(super) facts: InvocationFacts,
    /// Where the guest's output is logged, unless it is observed.
    log: Option<GuestLog>,
    /// The key-value stores the module may open.
    key_value: Option<KeyValueAccess>,
    /// Its variables and opened secrets (`wasi:config/store`).
    config: Arc<[(String, String)]>,
}

impl InvocationState {
    /// Fresh state: no environment, arguments, files or sockets. The guest's stdout and
    /// stderr go to the gateway's log, line by line and bounded ([`GuestLog`]) — or, when
    /// the invocation is observed, into the observation.
    pub(super) fn new(
        facts: InvocationFacts,
        limits: &InvocationLimits,
        sandbox: &Sandbox,
        observation: Option<&Observation>,
        tape: Option<Tape>,
    ) -> Self {
        let mut builder = WasiCtx::builder();
        builder.envs(&sandbox.env);
        if let Some(tape) = &tape {
            tape.configure(&mut builder);
        }
        let log = match observation {
            Some(observation) => {
                builder
                    .stdout(observation.stdout.clone())
                    .stderr(observation.stderr.clone());
                None
            }
            None => {
                let (stdout, stderr) = GuestLog::pair(&facts.request_id, &facts.route);
                builder.stdout(stdout.clone()).stderr(stderr);
                Some(stdout)
            }
        };
        let wasi = builder.build();
        let mut table = ResourceTable::new();
        table.set_max_capacity(MAX_RESOURCES);
        InvocationState {
            wasi,
            http: WasiHttpCtx::new(),
            table,
            hooks: OutboundPolicy {
                allowed: sandbox.outbound.clone(),
                traceparent: facts.traceparent.clone(),
                tape,
            },
            limiter: SandboxLimiter::new(limits),
            facts,
            log,
            key_value: sandbox.key_value.clone(),
            config: sandbox.config.clone(),
        }
    }

    /// What `wasi:config/store` answers.
    pub(super) fn config(&mut self) -> ConfigValues<'_> {
        ConfigValues(&self.config)
    }

    /// What `wasi:keyvalue`'s host functions work on.
    pub(super) fn key_value(&mut self) -> KeyValueView<'_> {
        KeyValueView {
            table: &mut self.table,
            access: self.key_value.as_ref(),
        }
    }

    /// Whether the instance may serve another request once this one returned: its output
    /// is logged (not observed), and the guest let go of every HTTP resource that keeps a
    /// response or a connection busy (an unfinished response body, say). A request it
    /// keeps (a JavaScript engine waiting for its collector) only loses its unread body,
    /// so the client's connection is not held up by it. Other resources it keeps — a
    /// `stdout` stream cached by its standard library — are its own state, as its memory is.
    pub(super) fn reusable(&mut self) -> bool {
        use wasmtime_wasi_http::p2::body::{
            HostFutureTrailers, HostIncomingBody, HostOutgoingBody,
        };
        use wasmtime_wasi_http::p2::types::{
            HostFutureIncomingResponse, HostIncomingRequest, HostIncomingResponse,
            HostOutgoingRequest, HostOutgoingResponse, HostResponseOutparam,
        };
        let mut busy = self.log.is_none();
        for entry in self.table.iter_mut() {
            let entry: &mut dyn std::any::Any = entry;
            if let Some(request) = entry.downcast_mut::<HostIncomingRequest>() {
                request.body = None;
                continue;
            }
            busy |= entry.is::<HostResponseOutparam>()
                || entry.is::<HostOutgoingResponse>()
                || entry.is::<HostOutgoingBody>()
                || entry.is::<HostIncomingBody>()
                || entry.is::<HostFutureTrailers>()
                || entry.is::<HostOutgoingRequest>()
                || entry.is::<HostIncomingResponse>()
                || entry.is::<HostFutureIncomingResponse>();
        }
        if busy {
            tracing::debug!(
                request_id = %self.facts.request_id,
                "instance not reused: its output was observed or it kept an HTTP resource"
            );
        }
        !busy
    }

    /// Readies the state of an instance that served a request for the next one (`facts`):
    /// the context, the trace parent of outbound calls and the output's log follow it.
    pub(super) fn rebind(&mut self, facts: InvocationFacts) {
        if let Some(log) = &self.log {
            log.rebind(&facts.request_id, &facts.route);
        }
        self.hooks.traceparent = facts.traceparent.clone();
        self.facts = facts;
    }
}

/// What a store is built with besides its engine and limits.
pub(super) struct StoreSetting<'a> {
    pub facts: InvocationFacts,
    pub sandbox: &'a Sandbox,
    pub observation: Option<&'a Observation>,
    /// Where its clocks, randomness and outbound responses come from and go, when taped.
    pub tape: Option<Tape>,
}

/// A fresh store for one component invocation ending at `deadline` (see
/// [`configure_store`]).
pub(super) fn new_store(
    engine: &Engine,
    setting: StoreSetting<'_>,
    limits: &InvocationLimits,
    deadline: Instant,
) -> Store<InvocationState> {
    let StoreSetting {
        facts,
        sandbox,
        observation,
        tape,
    } = setting;
    let mut store = Store::new(
        engine,
        InvocationState::new(facts, limits, sandbox, observation, tape),
    );
    configure_store(&mut store, |state| &mut state.limiter, limits, deadline);
    store
}

impl WasiView for InvocationState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for InvocationState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.hooks,
        }
    }
}

/// Most resources (streams, fields, requests…) one invocation may hold at once.
const MAX_RESOURCES: usize = 10_000;

/// What a module's instances get from their configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sandbox {
    /// Environment variables.
    pub env: Vec<(String, String)>,
    /// Origins outgoing HTTP requests may reach.
    pub outbound: Arc<AllowList>,
    /// The stage variables of the alias that chose this version (`wasmgate:gateway/context`
    /// and WAGI's `X_STAGE_*`).
    pub stage_variables: Arc<[(String, String)]>,
    /// The key-value stores it may open (`wasi:keyvalue`).
    pub key_value: Option<KeyValueAccess>,
    /// Its variables and opened secrets (`wasi:config/store`); a secret shadows a variable
    /// of the same name.
    pub config: Arc<[(String, String)]>,
}

/// What guests may reach over `wasi:http/outgoing-handler` (see `outbound.rs`; the default
/// hook of wasmtime-wasi-http sends anywhere with 600 s timeouts).
/// The W3C trace context header.
const TRACEPARENT: http::HeaderName = http::HeaderName::from_static("traceparent");

struct OutboundPolicy {
    allowed: Arc<AllowList>,
    /// Added to outbound requests that carry no `traceparent` of their own.
    traceparent: Option<http::HeaderValue>,
    /// Records the responses, or answers from a recording.
    tape: Option<Tape>,
}

impl WasiHttpHooks for OutboundPolicy {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<wasmtime_wasi_http::RequestOptions>,
        _fut: Box<dyn Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send>,
    ) -> Box<
        dyn Future<
                Output = wasmtime_wasi_http::Result<(
                    http::Response<WasiBody>,
                    Box<dyn Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send>,
                )>,
            > + Send,
    > {
        let mut request = request;
        if let Some(traceparent) = &self.traceparent
            && !request.headers().contains_key(TRACEPARENT)
        {
            request
                .headers_mut()
                .insert(TRACEPARENT, traceparent.clone());
        }
        let slot = match &self.tape {
            None => {
                return Box::new(super::outbound::send(
                    self.allowed.clone(),
                    request,
                    options,
                ));
            }
            Some(tape) => tape.outbound(request.method(), request.uri()),
        };
        match slot {
            OutboundSlot::Replay(exchange) => {
                Box::new(super::tape::play_outbound(exchange, request))
            }
            OutboundSlot::Record(recorder, index) => {
                let send = super::outbound::send(self.allowed.clone(), request, options);
                Box::new(async move { recorder.fill(index, send.await) })
            }
        }
    }
}
