//! The data of one invocation's `Store`: WASI and `wasi:http` contexts, the resource
//! table, the memory limiter and the gateway facts. Built fresh for every request.

use std::time::Instant;

use wasmtime::component::ResourceTable;
use wasmtime::{Engine, ResourceLimiter, Store, UpdateDeadline};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiBody, WasiHttpCtx, WasiHttpCtxView, WasiHttpHooks, WasiHttpView};

use std::sync::Arc;

use super::context::InvocationFacts;
use super::guest_log::GuestLog;
use super::observe::Observation;
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
    ) -> Self {
        let mut builder = WasiCtx::builder();
        builder.envs(&sandbox.env);
        match observation {
            Some(observation) => builder
                .stdout(observation.stdout.clone())
                .stderr(observation.stderr.clone()),
            None => {
                let (stdout, stderr) = GuestLog::pair(&facts.request_id);
                builder.stdout(stdout).stderr(stderr)
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
            },
            limiter: SandboxLimiter::new(limits),
            facts,
        }
    }
}

/// A guest grew its linear memory past its route's `memory_mb`.
#[derive(Debug, thiserror::Error)]
#[error(
    "the handler tried to grow its memory to {desired_bytes} bytes, over its limit of {limit_mb} MiB"
)]
pub struct MemoryLimitExceeded {
    /// The size the guest asked for.
    pub desired_bytes: usize,
    /// The route's limit.
    pub limit_mb: usize,
}

/// Bounds what one instance may allocate. A memory.grow past the limit traps with
/// [`MemoryLimitExceeded`] (instead of returning -1 to a guest that usually aborts without
/// saying why), so the gateway can name the limit in its 502.
pub(super) struct SandboxLimiter {
    memory_bytes: usize,
}

impl SandboxLimiter {
    /// The limits of a route's instances.
    pub(super) fn new(limits: &InvocationLimits) -> Self {
        SandboxLimiter {
            memory_bytes: usize::try_from(limits.memory_bytes).unwrap_or(usize::MAX),
        }
    }
}

impl ResourceLimiter for SandboxLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.memory_bytes {
            return Err(wasmtime::Error::new(MemoryLimitExceeded {
                desired_bytes: desired,
                limit_mb: self.memory_bytes >> 20,
            }));
        }
        Ok(maximum.is_none_or(|max| desired <= max))
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        // The pool's `table_elements` is the hard cap; `maximum` carries it.
        Ok(maximum.is_none_or(|max| desired <= max))
    }

    fn instances(&self) -> usize {
        MAX_CORE_INSTANCES
    }

    fn tables(&self) -> usize {
        MAX_TABLES
    }

    fn memories(&self) -> usize {
        MAX_MEMORIES
    }
}

/// Per-invocation caps on core instances, tables and memories: a component from any common
/// toolchain needs a handful of each.
const MAX_CORE_INSTANCES: usize = 64;
const MAX_TABLES: usize = 64;
const MAX_MEMORIES: usize = 8;

/// A fresh store for one component invocation ending at `deadline` (see
/// [`configure_store`]).
pub(super) fn new_store(
    engine: &Engine,
    facts: InvocationFacts,
    limits: &InvocationLimits,
    sandbox: &Sandbox,
    observation: Option<&Observation>,
    deadline: Instant,
) -> Store<InvocationState> {
    let mut store = Store::new(
        engine,
        InvocationState::new(facts, limits, sandbox, observation),
    );
    configure_store(&mut store, |state| &mut state.limiter, limits, deadline);
    store
}

/// Bounds a store, of any executor, to `limits`: memory through `limiter`, hostcall fuel,
/// the route's fuel, and an epoch check every tick — until the deadline a running guest
/// yields through tokio's `yield_now` (so its worker thread polls its sockets and timers
/// before resuming it), at the deadline it traps.
pub(super) fn configure_store<T: 'static>(
    store: &mut Store<T>,
    limiter: fn(&mut T) -> &mut SandboxLimiter,
    limits: &InvocationLimits,
    deadline: Instant,
) {
    store.limiter(move |state| limiter(state) as &mut dyn ResourceLimiter);
    store.set_hostcall_fuel(HOSTCALL_FUEL);
    // With fuel metering on, every store needs fuel (a new one has none); without it this
    // fails, harmlessly.
    let _ = store.set_fuel(limits.fuel.unwrap_or(u64::MAX));
    // A new Store's deadline is 0 ticks (it would trap at once): check every tick.
    store.set_epoch_deadline(1);
    store.epoch_deadline_callback(move |_| {
        Ok(if Instant::now() >= deadline {
            UpdateDeadline::Interrupt
        } else {
            UpdateDeadline::YieldCustom(1, Box::pin(tokio::task::yield_now()))
        })
    });
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
/// Most bytes a guest may pass to the host in one call (wasmtime's default: 128 MiB).
pub(super) const HOSTCALL_FUEL: usize = 16 << 20;

/// What a module's instances get from their configuration.
#[derive(Debug, Clone, Default)]
pub struct Sandbox {
    /// Environment variables.
    pub env: Vec<(String, String)>,
    /// Origins outgoing HTTP requests may reach.
    pub outbound: Arc<AllowList>,
}

/// What guests may reach over `wasi:http/outgoing-handler` (see `outbound.rs`; the default
/// hook of wasmtime-wasi-http sends anywhere with 600 s timeouts).
struct OutboundPolicy {
    allowed: Arc<AllowList>,
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
        Box::new(super::outbound::send(
            self.allowed.clone(),
            request,
            options,
        ))
    }
}
