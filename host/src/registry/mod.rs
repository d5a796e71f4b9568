//! The module and route registry: immutable module versions (content-addressed by sha256),
//! aliases, and routes, persisted through a [`RegistryStore`], plus the compiled handlers
//! of every version in use.
//!
//! Every change is validated first, then written to the store, and only then visible: a
//! rejected request changes nothing, and a crash leaves the last complete document.

mod aliases;
mod authorizers;
mod error;
mod fs;
mod keys;
mod manifest;
mod model;
mod store;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

pub use error::RegistryError;
pub use keys::NewKey;
pub use manifest::ApplyError;
pub use model::{
    AliasRecord, ApiKeyRecord, Canary, GatewaySettings, ModuleRecord, QuotaUsed, RegistryState,
    RouteEntry, RouteRecord, RouteSource, SavedQuotaUsage, VersionRecord, route_id,
};
pub use store::{FileStore, RegistryStore, sha256_hex};

pub(crate) use fs::write_atomic_with_mode;

use crate::config::{
    AuthorizerType, Executor, ModuleConfig, ModuleName, Qualifier, RouteConfig, RouteSpec, Target,
};
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
    listeners: Mutex<Vec<Listener>>,
    compile_timeout: Duration,
    /// The current routes' table, for the conflict checks of added routes: made on first
    /// need, kept while routes are only added or changed in place, dropped otherwise.
    /// Locked only while the state is.
    route_index: Mutex<Option<RouteTable<()>>>,
}

