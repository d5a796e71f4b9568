//! The hashes of a node's own compiled code, for a registry shared through Redis: kept in
//! the node's data dir (`native-index.json`, replaced atomically), since nodes may run other
//! engines, and taken out of the document the nodes share.
//!
//! The hash vouches for code that is loaded without validation, so it lives in a file only
//! the node's user may write, as `registry.json` does for a registry on disk.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::super::RegistryError;
use super::super::fs::write_atomic_with_mode;
use super::super::model::{NativeRecord, RegistryState};

/// Module sha256 → the compiled code stored for it on this node.
type Index = BTreeMap<String, NativeRecord>;

pub(super) struct NativeIndex {
    path: PathBuf,
    index: Mutex<Index>,
}

impl NativeIndex {
    /// Reads the index in `data_dir` (empty if there is none, or it cannot be read: then
    /// the code is compiled again).
    pub(super) fn open(data_dir: &Path) -> Result<Self, RegistryError> {
        let path = data_dir.join("native-index.json");
        let index = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|error| {
                tracing::warn!(file = %path.display(), %error, "compiled-code index unreadable; recompiling");
                Index::new()
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Index::new(),
            Err(e) => {
                return Err(RegistryError::Storage(format!(
                    "cannot read {}: {e}",
                    path.display()
                )));
            }
        };
        Ok(NativeIndex {
            path,
            index: Mutex::new(index),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Index> {
        self.index
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// Sets each version's record to this node's code for it, if any.
    pub(super) fn fill(&self, state: &mut RegistryState) {
        let index = self.lock();
        for version in state
            .modules
            .values_mut()
            .flat_map(|m| m.versions.values_mut())
        {
            version.native = index.get(&version.sha256).cloned();
        }
    }

    /// Keeps the records of `state` (of the versions it has) as this node's index.
    pub(super) fn record(&self, state: &RegistryState) -> Result<(), RegistryError> {
        let next: Index = state
            .modules
            .values()
            .flat_map(|m| m.versions.values())
            .filter_map(|v| Some((v.sha256.clone(), v.native.clone()?)))
            .collect();
        let mut index = self.lock();
        if *index == next {
            return Ok(());
        }
        let json = serde_json::to_vec(&next)
            .map_err(|e| RegistryError::Storage(format!("cannot serialise the code index: {e}")))?;
        write_atomic_with_mode(&self.path, &json, 0o600).map_err(|e| {
            RegistryError::Storage(format!("cannot write {}: {e}", self.path.display()))
        })?;
        *index = next;
        Ok(())
    }

    /// `state` without any node's compiled-code records: the part the nodes share.
    pub(super) fn strip(state: &RegistryState) -> RegistryState {
        let mut shared = state.clone();
        for version in shared
            .modules
            .values_mut()
            .flat_map(|m| m.versions.values_mut())
        {
            version.native = None;
        }
        shared
    }
}
