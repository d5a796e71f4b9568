//! Applying the manifest at start-up, on top of what the registry stored.
//!
//! The rules (also in the README): each `[[modules]]` file is uploaded as a version of its
//! module (identical bytes reuse the version they already are, so restarts add nothing);
//! routes the manifest declared at an earlier start-up are dropped and the manifest's
//! routes are added, replacing stored routes with the same method and path; its
//! authorizers replace stored ones of the same name. Everything else made through the
//! admin API is kept.
//!
//! At start-up the modules that need compiling can be left out for a while
//! ([`Registry::apply_manifest_except`]): everything else is applied, and the routes and
//! authorizers that need those modules wait until they are uploaded.

use std::collections::{HashMap, HashSet};

use super::{Registry, RegistryError, RouteRecord, RouteSource, sha256_hex};
use crate::config::{ModuleName, Problem, Target};
use crate::manifest::{Manifest, ManifestError, ModuleSpec};
use crate::routing::{MethodFilter, RouteTable, RouteTemplate};
use crate::runtime::ModuleKind;

/// A manifest route left out because a module it needs (its own, or its authorizer's) is
/// still compiling: its method, template and that module.
pub type WaitingRoute = (MethodFilter, RouteTemplate, ModuleName);

/// Why the manifest could not be applied.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApplyError {
    /// A module file is not a usable handler (or could not be stored).
    #[error("module `{module}`: {error}")]
    Module {
        /// The module.
        module: ModuleName,
        /// Why.
        error: RegistryError,
    },
    /// Routes name modules, versions or aliases that do not exist, or conflict with stored
    /// routes.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    /// The registry could not be saved.
    #[error(transparent)]
    Registry(#[from] RegistryError),
}

impl Registry {
    /// Applies `manifest`; see the module documentation for the rules.
    pub fn apply_manifest(&self, manifest: &Manifest) -> Result<(), ApplyError> {
        self.apply_manifest_except(manifest, &HashSet::new())
            .map(|_| ())
    }

