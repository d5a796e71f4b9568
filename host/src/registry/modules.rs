//! Module versions in the registry: uploads (sniffed, compiled within a time limit, stored
//! by sha256), the compiled code of every stored version, what a target resolves to, and a
//! module's configuration.

use std::time::SystemTime;

use super::deploy::{Attachments, Deployed};
use super::{
    Invalid, Registry, RegistryError, RegistryState, Resolved, Unresolved, Upload, VersionRecord,
    sha256_hex,
};
use crate::config::{Executor, ModuleConfig, ModuleName, Qualifier, Target};
use crate::runtime::CompiledModule;

impl Registry {
    /// Validates, compiles and stores `bytes` as a new version of `name`, run by
    /// `executor`. Identical bytes return the version they already are.
    pub fn upload(
        &self,
        name: &ModuleName,
        bytes: Vec<u8>,
        executor: Executor,
    ) -> Result<Upload, RegistryError> {
        let origin = format!("the upload of `{name}`");
        let timeout = Some(self.compile_timeout);
        self.upload_attached(
            name,
            origin,
            bytes,
            executor,
            &Attachments::default(),
            timeout,
        )
        .map(|deployed| deployed.upload)
    }

    /// [`Registry::upload`] of a manifest's file: errors name the file. The compile
    /// timeout bounds what clients upload, not the operator's own files: a manifest's
    /// module compiles for as long as it takes (in the background at start-up, while the
    /// other routes serve), however slow or busy the machine.
    pub(super) fn upload_from_file(
        &self,
        name: &ModuleName,
        path: &std::path::Path,
        bytes: Vec<u8>,
        executor: Executor,
    ) -> Result<Upload, RegistryError> {
        let origin = path.display().to_string();
        let attach = &Attachments::default();
        self.upload_attached(name, origin, bytes, executor, attach, None)
            .map(|deployed| deployed.upload)
    }

    /// Uploads `bytes` (named `origin` in errors) and points what `attach` names at the
    /// version, in one change; compiling within `timeout` if there is one.
    pub(super) fn upload_attached(
        &self,
        name: &ModuleName,
        origin: String,
        bytes: Vec<u8>,
        executor: Executor,
        attach: &Attachments,
        timeout: Option<std::time::Duration>,
    ) -> Result<Deployed, RegistryError> {
        let sha256 = sha256_hex(&bytes);
        if let Some((version, stored)) = self.version_with_hash(name, &sha256) {
            if stored != executor {
                return Err(Invalid::ExecutorMismatch {
                    module: name.clone(),
                    version,
                    stored,
                    given: executor,
                }
                .into());
            }
            let upload = Upload {
                version,
                sha256,
                created: false,
            };
            if attach.alias.is_none() && attach.route.is_none() {
                return Ok(Deployed {
                    upload,
                    alias: None,
                    route: None,
                });
            }
            return self.change(|next| {
                // Under the state lock, as every use of the index.
                *self.route_index_lock() = None;
                let (alias, route) = self.attach(next, name, version, attach)?;
                self.check_users(next)?;
                Ok(Deployed {
                    upload,
                    alias,
                    route,
                })
            });
        }
        // When the same bytes are another module's version, their code serves this one too
        // (compiling a 13 MB JavaScript component takes 20 s); compiled anew only if that
        // code went away in the meantime.
        let reused = self
            .stored_elsewhere(&sha256, executor)
            .then(|| self.module(&sha256).ok())
            .flatten();
        let (handler, native_sha256) = match reused {
            Some(handler) => (handler, None),
            None => {
                let (handler, native_sha256) =
                    self.compile_and_store(origin, &sha256, &bytes, executor, timeout)?;
                (handler, Some(native_sha256))
            }
        };

        let interface = handler.interface();
        let mut state = self.lock_for_change()?;
        // Under the state lock, as `commit` evicts what no version references: another
        // upload committing while this one compiled (start-up compiles several modules at
        // once) would have evicted them, and the code's hash gone unrecorded.
        self.modules_lock().insert(sha256.clone(), handler);
        if let Some(native_sha256) = native_sha256 {
            self.native_lock().insert(sha256.clone(), native_sha256);
        }
        let mut next = state.clone();
        let module = next.modules.entry(name.to_string()).or_default();
        let existing = module
            .versions
            .iter()
            .find(|(_, v)| v.sha256 == sha256)
            .map(|(&version, _)| version);
        // When it exists, the same bytes won a race with this upload.
        let created = existing.is_none();
        let version = existing.unwrap_or_else(|| {
            let version = module.next_version.max(1);
            module.next_version = version + 1;
            module.versions.insert(
                version,
                VersionRecord {
                    sha256: sha256.clone(),
                    size: bytes.len() as u64,
                    created: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
                    executor,
                    native: None,
                    interface: Some(interface),
                },
            );
            version
        });
        if !created && attach.alias.is_none() && attach.route.is_none() {
            return Ok(Deployed {
                upload: Upload {
                    version,
                    sha256,
                    created,
                },
                alias: None,
                route: None,
            });
        }
        let committed = self
            .attach(&mut next, name, version, attach)
            .and_then(|attached| {
                self.check_users(&next)?;
                Ok(attached)
            })
            .and_then(|attached| {
                self.commit(&mut state, next, super::ADMIN_API)?;
                Ok(attached)
            });
        let (alias, route) = match committed {
            Ok(attached) => attached,
            Err(error) => {
                // The code was cached for this version; keep it only if other
                // bytes-identical versions use it.
                let used = state
                    .modules
                    .values()
                    .flat_map(|module| module.versions.values())
                    .any(|stored| stored.sha256 == sha256);
                if !used {
                    self.modules_lock().remove(&sha256);
                    self.native_lock().remove(&sha256);
                }
                return Err(error);
            }
        };
        if route.is_some() {
            // Still under the state lock: rebuilt from the new routes when next needed.
            *self.route_index_lock() = None;
        }
        Ok(Deployed {
            upload: Upload {
                version,
                sha256,
                created,
            },
            alias,
            route,
        })
    }

