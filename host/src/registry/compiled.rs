//! The compiled code of stored module versions: held in memory, cached in the store as
//! native code, and checked before it is loaded against the hash `registry.json` records.
//!
//! Native code is deserialised without validation (it is trusted machine code), so the hash
//! that vouches for it lives in the atomically written registry document, not in a file
//! beside the code: replacing the code file, or the code file and anything next to it, is
//! caught, and the module is compiled again from its (also hash-checked) bytes.

use std::collections::HashMap;
use std::sync::MutexGuard;

use super::{NativeRecord, Registry, RegistryError, RegistryState};
use crate::runtime::CompiledModule;
use crate::telemetry::metrics;

impl Registry {
    /// A stored module, compiled: from memory, else from the native-code cache if its hash
    /// is the recorded one, else compiled from the stored bytes (and cached, its hash
    /// recorded with the next write of the registry document).
    pub fn module(&self, sha256: &str) -> Result<CompiledModule, RegistryError> {
        if let Some(compiled) = self.modules_lock().get(sha256) {
            return Ok(compiled.clone());
        }
        let engine = self.runtime.compatibility_key();
        let origin = format!("stored module {sha256}");
        let expected = self.native_lock().get(sha256).cloned();
        let native = match expected {
            Some(expected) => self.store.local().native_file(sha256, &engine, &expected)?,
            None => None,
        };
        let cached = native.and_then(|native| {
            self.runtime
                .load_precompiled(&origin, &native)
                .inspect_err(|error| {
                    tracing::warn!(%error, "cached native code unusable; recompiling");
                })
                .ok()
        });
        let compiled = match cached {
            Some(compiled) => {
                metrics().compiled_code_loads.inc();
                compiled
            }
            None => {
                let bytes = self.store.get_module(sha256)?;
                let started = std::time::Instant::now();
                let compiled = self.runtime.compile_module(&origin, &bytes, None)?;
                metrics()
                    .compile_duration
                    .observe(started.elapsed().as_secs_f64());
                let compiled = match compiled.serialize() {
                    Ok(native) => {
                        let native_sha256 =
                            self.store.local().put_native(sha256, &engine, &native)?;
                        self.native_lock()
                            .insert(sha256.to_owned(), native_sha256.clone());
                        drop(native);
                        self.mapped(&origin, sha256, &native_sha256, compiled)
                    }
                    Err(_) => compiled,
                };
                drop(bytes);
                crate::runtime::release_free_memory();
                compiled
            }
        };
        self.modules_lock()
            .insert(sha256.to_owned(), compiled.clone());
        Ok(compiled)
    }

    /// `compiled`, whose native code was just stored with the hash `native_sha256`, loaded
    /// again from that file: mapped, so its copy in the heap is freed and only the pages
    /// that run are resident. `compiled` itself if the file cannot be loaded.
    pub(super) fn mapped(
        &self,
        origin: &str,
        sha256: &str,
        native_sha256: &str,
        compiled: CompiledModule,
    ) -> CompiledModule {
        let engine = self.runtime.compatibility_key();
        match self
            .store
            .local()
            .native_file(sha256, &engine, native_sha256)
        {
            Ok(Some(file)) => (self.runtime)
                .load_precompiled(origin, &file)
                .unwrap_or(compiled),
            _ => compiled,
        }
    }

    /// Writes the registry document again if code was compiled and stored since it was
    /// written, so the next start loads that code instead of compiling it once more.
    pub fn record_native_code(&self) {
        let mut state = self.lock();
        self.record_native_code_locked(&mut state);
    }

    /// [`Registry::record_native_code`] with the state already locked.
    pub(super) fn record_native_code_locked(&self, state: &mut MutexGuard<'_, RegistryState>) {
        let unrecorded = self.unrecorded_native(state);
        if unrecorded.is_empty() {
            return;
        }
        let mut next = (**state).clone();
        record(&mut next, unrecorded);
        match self.store.save_state(&next) {
            Ok(()) => **state = next,
            // Only a cost: unrecorded code is compiled again at the next start.
            Err(error) => tracing::warn!(%error, "hashes of compiled code not recorded"),
        }
    }

    /// Records in `next` the hash of the code stored for its versions on this engine.
    pub(super) fn merge_native(&self, next: &mut RegistryState) {
        let unrecorded = self.unrecorded_native(next);
        record(next, unrecorded);
    }

    /// The versions in `state` whose stored code on this engine has a hash other than the
    /// one recorded (or none): (module, version, what to record).
    fn unrecorded_native(&self, state: &RegistryState) -> Vec<(String, u32, NativeRecord)> {
        let engine = self.runtime.compatibility_key();
        let hashes = self.native_lock();
        let mut unrecorded = Vec::new();
        for (name, module) in &state.modules {
            for (&number, version) in &module.versions {
                let Some(native_sha256) = hashes.get(&version.sha256) else {
                    continue;
                };
                let recorded = version.native.as_ref().is_some_and(|native| {
                    native.engine == engine && &native.sha256 == native_sha256
                });
                if !recorded {
                    let native = NativeRecord {
                        engine: engine.clone(),
                        sha256: native_sha256.clone(),
                    };
                    unrecorded.push((name.clone(), number, native));
                }
            }
        }
        unrecorded
    }

    /// Drops compiled code, and the hashes of stored code, that no version in `state` uses
    /// any more (its last version was deleted); requests in flight hold their own reference.
    pub(super) fn forget_unused_code(&self, state: &RegistryState) {
        let used: std::collections::HashSet<&str> = state
            .modules
            .values()
            .flat_map(|module| module.versions.values())
            .map(|version| version.sha256.as_str())
            .collect();
        self.modules_lock()
            .retain(|sha256, _| used.contains(sha256.as_str()));
        self.native_lock()
            .retain(|sha256, _| used.contains(sha256.as_str()));
    }

    /// The hashes of stored code `state` records for this engine, by module sha256.
    pub(super) fn recorded_native(state: &RegistryState, engine: &str) -> HashMap<String, String> {
        state
            .modules
            .values()
            .flat_map(|module| module.versions.values())
            .filter_map(|version| {
                let native = version.native.as_ref()?;
                (native.engine == engine).then(|| (version.sha256.clone(), native.sha256.clone()))
            })
            .collect()
    }

    /// How many module versions' compiled code is held in memory.
    #[cfg(test)]
    pub(super) fn compiled_modules(&self) -> usize {
        self.modules_lock().len()
    }

    pub(super) fn modules_lock(&self) -> MutexGuard<'_, HashMap<String, CompiledModule>> {
        self.modules
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    pub(super) fn native_lock(&self) -> MutexGuard<'_, HashMap<String, String>> {
        self.native
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }
}

/// Writes `natives` into the versions of `state` they belong to.
fn record(state: &mut RegistryState, natives: Vec<(String, u32, NativeRecord)>) {
    for (name, number, native) in natives {
        let version = state
            .modules
            .get_mut(&name)
            .and_then(|module| module.versions.get_mut(&number));
        if let Some(version) = version {
            version.native = Some(native);
        }
    }
}
