//! How long an invocation's phases took ([`PhaseTimes`], recorded for every request), and
//! watching one invocation closely for the admin API's test invoke ([`Observation`]: the
//! guest's stdout and stderr captured in memory, and its phase times).

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use wasmtime_wasi::p2::pipe::MemoryOutputPipe;

use super::compute::ComputeUse;

/// Most bytes of stdout (and of stderr) kept; a guest writing more sees a write error.
pub const CAPTURE_LIMIT: usize = 1 << 20;

/// When an invocation created its instance, and when its guest code ran, each recorded
/// when it ends.
#[derive(Debug, Default)]
pub struct PhaseTimes {
    instantiate: OnceLock<(Instant, Instant)>,
    guest: OnceLock<(Instant, Instant)>,
    compute: ComputeUse,
}

impl PhaseTimes {
    /// What the invocation used of the machine so far.
    pub fn compute(&self) -> &ComputeUse {
        &self.compute
    }

    /// Time to create the instance, once it was created.
    pub fn instantiate(&self) -> Option<Duration> {
        self.instantiate.get().map(|(start, end)| *end - *start)
    }

    /// Time the guest's `handle` (or a WAGI command's `_start`) ran: until it returned, or,
    /// while it still runs, until now.
    pub fn guest(&self) -> Option<Duration> {
        self.guest_span().map(|(start, end)| end - start)
    }

    /// When the instance's creation started and ended.
    pub fn instantiate_span(&self) -> Option<(Instant, Instant)> {
        self.instantiate.get().copied()
    }

    /// When the guest code started and returned. A guest may still run when its response
    /// has ended (it finished the body, then went on): its span then ends now. It starts
    /// when the instance was created.
    pub fn guest_span(&self) -> Option<(Instant, Instant)> {
        self.guest.get().copied().or_else(|| {
            self.instantiate
                .get()
                .map(|&(_, created)| (created, Instant::now()))
        })
    }

    pub(super) fn set_instantiate(&self, start: Instant, end: Instant) {
        let _ = self.instantiate.set((start, end));
    }

    pub(super) fn set_guest(&self, start: Instant, end: Instant) {
        let _ = self.guest.set((start, end));
    }
}

/// What an observed invocation recorded.
#[derive(Debug)]
pub struct Observation {
    pub(super) stdout: MemoryOutputPipe,
    pub(super) stderr: MemoryOutputPipe,
    times: Arc<PhaseTimes>,
    route: OnceLock<(String, String)>,
    authorize: OnceLock<Duration>,
}

impl Default for Observation {
    fn default() -> Self {
        Observation {
            stdout: MemoryOutputPipe::new(CAPTURE_LIMIT),
            stderr: MemoryOutputPipe::new(CAPTURE_LIMIT),
            times: Arc::default(),
            route: OnceLock::new(),
            authorize: OnceLock::new(),
        }
    }
}

impl Observation {
    /// What the guest wrote to stdout.
    pub fn stdout(&self) -> Vec<u8> {
        self.stdout.contents().to_vec()
    }

    /// What the guest wrote to stderr.
    pub fn stderr(&self) -> Vec<u8> {
        self.stderr.contents().to_vec()
    }

    /// Where the invocation records its phase times.
    pub fn times(&self) -> &Arc<PhaseTimes> {
        &self.times
    }

    /// Time to create the instance, once it was created.
    pub fn instantiate_time(&self) -> Option<Duration> {
        self.times.instantiate()
    }

    /// Records the id and template of the route that matched.
    pub fn set_route(&self, id: &str, template: &str) {
        let _ = self.route.set((id.to_owned(), template.to_owned()));
    }

    /// The id and template of the route that matched, if one did.
    pub fn route(&self) -> Option<&(String, String)> {
        self.route.get()
    }

    /// Records how long the route's authorizer step took.
    pub fn set_authorize_time(&self, time: Duration) {
        let _ = self.authorize.set(time);
    }

    /// How long the route's authorizer step took (cache hits included), if it has one.
    pub fn authorize_time(&self) -> Option<Duration> {
        self.authorize.get().copied()
    }

    /// Time the guest's `handle` ran, once it returned.
    pub fn handle_time(&self) -> Option<Duration> {
        self.times.guest()
    }
}

/// An instance being created or alive: counted in the `wasmgate_instances` gauge while this
/// is held.
pub(super) struct LiveInstance(());

impl LiveInstance {
    pub(super) fn new() -> Self {
        crate::telemetry::metrics().instances.inc();
        LiveInstance(())
    }
}

impl Drop for LiveInstance {
    fn drop(&mut self) {
        crate::telemetry::metrics().instances.dec();
    }
}
