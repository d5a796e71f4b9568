//! Watching one invocation closely, for the admin API's test invoke: the guest's stdout and
//! stderr captured in memory, and how long instantiation and the handler took.

use std::sync::OnceLock;
use std::time::Duration;

use wasmtime_wasi::p2::pipe::MemoryOutputPipe;

/// Most bytes of stdout (and of stderr) kept; a guest writing more sees a write error.
pub const CAPTURE_LIMIT: usize = 1 << 20;

/// What an observed invocation recorded.
#[derive(Debug)]
pub struct Observation {
    pub(super) stdout: MemoryOutputPipe,
    pub(super) stderr: MemoryOutputPipe,
    pub(super) instantiate: OnceLock<Duration>,
    pub(super) handle: OnceLock<Duration>,
    route: OnceLock<(String, String)>,
    authorize: OnceLock<Duration>,
}

impl Default for Observation {
    fn default() -> Self {
        Observation {
            stdout: MemoryOutputPipe::new(CAPTURE_LIMIT),
            stderr: MemoryOutputPipe::new(CAPTURE_LIMIT),
            instantiate: OnceLock::new(),
            handle: OnceLock::new(),
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

    /// Time to create the instance, once it was created.
    pub fn instantiate_time(&self) -> Option<Duration> {
        self.instantiate.get().copied()
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
        self.handle.get().copied()
    }
}