    /// Compiles `bytes` (within `timeout`, if there is one) and stores them and their code,
    /// by `sha256`; returns the compiled module and its code's hash, which the caller
    /// keeps under the state lock, to be recorded in the version's record by its commit.
    fn compile_and_store(
        &self,
        origin: String,
        sha256: &str,
        bytes: &[u8],
        executor: Executor,
        timeout: Option<std::time::Duration>,
    ) -> Result<(CompiledModule, String), RegistryError> {
        let started = std::time::Instant::now();
        let label = origin.clone();
        let handler = match timeout {
            Some(timeout) => self.compile_bounded(origin, bytes.to_vec(), executor, timeout)?,
            None => (self.runtime).compile_module(&origin, bytes, Some(executor))?,
        };
        crate::telemetry::metrics()
            .compile_duration
            .observe(started.elapsed().as_secs_f64());
        let native = handler.serialize().map_err(|e| {
            RegistryError::Storage(format!("cannot serialise compiled code: {e:#}"))
        })?;
        self.store.put_module(sha256, bytes)?;
        let engine = self.runtime.compatibility_key();
        let native_sha256 = self.store.local().put_native(sha256, &engine, &native)?;
        drop(native);
        let handler = self.mapped(&label, sha256, &native_sha256, handler);
        // The compiler's working memory and the serialised code are free now: without
        // this, glibc keeps them (the default manifest's gateway: 435 MB after compiling
        // it, 180 MB with this).
        crate::runtime::release_free_memory();
        Ok((handler, native_sha256))
    }

    /// Whether a version of any module holds the bytes of `sha256` for `executor`: their
    /// stored code is theirs as well.
    fn stored_elsewhere(&self, sha256: &str, executor: Executor) -> bool {
        self.lock()
            .modules
            .values()
            .flat_map(|module| module.versions.values())
            .any(|version| version.sha256 == sha256 && version.executor == executor)
    }

    pub(super) fn version_with_hash(
        &self,
        name: &ModuleName,
        sha256: &str,
    ) -> Option<(u32, Executor)> {
        let state = self.lock();
        let module = state.modules.get(name.as_str())?;
        module
            .versions
            .iter()
            .find(|(_, v)| v.sha256 == sha256)
            .map(|(&version, v)| (version, v.executor))
    }

    /// Compiles on a thread of its own, giving up after `timeout` (the thread finishes in
    /// the background and its result is dropped).
    fn compile_bounded(
        &self,
        origin: String,
        bytes: Vec<u8>,
        executor: Executor,
        timeout: std::time::Duration,
    ) -> Result<CompiledModule, RegistryError> {
        let (sender, receiver) = std::sync::mpsc::channel();
        let runtime = self.runtime.clone();
        std::thread::Builder::new()
            .name("wasmgate-compile".into())
            .spawn(move || {
                let _ = sender.send(runtime.compile_module(&origin, &bytes, Some(executor)));
            })?;
        match receiver.recv_timeout(timeout) {
            Ok(compiled) => Ok(compiled?),
            Err(_) => Err(RegistryError::CompileTimeout(timeout.as_secs())),
        }
    }

    /// What `target` runs in `state`; the error says what is missing.
    pub fn resolve(state: &RegistryState, target: &Target) -> Result<Resolved, Unresolved> {
        let name = &target.module;
        let module = state
            .modules
            .get(name.as_str())
            .ok_or_else(|| Unresolved::NoModule(name.clone()))?;
        let version_record = |version: u32| {
            module
                .versions
                .get(&version)
                .map(|v| v.sha256.clone())
                .ok_or_else(|| Unresolved::NoVersion {
                    module: name.clone(),
                    version,
                })
        };
        match &target.qualifier {
            Qualifier::Latest => {
                let version = module
                    .latest()
                    .ok_or_else(|| Unresolved::NoVersions(name.clone()))?;
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
                    .ok_or_else(|| Unresolved::NoAlias {
                        module: name.clone(),
                        alias: alias.clone(),
                    })?;
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

    /// Sets a module's configuration (environment, outbound hosts) for all its versions.
    pub fn set_module_config(
        &self,
        name: &ModuleName,
        config: ModuleConfig,
    ) -> Result<ModuleConfig, RegistryError> {
        config.validate().map_err(Invalid::ModuleConfig)?;
        self.change(|next| {
            next.module_mut(name)?.config = config.clone();
            Ok(config)
        })
    }

    /// Replaces the parts of `name`'s configuration that `patch` gives, keeping the others
    /// (an environment's values are never shown back, so they cannot be sent back either).
    pub fn update_module_config(
        &self,
        name: &ModuleName,
        patch: crate::config::ModuleConfigPatch,
    ) -> Result<ModuleConfig, RegistryError> {
        self.change(|next| {
            let module = next.module_mut(name)?;
            let config = patch.apply(&module.config);
            config.validate().map_err(Invalid::ModuleConfig)?;
            module.config = config.clone();
            Ok(config)
        })
    }
}
