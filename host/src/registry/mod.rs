//! The module and route registry: immutable module versions (content-addressed by sha256),
//! aliases, and routes, persisted through a [`RegistryStore`], plus the compiled handlers
//! of every version in use.
//!
//! Every change is validated first, then written to the store, and only then visible: a
//! rejected request changes nothing, and a crash leaves the last complete document.

mod aliases;
mod authorizers;
mod capabilities;
mod compiled;
mod deploy;
mod entries;
mod error;
mod fs;
mod history;
mod import;
mod keys;
mod manifest;
mod model;
mod modules;
mod recordings;
mod redis_key_value;
mod redis_store;
mod routes;
mod secrets;
mod store;
mod sync;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

pub use capabilities::beyond_aliases;
pub use deploy::{Attachments, Deployed};
pub use entries::{
    AuthorizerEntry, AuthorizerRecord, RouteEntry, RouteRecord, RouteSource, route_id,
};
pub use error::{Conflict, Invalid, Missing, RegistryError, Stored, Unresolved};
pub use history::{Change, HistoryEntry};
pub use import::Imported;
pub use keys::NewKey;
pub use manifest::{ApplyError, WaitingRoute};
pub use model::{
    AliasRecord, ApiKeyRecord, Canary, GatewaySettings, ModuleRecord, NativeRecord, QuotaUsed,
    RegistryState, SavedQuotaUsage, VersionRecord,
};
pub use recordings::RecordingStore;
pub use redis_key_value::RedisKeyValue;
pub use redis_store::{ChangeFeed, RedisStore};
pub use store::{FileStore, RegistryStore, sha256_hex};
pub use sync::{FOLLOW_INTERVAL, follow};

pub(crate) use fs::{check_private, write_atomic_with_mode};

use crate::routing::RouteTable;
use crate::runtime::{CompiledModule, Runtime};

/// The outcome of an upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    /// The version the bytes are stored as.
    pub version: u32,
    /// Their sha256.
    pub sha256: String,
    /// False when identical bytes were already a version of the module.
    pub created: bool,
}

/// What a route's target resolves to right now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The version that takes the requests…
    pub version: u32,
    /// …and its sha256.
    pub sha256: String,
    /// A canary version, its sha256 and its share in percent.
    pub canary: Option<(u32, String, u8)>,
}

/// Called with the new state after every committed change.
type Listener = Box<dyn Fn(&RegistryState) + Send + Sync>;

/// The registry.
pub struct Registry {
    runtime: Arc<Runtime>,
    store: Box<dyn RegistryStore>,
    state: Mutex<RegistryState>,
    modules: Mutex<HashMap<String, CompiledModule>>,
    /// The sha256 of the code stored for this engine, by module sha256: as recorded in the
    /// state, plus code stored since (recorded with the next write).
    native: Mutex<HashMap<String, String>>,
    listeners: Mutex<Vec<Listener>>,
    compile_timeout: Duration,
    /// The current routes' table, for the conflict checks of added routes: made on first
    /// need, kept while routes are only added or changed in place, dropped otherwise.
    /// Locked only while the state is.
    route_index: Mutex<Option<RouteTable<()>>>,
    /// The key secrets are sealed with (`secrets.rs`).
    secrets_key: std::sync::OnceLock<Arc<crate::secrets::SecretsKey>>,
}

/// Who a change through the admin API is recorded as, in the history (unless it came with
/// a named token: [`acting_as`]).
const ADMIN_API: &str = "admin API";

