//! Changes on a registry several gateway nodes share: a change holds the store's change
//! lock ([`ChangeGuard`]) and starts from the newest stored registry; a node adopts what
//! other nodes changed ([`Registry::sync`]), fed by [`follow`] after every published change
//! and at least every [`FOLLOW_INTERVAL`]. Code the new registry needs is compiled before
//! it is adopted, so requests keep being served by the previous routes meanwhile.

use std::sync::{Arc, MutexGuard};
use std::time::Duration;

use super::redis_store::ChangeFeed;
use super::{Registry, RegistryError, RegistryState, RegistryStore};

/// How often a node checks for a newer registry when no change message arrives.
pub const FOLLOW_INTERVAL: Duration = Duration::from_millis(500);

/// The registry state locked for a change, with the store's change lock held.
pub(super) struct ChangeGuard<'a> {
    state: MutexGuard<'a, RegistryState>,
    store: &'a dyn RegistryStore,
    token: Option<String>,
}

impl<'a> std::ops::Deref for ChangeGuard<'a> {
    type Target = MutexGuard<'a, RegistryState>;

    fn deref(&self) -> &Self::Target {
        &self.state
    }
}

impl std::ops::DerefMut for ChangeGuard<'_> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.state
    }
}

impl Drop for ChangeGuard<'_> {
    fn drop(&mut self) {
        if let Some(token) = self.token.take() {
            self.store.end_change(token);
        }
    }
}

impl Registry {
    /// Locks the state for a change. On a shared store, also takes the store's change lock
    /// and catches up with the newest stored registry first, so the change is made to it.
    pub(super) fn lock_for_change(&self) -> Result<ChangeGuard<'_>, RegistryError> {
        if !self.store.is_shared() {
            return Ok(ChangeGuard {
                state: self.lock(),
                store: &*self.store,
                token: None,
            });
        }
        // Compiles what the newest registry needs before anything is locked.
        self.sync()?;
        let state = self.lock();
        let token = self.store.begin_change()?;
        let mut guard = ChangeGuard {
            state,
            store: &*self.store,
            token,
        };
        if self.store.changed_elsewhere()?
            && let Some(newer) = self.store.load_state()?
        {
            self.adopt(&mut guard.state, newer);
        }
        Ok(guard)
    }

    /// Adopts the registry other nodes changed, if it changed; true if it did. The code
    /// its routes need is compiled (or loaded) first, while the current routes serve.
    pub fn sync(&self) -> Result<bool, RegistryError> {
        if !self.store.changed_elsewhere()? {
            return Ok(false);
        }
        match self.store.peek_state()? {
            Some(upcoming) => self.prepare(&upcoming),
            None => return self.restore_store().map(|()| false),
        }
        let mut state = self.lock();
        // Another thread may have adopted it meanwhile.
        if !self.store.changed_elsewhere()? {
            return Ok(false);
        }
        match self.store.load_state()? {
            Some(newer) => {
                self.adopt(&mut state, newer);
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// Gives the store this node's registry when the store has none though it had one
    /// (a Redis restarted without persistence): what was stored is never lost while a node
    /// still holds it.
    fn restore_store(&self) -> Result<(), RegistryError> {
        let state = self.lock();
        let token = self.store.begin_change()?;
        let guard = ChangeGuard {
            state,
            store: &*self.store,
            token,
        };
        if self.store.peek_state()?.is_none() {
            self.store.restore(&guard)?;
            tracing::warn!(
                "the shared store had lost the registry: restored from this node's copy"
            );
        }
        Ok(())
    }

    /// Compiles (or loads from this node's cache) the code `state`'s routes and
    /// authorizers run, and that of versions uploaded since this node's state (as the
    /// uploading node did, so a route moved to them next is served at once); a module that
    /// fails is left to the route build, which reports it.
    fn prepare(&self, state: &RegistryState) {
        let engine = self.runtime.compatibility_key();
        {
            let mut native = self.native_lock();
            for (sha256, code) in Registry::recorded_native(state, &engine) {
                native.entry(sha256).or_insert(code);
            }
        }
        let known: std::collections::HashSet<String> =
            stored_hashes(&self.lock()).cloned().collect();
        let uploaded: Vec<&String> = stored_hashes(state)
            .filter(|sha256| !known.contains(*sha256))
            .collect();
        for sha256 in uploaded {
            if let Err(error) = self.module(sha256) {
                tracing::warn!(%error, "a module uploaded through another node does not load");
            }
        }
        let targets = state
            .routes
            .iter()
            .filter_map(|route| route.spec().integration.module())
            .chain(state.authorizers.values().flat_map(|a| a.targets()));
        for target in targets {
            let Ok(resolved) = Registry::resolve(state, target) else {
                continue;
            };
            let canary = resolved.canary.as_ref().map(|(_, sha256, _)| sha256);
            for sha256 in std::iter::once(&resolved.sha256).chain(canary) {
                if let Err(error) = self.module(sha256) {
                    tracing::warn!(%error, %target, "a module of the shared registry does not load");
                }
            }
        }
    }

    /// Makes `newer` (from the store) the state, and tells the listeners.
    fn adopt(&self, state: &mut MutexGuard<'_, RegistryState>, newer: RegistryState) {
        *self.route_index_lock() = None;
        {
            let engine = self.runtime.compatibility_key();
            let mut native = self.native_lock();
            for (sha256, code) in Registry::recorded_native(&newer, &engine) {
                native.entry(sha256).or_insert(code);
            }
        }
        **state = newer;
        crate::telemetry::metrics().registry_changes.inc();
        self.forget_unused_code(state);
        self.notify(state);
        self.record_native_code_locked(state);
        tracing::info!("registry changed by another gateway node adopted");
    }
}

/// The hashes of every stored version.
fn stored_hashes(state: &RegistryState) -> impl Iterator<Item = &String> {
    state
        .modules
        .values()
        .flat_map(|module| module.versions.values())
        .map(|version| &version.sha256)
}

/// Keeps `registry` in step with the changes other nodes make, on a thread of its own,
/// until the registry is dropped. While the store is unreachable, the last known registry
/// keeps serving; the node catches up when it is back.
pub fn follow(registry: &Arc<Registry>, feed: ChangeFeed) -> std::io::Result<()> {
    let registry = Arc::downgrade(registry);
    std::thread::Builder::new()
        .name("registry-follow".into())
        .spawn(move || {
            let mut failing = false;
            feed.run(FOLLOW_INTERVAL, || {
                let Some(registry) = registry.upgrade() else {
                    return false;
                };
                match registry.sync() {
                    Ok(_) if failing => {
                        tracing::info!("in step with the shared registry again");
                        failing = false;
                    }
                    Ok(_) => {}
                    Err(error) if !failing => {
                        tracing::warn!(%error, "cannot read the shared registry; the last known one serves");
                        failing = true;
                    }
                    Err(_) => {}
                }
                true
            });
        })?;
    Ok(())
}