impl Registry {
    /// Opens the registry kept in `store` (empty if nothing was ever saved).
    pub fn open(
        runtime: Arc<Runtime>,
        store: Box<dyn RegistryStore>,
        compile_timeout: Duration,
    ) -> Result<Self, RegistryError> {
        let state = store.load_state()?.unwrap_or_default();
        Ok(Registry {
            runtime,
            store,
            state: Mutex::new(state),
            modules: Mutex::new(HashMap::new()),
            listeners: Mutex::new(Vec::new()),
            compile_timeout,
            route_index: Mutex::new(None),
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
        next: RegistryState,
    ) -> Result<(), RegistryError> {
        self.store.save_state(&next)?;
        **state = next;
        // Compiled code no stored version uses any more (its last version was deleted) is
        // dropped; requests in flight hold their own reference to it.
        let used: std::collections::HashSet<&str> = state
            .modules
            .values()
            .flat_map(|module| module.versions.values())
            .map(|version| version.sha256.as_str())
            .collect();
        self.modules_lock()
            .retain(|sha256, _| used.contains(sha256.as_str()));
        for listener in self
            .listeners
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .iter()
        {
            listener(state);
        }
        Ok(())
    }

    /// A copy of everything stored.
    pub fn state(&self) -> RegistryState {
        self.lock().clone()
    }

    /// API keys' quota usage as last saved.
    pub fn load_quota_usage(&self) -> Result<SavedQuotaUsage, RegistryError> {
        self.store.load_quota_usage()
    }

    /// Saves API keys' quota usage.
    pub fn save_quota_usage(&self, usage: &SavedQuotaUsage) -> Result<(), RegistryError> {
        self.store.save_quota_usage(usage)
    }

    /// Validates, compiles and stores `bytes` as a new version of `name`, run by
    /// `executor`. Identical bytes return the version they already are.
    pub fn upload(
        &self,
        name: &ModuleName,
        bytes: Vec<u8>,
        executor: Executor,
    ) -> Result<Upload, RegistryError> {
        self.upload_named(name, format!("the upload of `{name}`"), bytes, executor)
    }

    /// [`Registry::upload`] of a file: errors name the file.
    fn upload_from_file(
        &self,
        name: &ModuleName,
        path: &std::path::Path,
        bytes: Vec<u8>,
        executor: Executor,
    ) -> Result<Upload, RegistryError> {
        self.upload_named(name, path.display().to_string(), bytes, executor)
    }

    fn upload_named(
        &self,
        name: &ModuleName,
        origin: String,
        bytes: Vec<u8>,
        executor: Executor,
    ) -> Result<Upload, RegistryError> {
        let sha256 = sha256_hex(&bytes);
        if let Some((version, stored)) = self.version_with_hash(name, &sha256) {
            if stored != executor {
                return Err(RegistryError::Invalid(format!(
                    "these bytes are already version {version} of `{name}`, with executor `{}`, not `{}`",
                    stored.as_str(),
                    executor.as_str()
                )));
            }
            return Ok(Upload {
                version,
                sha256,
                created: false,
            });
        }
        let handler = self.compile_bounded(origin, bytes.clone(), executor)?;
        let native = handler.serialize().map_err(|e| {
            RegistryError::Storage(format!("cannot serialise compiled code: {e:#}"))
        })?;
        self.store.put_module(&sha256, &bytes)?;
        self.store
            .put_native(&sha256, &self.runtime.compatibility_key(), &native)?;

        let mut state = self.lock();
        // Under the state lock, as `commit` evicts what no version references.
        self.modules_lock().insert(sha256.clone(), handler);
        let mut next = state.clone();
        let module = next.modules.entry(name.to_string()).or_default();
        if let Some((&version, _)) = module.versions.iter().find(|(_, v)| v.sha256 == sha256) {
            // The same bytes won a race with this upload.
            return Ok(Upload {
                version,
                sha256,
                created: false,
            });
        }
        let version = module.next_version.max(1);
        module.next_version = version + 1;
        module.versions.insert(
            version,
            VersionRecord {
                sha256: sha256.clone(),
                size: bytes.len() as u64,
                created: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
                executor,
            },
        );
        let committed = self
            .check_users(&next)
            .and_then(|()| self.commit(&mut state, next));
        if let Err(error) = committed {
            // The code was cached for this version; keep it only if other bytes-identical
            // versions use it.
            let used = state
                .modules
                .values()
                .flat_map(|module| module.versions.values())
                .any(|stored| stored.sha256 == sha256);
            if !used {
                self.modules_lock().remove(&sha256);
            }
            return Err(error);
        }
        Ok(Upload {
            version,
            sha256,
            created: true,
        })
    }

    fn version_with_hash(&self, name: &ModuleName, sha256: &str) -> Option<(u32, Executor)> {
        let state = self.lock();
        let module = state.modules.get(name.as_str())?;
        module
            .versions
            .iter()
            .find(|(_, v)| v.sha256 == sha256)
            .map(|(&version, v)| (version, v.executor))
    }

    /// Compiles on a thread of its own, giving up after the compile timeout (the thread
    /// finishes in the background and its result is dropped).
    fn compile_bounded(
        &self,
        origin: String,
        bytes: Vec<u8>,
        executor: Executor,
    ) -> Result<CompiledModule, RegistryError> {
        let (sender, receiver) = std::sync::mpsc::channel();
        let runtime = self.runtime.clone();
        std::thread::Builder::new()
            .name("wasmgate-compile".into())
            .spawn(move || {
                let _ = sender.send(runtime.compile_module(&origin, &bytes, Some(executor)));
            })?;
        match receiver.recv_timeout(self.compile_timeout) {
            Ok(compiled) => Ok(compiled?),
            Err(_) => Err(RegistryError::CompileTimeout(
                self.compile_timeout.as_secs(),
            )),
        }
    }

    /// How many module versions' compiled code is held in memory.
    #[cfg(test)]
    fn compiled_modules(&self) -> usize {
        self.modules_lock().len()
    }

    fn route_index_lock(&self) -> MutexGuard<'_, Option<RouteTable<()>>> {
        self.route_index
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    fn modules_lock(&self) -> MutexGuard<'_, HashMap<String, CompiledModule>> {
        self.modules
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// A stored module, compiled: from memory, else from the native-code cache, else
    /// compiled from the stored bytes (and cached). Stored files are checked against their
    /// sha256 first.
    pub fn module(&self, sha256: &str) -> Result<CompiledModule, RegistryError> {
        if let Some(handler) = self.modules_lock().get(sha256) {
            return Ok(handler.clone());
        }
        let engine = self.runtime.compatibility_key();
        let origin = format!("stored module {sha256}");
        let cached = match self.store.get_native(sha256, &engine)? {
            Some(native) => match self.runtime.load_precompiled(&origin, &native) {
                Ok(handler) => Some(handler),
                Err(error) => {
                    tracing::warn!(%error, "cached native code unusable; recompiling");
                    None
                }
            },
            None => None,
        };
        let handler = match cached {
            Some(handler) => handler,
            None => {
                let bytes = self.store.get_module(sha256)?;
                let handler = self.runtime.compile_module(&origin, &bytes, None)?;
                if let Ok(native) = handler.serialize() {
                    self.store.put_native(sha256, &engine, &native)?;
                }
                handler
            }
        };
        self.modules_lock()
            .insert(sha256.to_owned(), handler.clone());
        Ok(handler)
    }

    /// What `target` runs in `state`; the error says what is missing.
    pub fn resolve(state: &RegistryState, target: &Target) -> Result<Resolved, String> {
        let name = target.module.as_str();
        let module = state
            .modules
            .get(name)
            .ok_or_else(|| format!("no module `{name}` has been deployed"))?;
        let version_record = |version: u32| {
            module
                .versions
                .get(&version)
                .map(|v| v.sha256.clone())
                .ok_or_else(|| format!("module `{name}` has no version {version}"))
        };
        match &target.qualifier {
            Qualifier::Latest => {
                let version = module
                    .latest()
                    .ok_or_else(|| format!("module `{name}` has no versions"))?;
                Ok(Resolved {
                    version,
                    sha256: version_record(version)?,
                    canary: None,
                })
            }
            Qualifier::Version(version) => Ok(Resolved {
                version: *version,
                sha256: version_record(*version)?,
                canary: None,
            }),
            Qualifier::Alias(alias) => {
                let record = module
                    .aliases
                    .get(alias)
                    .ok_or_else(|| format!("module `{name}` has no alias `{alias}`"))?;
                let canary = match record.canary {
                    Some(canary) => Some((
                        canary.version,
                        version_record(canary.version)?,
                        canary.percent,
                    )),
                    None => None,
                };
                Ok(Resolved {
                    version: record.version,
                    sha256: version_record(record.version)?,
                    canary,
                })
            }
        }
    }

    /// Creates or replaces the route with the same method and path.
    pub fn put_route(&self, config: RouteConfig) -> Result<RouteRecord, RegistryError> {
        let record = RouteRecord::new(config, RouteSource::Api).map_err(invalid)?;
        let spec = record.spec();
        let mut state = self.lock();
        let mut next = state.clone();
        self.handler_module(&next, &spec.target)?;
        check_route_authorizer(&next, spec)?;
        self.check_fuel(spec)?;
        let added = upsert_route(&mut next.routes, record.clone());
        let mut index = self.route_index_lock();
        if added {
            // A route in place of one with the same method and template matches the same
            // paths: only an added route can be ambiguous with the others.
            index
                .get_or_insert_with(|| route_index(&state.routes))
                .insert(spec.method.clone(), spec.template.clone(), ())
                .map_err(|conflict| RegistryError::Conflict(conflict.to_string()))?;
        }
        if let Err(error) = self.commit(&mut state, next) {
            *index = None;
            return Err(error);
        }
        Ok(record)
    }

    /// A route's `fuel` needs fuel metering in the engine.
    pub(super) fn check_fuel(&self, spec: &RouteSpec) -> Result<(), RegistryError> {
        if spec.limits.fuel.is_some() && !self.runtime.fuel_metering() {
            return Err(RegistryError::Invalid(
                "`fuel` needs the gateway started with --fuel-metering".into(),
            ));
        }
        Ok(())
    }

    /// Sets a module's configuration (environment, outbound hosts) for all its versions.
    pub fn set_module_config(
        &self,
        name: &ModuleName,
        config: ModuleConfig,
    ) -> Result<ModuleConfig, RegistryError> {
        config.validate().map_err(RegistryError::Invalid)?;
        let mut state = self.lock();
        let mut next = state.clone();
        let module = next
            .modules
            .get_mut(name.as_str())
            .ok_or_else(|| RegistryError::NotFound(format!("no module `{name}`")))?;
        module.config = config.clone();
        self.commit(&mut state, next)?;
        Ok(config)
    }

    /// Sets (or, with `None`, removes) the gateway-wide rate limit.
    pub fn set_gateway_throttle(
        &self,
        throttle: Option<crate::config::ThrottleConfig>,
    ) -> Result<GatewaySettings, RegistryError> {
        if let Some(throttle) = &throttle {
            throttle
                .validate()
                .map_err(|message| RegistryError::Invalid(format!("throttle: {message}")))?;
        }
        let mut state = self.lock();
        let mut next = state.clone();
        next.gateway = GatewaySettings {
            throttle,
            throttle_from_manifest: false,
        };
        let settings = next.gateway.clone();
        self.commit(&mut state, next)?;
        Ok(settings)
    }

    /// Deletes the route whose id is `id`.
    pub fn delete_route(&self, id: &str) -> Result<RouteRecord, RegistryError> {
        let mut state = self.lock();
        let mut next = state.clone();
        let index = next
            .routes
            .iter()
            .position(|r| r.id() == id)
            .ok_or_else(|| RegistryError::NotFound(format!("no route with id `{id}`")))?;
        let removed = next.routes.remove(index);
        *self.route_index_lock() = None;
        self.commit(&mut state, next)?;
        Ok(removed)
    }
}

/// The problems of an invalid configuration, as one error.
fn invalid(problems: Vec<crate::config::Problem>) -> RegistryError {
    let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
    RegistryError::Invalid(text.join("; "))
}

/// Fails if the route names an authorizer that does not exist.
fn check_route_authorizer(state: &RegistryState, spec: &RouteSpec) -> Result<(), RegistryError> {
    let Some(name) = &spec.authorizer else {
        return Ok(());
    };
    let config = state.authorizers.get(name.as_str()).ok_or_else(|| {
        RegistryError::Invalid(format!("no authorizer `{name}` has been declared"))
    })?;
    if !spec.scopes.is_empty() && config.kind != AuthorizerType::Jwt {
        return Err(RegistryError::Invalid(format!(
            "`scopes` are checked by jwt authorizers; `{name}` is a {} authorizer",
            config.kind
        )));
    }
    Ok(())
}

/// Replaces the route with the same method and template (as matched), or appends it;
/// true when it was appended.
fn upsert_route(routes: &mut Vec<RouteRecord>, record: RouteRecord) -> bool {
    let spec = record.spec();
    let same = routes
        .iter()
        .position(|r| r.spec().method == spec.method && r.spec().template == spec.template);
    match same {
        Some(index) => {
            routes[index] = record;
            false
        }
        None => {
            routes.push(record);
            true
        }
    }
}

/// The table of `routes`, which agree with each other (each was checked when added).
fn route_index(routes: &[RouteRecord]) -> RouteTable<()> {
    let mut table = RouteTable::new();
    for record in routes {
        let spec = record.spec();
        if let Err(conflict) = table.insert(spec.method.clone(), spec.template.clone(), ()) {
            tracing::error!(%conflict, "stored routes are ambiguous together");
        }
    }
    table
}