thread_local! {
    /// The name changes on this thread are recorded under, while [`acting_as`] runs.
    static ACTOR: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// Runs `change` (registry calls on this thread) with its changes recorded in the history
/// as made by `actor` (an admin token's name).
pub fn acting_as<T>(actor: &str, change: impl FnOnce() -> T) -> T {
    ACTOR.with(|current| *current.borrow_mut() = Some(actor.to_owned()));
    let outcome = change();
    ACTOR.with(|current| *current.borrow_mut() = None);
    outcome
}

impl Registry {
    /// Opens the registry kept in `store` (empty if nothing was ever saved).
    pub fn open(
        runtime: Arc<Runtime>,
        store: Box<dyn RegistryStore>,
        compile_timeout: Duration,
    ) -> Result<Self, RegistryError> {
        let state = store.load_state()?.unwrap_or_default();
        let native = Registry::recorded_native(&state, &runtime.compatibility_key());
        Ok(Registry {
            runtime,
            store,
            state: Mutex::new(state),
            modules: Mutex::new(HashMap::new()),
            native: Mutex::new(native),
            listeners: Mutex::new(Vec::new()),
            compile_timeout,
            route_index: Mutex::new(None),
            secrets_key: std::sync::OnceLock::new(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, RegistryState> {
        // A panic while holding the lock cannot leave a half-made change: changes are made
        // on a copy and swapped in after the store accepted them.
        self.state
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// Calls `listener` with the new state after every committed change, before the call
    /// that made the change returns (so a change is in effect when its caller hears back).
    ///
    /// This is the registry's change notification: the gateway rebuilds its routes here. A
    /// store shared by several nodes feeds the changes other nodes make into the same
    /// listeners.
    pub fn subscribe(&self, listener: impl Fn(&RegistryState) + Send + Sync + 'static) {
        self.listeners
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .push(Box::new(listener));
    }

    /// Writes `next` to the store, makes it the state, and notifies the listeners (while the
    /// state is still locked, so notifications arrive in commit order).
    fn commit(
        &self,
        state: &mut MutexGuard<'_, RegistryState>,
        mut next: RegistryState,
        by: &str,
    ) -> Result<(), RegistryError> {
        let actor = ACTOR.with(|current| current.borrow().clone());
        history::record(state, &mut next, actor.as_deref().unwrap_or(by));
        self.merge_native(&mut next);
        self.store.save_state(&next)?;
        **state = next;
        crate::telemetry::metrics().registry_changes.inc();
        self.forget_unused_code(state);
        self.notify(state);
        // Code the listeners had compiled (for routes that now use another version).
        self.record_native_code_locked(state);
        Ok(())
    }

    /// Tells the listeners about the new `state`.
    fn notify(&self, state: &RegistryState) {
        for listener in self
            .listeners
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .iter()
        {
            listener(state);
        }
    }

    /// Makes a change: `edit` changes a copy of the state, which is then committed. An error
    /// (from `edit` or the store) leaves everything as it was.
    fn change<T>(
        &self,
        edit: impl FnOnce(&mut RegistryState) -> Result<T, RegistryError>,
    ) -> Result<T, RegistryError> {
        let mut state = self.lock_for_change()?;
        let mut next = state.clone();
        let outcome = edit(&mut next)?;
        self.commit(&mut state, next, ADMIN_API)?;
        Ok(outcome)
    }

    /// The runtime the modules are compiled for.
    pub fn runtime(&self) -> &Arc<Runtime> {
        &self.runtime
    }

    /// Instances that may be live at once (`--max-instances`), which routes reserve from.
    pub fn instance_pool(&self) -> u32 {
        self.runtime.max_instances()
    }

    /// A copy of everything stored.
    pub fn state(&self) -> RegistryState {
        self.lock().clone()
    }

    /// API keys' quota usage as last saved.
    pub fn load_quota_usage(&self) -> Result<SavedQuotaUsage, RegistryError> {
        self.store.local().load_quota_usage()
    }

    /// Where routes' recordings are kept: this node's data dir.
    pub fn recordings(&self) -> RecordingStore {
        RecordingStore::new(self.store.local().root())
    }

    /// Saves API keys' quota usage.
    pub fn save_quota_usage(&self, usage: &SavedQuotaUsage) -> Result<(), RegistryError> {
        self.store.local().save_quota_usage(usage)
    }

    /// Sets the gateway-wide rate limit and CORS policy (`None` removes one).
    pub fn set_gateway_settings(
        &self,
        throttle: Option<crate::config::ThrottleConfig>,
        cors: Option<crate::config::CorsConfig>,
    ) -> Result<GatewaySettings, RegistryError> {
        if let Some(throttle) = &throttle {
            throttle
                .validate()
                .map_err(|message| field("throttle", message))?;
        }
        if let Some(cors) = &cors {
            cors.validate("cors")
                .map_err(|problems| RegistryError::from(Invalid::Fields(problems)))?;
        }
        self.change(|next| {
            next.gateway = GatewaySettings {
                throttle,
                throttle_from_manifest: false,
                cors,
                cors_from_manifest: false,
            };
            Ok(next.gateway.clone())
        })
    }
}

/// One invalid field, as an error.
fn field(key: &str, message: String) -> RegistryError {
    Invalid::Fields(vec![crate::config::Problem {
        key: key.to_owned(),
        message,
    }])
    .into()
}

impl RegistryState {
    /// The module `name`, to change.
    fn module_mut(
        &mut self,
        name: &crate::config::ModuleName,
    ) -> Result<&mut ModuleRecord, RegistryError> {
        self.modules
            .get_mut(name.as_str())
            .ok_or_else(|| Missing::Module(name.to_string()).into())
    }
}
