//! Start-up without waiting for compilers: the manifest's modules that are not compiled
//! yet compile in the background, smallest first, as many at a time as there are cores,
//! while the gateway serves every route whose module is ready. The routes that wait answer
//! 503 with `Retry-After` (and `/readyz` answers 503) until their module is uploaded; then
//! the manifest is applied again with that module in, which adds them.
//!
//! The gateway starts listening once every module is in or a short grace period has passed
//! ([`BackgroundCompile::wait_briefly`]), so small modules are ready from the first request
//! and one that fails at once fails start-up. A module that fails later stops the gateway:
//! a manifest is served whole or not at all.

use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex};

use crate::admin::Readiness;
use crate::config::ModuleName;
use crate::gateway::Gateway;
use crate::manifest::{Manifest, ModuleSpec};
use crate::registry::{ApplyError, Registry, WaitingRoute};

/// Applies what of `manifest` needs no compiling; returns the modules left to compile
/// (smallest first) and the routes that wait for them.
pub(super) fn apply_ready_part(
    registry: &Registry,
    manifest: &Manifest,
) -> Result<(Vec<ModuleSpec>, Vec<WaitingRoute>), ApplyError> {
    let to_compile: Vec<ModuleSpec> = registry
        .modules_to_compile(manifest)?
        .into_iter()
        .cloned()
        .collect();
    let names = to_compile.iter().map(|m| m.name.clone()).collect();
    let waiting = registry.apply_manifest_except(manifest, &names)?;
    Ok((to_compile, waiting))
}

/// What the compiling threads share.
struct Compiling {
    registry: Arc<Registry>,
    gateway: Arc<Gateway>,
    readiness: Arc<Readiness>,
    manifest: Manifest,
    /// Modules no thread has taken yet, smallest first.
    queue: Mutex<VecDeque<ModuleSpec>>,
    /// Modules not uploaded yet (taken or not); held while the manifest is applied.
    left: Mutex<HashSet<ModuleName>>,
    failed: tokio::sync::mpsc::UnboundedSender<anyhow::Error>,
}

/// The compiles going on in the background.
pub(super) struct BackgroundCompile {
    shared: Arc<Compiling>,
    /// The first failure (the threads stop at theirs).
    pub(super) failures: tokio::sync::mpsc::UnboundedReceiver<anyhow::Error>,
}

impl BackgroundCompile {
    /// Waits until every module is in, one failed (its error), or `grace` passed.
    pub(super) fn wait_briefly(&mut self, grace: std::time::Duration) -> Option<anyhow::Error> {
        let until = std::time::Instant::now() + grace;
        loop {
            if let Ok(error) = self.failures.try_recv() {
                return Some(error);
            }
            if lock(&self.shared.left).is_empty() || std::time::Instant::now() >= until {
                return None;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }
}

/// Compiles `modules` in the background; see the module documentation.
pub(super) fn compile_in_background(
    registry: Arc<Registry>,
    gateway: Arc<Gateway>,
    readiness: Arc<Readiness>,
    manifest: Manifest,
    modules: Vec<ModuleSpec>,
) -> std::io::Result<BackgroundCompile> {
    let (failed, failures) = tokio::sync::mpsc::unbounded_channel();
    let threads = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(modules.len());
    let shared = Arc::new(Compiling {
        registry,
        gateway,
        readiness,
        manifest,
        left: Mutex::new(modules.iter().map(|m| m.name.clone()).collect()),
        queue: Mutex::new(modules.into()),
        failed,
    });
    shared.report(&lock(&shared.left));
    for _ in 0..threads {
        let shared = shared.clone();
        std::thread::Builder::new()
            .name("start-up-compile".into())
            .spawn(move || shared.work())?;
    }
    Ok(BackgroundCompile { shared, failures })
}

impl Compiling {
    /// Takes modules from the queue until it is empty or one fails.
    fn work(&self) {
        loop {
            let next = lock(&self.queue).pop_front();
            let Some(module) = next else { return };
            if let Err(error) = self.upload_and_apply(&module) {
                let error = anyhow::Error::from(error)
                    .context(format!("cannot serve {}", self.manifest.source.display()));
                let _ = self.failed.send(error);
                return;
            }
        }
    }

    /// Uploads `module` (compiling it), then applies the manifest with it in.
    fn upload_and_apply(&self, module: &ModuleSpec) -> Result<(), ApplyError> {
        self.registry.upload_manifest_module(module)?;
        let mut left = lock(&self.left);
        left.remove(&module.name);
        let waiting = self.registry.apply_manifest_except(&self.manifest, &left)?;
        // The routes are in the registry (and the gateway's table) before they stop waiting.
        self.gateway.set_compiling(&waiting);
        self.report(&left);
        tracing::info!(module = %module.name, "compiled at start-up; its routes serve");
        Ok(())
    }

    /// Tells `/readyz` what still compiles (under the `left` lock, so reports keep order).
    fn report(&self, left: &HashSet<ModuleName>) {
        let mut names: Vec<String> = left.iter().map(|n| n.to_string()).collect();
        names.sort();
        self.readiness.set_compiling(names);
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poison| poison.into_inner())
}
