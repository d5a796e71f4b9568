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
    /// Where the guest's output is logged, unless it is observed.
    log: Option<GuestLog>,
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
            },
            limiter: SandboxLimiter::new(limits),
            facts,
            log,
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

/// A guest grew its linear memory past its route's `memory_mb`.
#[derive(Debug, thiserror::Error)]
#[error(
    "the handler tried to grow its memory to {desired_bytes} bytes (all its memories and tables), over its limit of {limit_mb} MiB"
)]
pub struct MemoryLimitExceeded {
    /// The size the guest asked for.
    pub desired_bytes: usize,
    /// The route's limit.
    pub limit_mb: usize,
}

/// Bounds what one invocation may allocate: its linear memories and tables together stay
/// within the route's `memory_mb` — counted across all of them, as an instance may have
/// several (up to [`MAX_MEMORIES`]). A growth past the limit traps with
/// [`MemoryLimitExceeded`] (instead of returning -1 to a guest that usually aborts without
/// saying why), so the gateway can name the limit in its 502.
pub(super) struct SandboxLimiter {
    limit_bytes: usize,
    /// Bytes of every memory and table allocated so far.
    used_bytes: usize,
    /// The last growth allowed (bytes before, after), undone if it then failed.
    last_growth: (usize, usize),
    /// When the invocation must end: the epoch callback interrupts the guest then.
    deadline: Instant,
}

/// Bytes a table element is counted as (a reference).
const TABLE_ELEMENT_BYTES: usize = 8;

impl SandboxLimiter {
    /// The limits of a route's instances.
    pub(super) fn new(limits: &InvocationLimits) -> Self {
        SandboxLimiter {
            limit_bytes: usize::try_from(limits.memory_bytes).unwrap_or(usize::MAX),
            used_bytes: 0,
            last_growth: (0, 0),
            deadline: Instant::now(),
        }
    }

    /// Counts a memory or table growing from `current` to `desired` bytes, or refuses it.
    fn grow(
        &mut self,
        current: usize,
        desired: usize,
        beyond_maximum: bool,
    ) -> wasmtime::Result<bool> {
        let total = self
            .used_bytes
            .saturating_sub(current)
            .saturating_add(desired);
        if total > self.limit_bytes {
            return Err(wasmtime::Error::new(MemoryLimitExceeded {
                desired_bytes: total,
                limit_mb: self.limit_bytes >> 20,
            }));
        }
        if beyond_maximum {
            return Ok(false);
        }
        self.used_bytes = total;
        self.last_growth = (current, desired);
        Ok(true)
    }

    /// Undoes the count of the last growth, which failed.
    fn growth_failed(&mut self) {
        let (current, desired) = std::mem::take(&mut self.last_growth);
        self.used_bytes = self
            .used_bytes
            .saturating_sub(desired)
            .saturating_add(current);
    }
}

impl ResourceLimiter for SandboxLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.grow(current, desired, maximum.is_some_and(|max| desired > max))
    }

    fn memory_grow_failed(&mut self, _error: wasmtime::Error) -> wasmtime::Result<()> {
        self.growth_failed();
        Ok(())
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        // The pool's `table_elements` is the hard cap; `maximum` carries it.
        let beyond = maximum.is_some_and(|max| desired > max);
        self.grow(
            current.saturating_mul(TABLE_ELEMENT_BYTES),
            desired.saturating_mul(TABLE_ELEMENT_BYTES),
            beyond,
        )
    }

    fn table_grow_failed(&mut self, _error: wasmtime::Error) -> wasmtime::Result<()> {
        self.growth_failed();
        Ok(())
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
    store.epoch_deadline_callback(move |mut context| {
        Ok(if Instant::now() >= limiter(context.data_mut()).deadline {
            UpdateDeadline::Interrupt
        } else {
            UpdateDeadline::YieldCustom(1, Box::pin(tokio::task::yield_now()))
        })
    });
    rearm(store, limiter, limits, deadline);
}

/// Gives an invocation (the first of a store, or the next one of a reused instance) its
/// fuel and `deadline`.
pub(super) fn rearm<T: 'static>(
    store: &mut Store<T>,
    limiter: fn(&mut T) -> &mut SandboxLimiter,
    limits: &InvocationLimits,
    deadline: Instant,
) {
    limiter(store.data_mut()).deadline = deadline;
    // With fuel metering on, every store needs fuel (a new one has none); without it this
    // fails, harmlessly.
    let _ = store.set_fuel(limits.fuel.unwrap_or(u64::MAX));
    // Check the deadline every tick (a new Store's deadline is 0 ticks: it would trap at
    // once).
    store.set_epoch_deadline(1);
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
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sandbox {
    /// Environment variables.
    pub env: Vec<(String, String)>,
    /// Origins outgoing HTTP requests may reach.
    pub outbound: Arc<AllowList>,
}

/// What guests may reach over `wasi:http/outgoing-handler` (see `outbound.rs`; the default
/// hook of wasmtime-wasi-http sends anywhere with 600 s timeouts).
/// The W3C trace context header.
const TRACEPARENT: http::HeaderName = http::HeaderName::from_static("traceparent");

struct OutboundPolicy {
    allowed: Arc<AllowList>,
    /// Added to outbound requests that carry no `traceparent` of their own.
    traceparent: Option<http::HeaderValue>,
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
        Box::new(super::outbound::send(
            self.allowed.clone(),
            request,
            options,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(mb: u64) -> SandboxLimiter {
        SandboxLimiter::new(&InvocationLimits {
            memory_bytes: mb << 20,
            ..InvocationLimits::default()
        })
    }

    #[test]
    fn the_limit_counts_every_memory_of_the_instance() {
        let mut limiter = limiter(32);
        assert!(
            limiter
                .memory_growing(0, 20 << 20, None)
                .expect("first memory")
        );
        // A second memory of 20 MiB would make 40: refused, though each is under 32.
        let second = limiter.memory_growing(0, 20 << 20, None);
        let error = second.expect_err("over the limit in all");
        assert!(
            error.to_string().contains("over its limit of 32 MiB"),
            "{error}"
        );
        assert!(limiter.memory_growing(0, 10 << 20, None).expect("within"));
        // Growing the first memory counts only the difference.
        assert!(
            limiter
                .memory_growing(20 << 20, 21 << 20, None)
                .expect("1 MiB more")
        );
        assert!(limiter.memory_growing(21 << 20, 23 << 20, None).is_err());
    }

    #[test]
    fn tables_count_too_and_failed_growths_are_given_back() {
        let mut limiter = limiter(1);
        assert!(
            limiter
                .table_growing(0, 100_000, Some(200_000))
                .expect("800 KB")
        );
        assert!(limiter.memory_growing(0, 256 << 10, None).is_err());
        // Beyond the table's own maximum: refused, and nothing counted.
        assert!(
            !limiter
                .table_growing(100_000, 300_000, Some(200_000))
                .is_ok_and(|ok| ok)
        );
        // A growth allowed, then failed: given back.
        assert!(limiter.memory_growing(0, 64 << 10, None).expect("64 KiB"));
        limiter
            .memory_grow_failed(wasmtime::Error::msg("no memory"))
            .expect("noted");
        assert!(
            limiter
                .memory_growing(0, 192 << 10, None)
                .expect("room again")
        );
    }
}