    /// The manifest's modules whose files are not yet a version of theirs, smallest file
    /// first: uploading them compiles them.
    pub fn modules_to_compile<'m>(
        &self,
        manifest: &'m Manifest,
    ) -> Result<Vec<&'m ModuleSpec>, ApplyError> {
        let mut compiling = Vec::new();
        for module in &manifest.modules {
            let bytes = read_module(module)?;
            if self
                .version_with_hash(&module.name, &sha256_hex(&bytes))
                .is_none()
            {
                compiling.push((bytes.len(), module));
            }
        }
        compiling.sort_by_key(|(size, _)| *size);
        Ok(compiling.into_iter().map(|(_, module)| module).collect())
    }

    /// Uploads one `[[modules]]` file as a version of its module (identical bytes: the
    /// version they already are).
    pub fn upload_manifest_module(&self, module: &ModuleSpec) -> Result<(), ApplyError> {
        let bytes = read_module(module)?;
        let started = std::time::Instant::now();
        let upload = self
            .upload_from_file(&module.name, &module.path, bytes, module.executor)
            .map_err(|error| ApplyError::Module {
                module: module.name.clone(),
                error,
            })?;
        tracing::info!(
            module = %module.name,
            version = upload.version,
            new = upload.created,
            ms = started.elapsed().as_millis() as u64,
            "manifest module"
        );
        Ok(())
    }

    /// Applies `manifest` but for the modules in `compiling`, and for the routes and
    /// authorizers whose module is one of those and not in the registry yet: those routes
    /// are returned (the routes behind a waiting authorizer too).
    pub fn apply_manifest_except(
        &self,
        manifest: &Manifest,
        compiling: &HashSet<ModuleName>,
    ) -> Result<Vec<WaitingRoute>, ApplyError> {
        for module in &manifest.modules {
            if !compiling.contains(&module.name) {
                self.upload_manifest_module(module)?;
            }
        }
        // The version each uploaded file is, for the aliases the manifest points at it.
        let mut uploaded = HashMap::new();
        for module in manifest.modules.iter().filter(|m| !m.aliases.is_empty()) {
            if !compiling.contains(&module.name) {
                let sha256 = sha256_hex(&read_module(module)?);
                if let Some((version, _)) = self.version_with_hash(&module.name, &sha256) {
                    uploaded.insert(module.name.clone(), version);
                }
            }
        }
        let mut state = self.lock_for_change()?;
        let next = self.plan(&state, manifest, compiling, &uploaded);
        let (next, waiting) = next.map_err(|problems| ManifestError::Invalid {
            path: manifest.source.clone(),
            problems,
            partial: None,
        })?;
        if next != **state {
            *self.route_index_lock() = None;
            self.commit(&mut state, next, "manifest")?;
        }
        Ok(waiting)
    }

    /// What `manifest` (one with problems of its own, say) would be refused for, without
    /// uploading or changing anything: its routes' and authorizers' modules, versions,
    /// aliases, kinds and conflicts with the stored routes. Its own modules count as
    /// being uploaded.
    pub fn check_manifest(&self, manifest: &Manifest) -> Vec<Problem> {
        let declared = manifest.modules.iter().map(|m| m.name.clone());
        let unreadable = manifest.positions.unreadable_modules.iter().cloned();
        let compiling: HashSet<ModuleName> = declared.chain(unreadable).collect();
        let state = self.state();
        match self.plan(&state, manifest, &compiling, &HashMap::new()) {
            Ok(_) => Vec::new(),
            Err(problems) => problems,
        }
    }

    /// The registry `current` becomes with `manifest` applied (but for the modules in
    /// `compiling`; `uploaded`: the version each of its other files is), and the routes
    /// that wait for a compiling module; or every problem found.
    fn plan(
        &self,
        current: &super::RegistryState,
        manifest: &Manifest,
        compiling: &HashSet<ModuleName>,
        uploaded: &HashMap<ModuleName, u32>,
    ) -> Result<(super::RegistryState, Vec<WaitingRoute>), Vec<Problem>> {
        let mut waiting = Vec::new();
        let mut waiting_authorizers = HashMap::new();
        let mut next = current.clone();
        for module in &manifest.modules {
            if let Some(record) = next.modules.get_mut(module.name.as_str()) {
                record.config = module.config.clone();
                if let Some(version) = uploaded.get(&module.name) {
                    for (alias, variables) in &module.aliases {
                        let record_alias = super::AliasRecord {
                            version: *version,
                            canary: None,
                            variables: (!variables.is_empty()).then(|| variables.clone()),
                        };
                        record.aliases.insert(alias.clone(), record_alias);
                    }
                }
            }
        }
        next.routes.retain(|r| r.source != RouteSource::Manifest);
        if manifest.throttle.is_some() || next.gateway.throttle_from_manifest {
            next.gateway.throttle = manifest.throttle;
            next.gateway.throttle_from_manifest = manifest.throttle.is_some();
        }
        if manifest.cors.is_some() || next.gateway.cors_from_manifest {
            next.gateway.cors = manifest.cors.clone();
            next.gateway.cors_from_manifest = manifest.cors.is_some();
        }
        let mut problems = Vec::new();
        let waits = |next: &super::RegistryState, target: &Target| {
            compiling.contains(&target.module) && Registry::resolve(next, target).is_err()
        };
        for (i, config) in manifest.authorizers.iter().enumerate() {
            // Its module, or its shadow's, may still be compiling.
            let modules = [config.module.as_deref(), config.shadow.as_deref()];
            let waited = modules
                .into_iter()
                .flatten()
                .filter_map(|m| Target::parse(m).ok())
                .find(|target| waits(&next, target));
            if let Some(target) = waited {
                waiting_authorizers.insert(config.name.as_str(), target.module);
                continue;
            }
            match self.check_authorizer(&next, config.clone()) {
                Ok(record) => {
                    next.authorizers.insert(config.name.clone(), record);
                }
                Err(error) => problems.push(Problem {
                    key: format!("authorizers[{}].module", manifest.authorizer_position(i)),
                    message: error.to_string(),
                }),
            }
        }
        let mut records = Vec::with_capacity(manifest.routes.len());
        for (index, config) in manifest.routes.iter().enumerate() {
            let i = manifest.route_position(index);
            let record = match RouteRecord::new(config.clone(), RouteSource::Manifest) {
                Ok(record) => record,
                Err(found) => {
                    problems.extend(found.into_iter().map(|Problem { key, message }| Problem {
                        key: format!("routes[{i}].{key}"),
                        message,
                    }));
                    continue;
                }
            };
            let spec = record.spec();
            let target = spec.integration.module();
            let awaited = target
                .filter(|target| waits(&next, target))
                .map(|target| &target.module)
                .or_else(|| {
                    let name = spec.authorizer.as_ref()?;
                    waiting_authorizers.get(name.as_str())
                });
            // Checked for the routes that wait too: they would fail later, when their
            // module is in (and a manifest with problems names them all at once).
            if let Err(error) = self.check_fuel(spec) {
                problems.push(Problem {
                    key: format!("routes[{i}].fuel"),
                    message: error.to_string(),
                });
                continue;
            }
            let authorizer_waits = spec
                .authorizer
                .as_ref()
                .is_some_and(|name| waiting_authorizers.contains_key(name.as_str()));
            if !authorizer_waits
                && let Err(error) = super::routes::check_route_authorizer(&next, spec)
            {
                problems.push(Problem {
                    key: format!("routes[{i}].authorizer"),
                    message: format!("{error} (in [[authorizers]] or through the admin API)"),
                });
                continue;
            }
            if let Some(module) = awaited {
                waiting.push((spec.method.clone(), spec.template.clone(), module.clone()));
                continue;
            }
            if let Some(target) = target {
                if let Err(message) = Registry::resolve(&next, target) {
                    problems.push(Problem {
                        key: format!("routes[{i}].module"),
                        message: format!("{message} (nor is it in [[modules]])"),
                    });
                    continue;
                }
                if let Err(error) = self.check_kind(&next, target, ModuleKind::Handler) {
                    problems.push(Problem {
                        key: format!("routes[{i}].module"),
                        message: error.to_string(),
                    });
                    continue;
                }
            }
            if let Err(error) = self.check_reuse(&next, spec) {
                problems.push(Problem {
                    key: format!("routes[{i}].isolation"),
                    message: error.to_string(),
                });
                continue;
            }
            records.push((i, record));
        }
        next.routes = merge_routes(&next.routes, records, &mut problems);
        if let Err(error) = self.check_reservations(&next.routes) {
            problems.push(Problem {
                key: "routes".into(),
                message: error.to_string(),
            });
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok((next, waiting))
    }
}

/// The bytes of a `[[modules]]` file.
fn read_module(module: &ModuleSpec) -> Result<Vec<u8>, ApplyError> {
    std::fs::read(&module.path).map_err(|e| ApplyError::Module {
        module: module.name.clone(),
        error: RegistryError::Storage(format!("cannot read {}: {e}", module.path.display())),
    })
}

/// The stored routes with the manifest's merged in, in one pass: a manifest route replaces
/// the stored route with the same method and template (in its place), the others are
/// appended. A manifest route ambiguous with a stored one is a problem. (The stored routes
/// agree with each other, and so do the manifest's, each checked when they were made.)
fn merge_routes(
    stored: &[RouteRecord],
    manifest: Vec<(usize, RouteRecord)>,
    problems: &mut Vec<Problem>,
) -> Vec<RouteRecord> {
    let key = |record: &RouteRecord| (record.spec().method.clone(), record.spec().template.clone());
    let mut replacing: HashMap<_, RouteRecord> = HashMap::new();
    let mut table = RouteTable::new();
    for record in stored {
        let spec = record.spec();
        // Stored routes were conflict-free together; a subset still is.
        let _ = table.insert(spec.method.clone(), spec.template.clone(), ());
    }
    let stored_keys: HashSet<_> = stored.iter().map(key).collect();
    let mut appended = Vec::new();
    for (i, record) in manifest {
        let spec = record.spec();
        if stored_keys.contains(&key(&record)) {
            replacing.insert(key(&record), record);
            continue;
        }
        match table.insert(spec.method.clone(), spec.template.clone(), ()) {
            Ok(()) => appended.push(record),
            Err(conflict) => problems.push(Problem {
                key: format!("routes[{i}].path"),
                message: format!("{conflict} (a route stored through the admin API)"),
            }),
        }
    }
    let mut merged: Vec<RouteRecord> = stored
        .iter()
        .map(|record| {
            replacing
                .remove(&key(record))
                .unwrap_or_else(|| record.clone())
        })
        .collect();
    merged.extend(appended);
    merged
}
