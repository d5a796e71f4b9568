//! Where the registry lives: the [`RegistryStore`] interface, and [`FileStore`], its data-dir
//! implementation. The registry several gateway nodes share (`super::redis_store`) implements the
//! same trait.
//!
//! Data-dir layout:
//!
//! ```text
//! registry.json                     versions, aliases, routes (replaced atomically)
//! modules/<sha256>.wasm             module bytes, named by their hash
//! native/<sha256>-<engine>.cwasm    compiled code for one engine configuration (its
//!                                   own sha256 is kept in registry.json)
//! quarantine/                       files whose contents did not match their hash
//! quota-usage.json                  API keys' quota usage in their current periods
//! ```
//!
//! Every write is atomic (temporary file, fsync, rename, fsync of the folder), and the
//! registry document is written last: after a crash, an upload either fully exists or is
//! not referenced at all.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::RegistryError;
use super::fs::{DirLock, check_private, ensure_dir, write_atomic, write_atomic_with_mode};
use super::model::{RegistryState, SavedQuotaUsage};

/// Storage of the registry document and module bytes (shared by the nodes that share the
/// store), with the node's own data dir for the rest ([`RegistryStore::local`]).
pub trait RegistryStore: Send + Sync {
    /// The stored registry, if one was ever saved.
    fn load_state(&self) -> Result<Option<RegistryState>, RegistryError>;
    /// Replaces the stored registry.
    fn save_state(&self, state: &RegistryState) -> Result<(), RegistryError>;
    /// Stores module bytes under their hex sha256.
    fn put_module(&self, sha256: &str, bytes: &[u8]) -> Result<(), RegistryError>;
    /// Module bytes, checked against their hash (a mismatch quarantines them and fails).
    fn get_module(&self, sha256: &str) -> Result<Vec<u8>, RegistryError>;
    /// This node's own data dir, whatever the store: compiled code (its engine may differ
    /// from other nodes') and API keys' quota usage are kept there.
    fn local(&self) -> &FileStore;

    /// Whether other gateway nodes share this store: then changes are serialised across
    /// them ([`RegistryStore::begin_change`]) and each node follows the others' changes.
    fn is_shared(&self) -> bool {
        false
    }
    /// Waits for the right to change the registry, held by one node at a time until
    /// [`RegistryStore::end_change`] with the token returned (`None`: nothing to hold).
    fn begin_change(&self) -> Result<Option<String>, RegistryError> {
        Ok(None)
    }
    /// Gives up the right to change the registry.
    fn end_change(&self, _token: String) {}
    /// Whether the stored registry differs from the one this node last loaded or saved.
    fn changed_elsewhere(&self) -> Result<bool, RegistryError> {
        Ok(false)
    }
    /// Stores `state` (and the bytes of its modules) in a store that lost it.
    fn restore(&self, state: &RegistryState) -> Result<(), RegistryError> {
        self.save_state(state)
    }
    /// The stored registry, without taking it as what this node's changes start from
    /// (to prepare for it before [`RegistryStore::load_state`]).
    fn peek_state(&self) -> Result<Option<RegistryState>, RegistryError> {
        self.load_state()
    }
}

/// Hex sha256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Why a module or compiled code is quarantined.
const MISMATCH: &str = "does not match its sha256";

/// The quota usage file in the data dir.
const QUOTA_USAGE: &str = "quota-usage.json";

/// The registry in a data dir on the local disk.
#[derive(Debug)]
pub struct FileStore {
    root: PathBuf,
    /// Held while the store is open: one gateway per data dir.
    _lock: DirLock,
}

impl FileStore {
    /// Opens (creating if needed) a data dir, and locks it: it must be writable by its
    /// owner only, and no other gateway may have it open.
    pub fn open(root: &Path) -> Result<Self, RegistryError> {
        ensure_dir(root).map_err(|e| storage_error("create", root, e))?;
        check_private(root, "the data dir").map_err(|e| RegistryError::Storage(e.to_string()))?;
        let lock = DirLock::take(root).map_err(|e| RegistryError::Storage(e.to_string()))?;
        for sub in ["modules", "native", "quarantine"] {
            ensure_dir(&root.join(sub)).map_err(|e| {
                RegistryError::Storage(format!("cannot create {}: {e}", root.join(sub).display()))
            })?;
        }
        Ok(FileStore {
            root: root.to_owned(),
            _lock: lock,
        })
    }

    /// The data dir.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn state_path(&self) -> PathBuf {
        self.root.join("registry.json")
    }

    fn module_path(&self, sha256: &str) -> PathBuf {
        self.root.join("modules").join(format!("{sha256}.wasm"))
    }

    fn native_path(&self, sha256: &str, engine: &str) -> PathBuf {
        self.root
            .join("native")
            .join(format!("{sha256}-{engine}.cwasm"))
    }

    /// Moves a damaged file aside (`why` says what is wrong with it), so it is never loaded.
    fn quarantine(&self, path: &Path, why: &str) {
        let Some(name) = path.file_name() else { return };
        let target = self.root.join("quarantine").join(name);
        match std::fs::rename(path, &target) {
            Ok(()) => tracing::error!(
                file = %path.display(),
                moved_to = %target.display(),
                "stored file {why}: quarantined, never loaded"
            ),
            Err(error) => tracing::error!(
                file = %path.display(),
                %error,
                "stored file {why} and could not be quarantined"
            ),
        }
    }
}

fn storage_error(what: &str, path: &Path, error: std::io::Error) -> RegistryError {
    RegistryError::Storage(format!("cannot {what} {}: {error}", path.display()))
}

fn is_hex_sha256(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

impl RegistryStore for FileStore {
    fn load_state(&self) -> Result<Option<RegistryState>, RegistryError> {
        let path = self.state_path();
        let text = match std::fs::read(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(storage_error("read", &path, e)),
        };
        let state: RegistryState = serde_json::from_slice(&text).map_err(|e| {
            RegistryError::Storage(format!("{} is not a valid registry: {e}", path.display()))
        })?;
        if state.format != super::model::FORMAT {
            return Err(RegistryError::Storage(format!(
                "{} has format {}, this wasmgate reads format {}",
                path.display(),
                state.format,
                super::model::FORMAT
            )));
        }
        Ok(Some(state))
    }

    fn save_state(&self, state: &RegistryState) -> Result<(), RegistryError> {
        let path = self.state_path();
        let json = serde_json::to_vec_pretty(state)
            .map_err(|e| RegistryError::Storage(format!("cannot serialise the registry: {e}")))?;
        // The registry may hold secrets (a JWT authorizer's HMAC secret): owner only.
        write_atomic_with_mode(&path, &json, 0o600).map_err(|e| storage_error("write", &path, e))
    }

    fn put_module(&self, sha256: &str, bytes: &[u8]) -> Result<(), RegistryError> {
        let path = self.module_path(sha256);
        if path.is_file() {
            return Ok(());
        }
        write_atomic(&path, bytes).map_err(|e| storage_error("write", &path, e))
    }

    fn get_module(&self, sha256: &str) -> Result<Vec<u8>, RegistryError> {
        if !is_hex_sha256(sha256) {
            return Err(RegistryError::Storage(format!(
                "`{sha256}` is not a sha256"
            )));
        }
        let path = self.module_path(sha256);
        let bytes = std::fs::read(&path).map_err(|e| storage_error("read", &path, e))?;
        if sha256_hex(&bytes) != sha256 {
            self.quarantine(&path, MISMATCH);
            return Err(RegistryError::Storage(format!(
                "{} does not match its sha256; it was quarantined",
                path.display()
            )));
        }
        Ok(bytes)
    }

    fn local(&self) -> &FileStore {
        self
    }
}

/// What every node keeps in its own data dir, whatever its store.
impl FileStore {
    /// Stores compiled code for a module under an engine compatibility key; returns the
    /// code's hex sha256, which the caller records in the registry document.
    pub fn put_native(
        &self,
        sha256: &str,
        engine: &str,
        bytes: &[u8],
    ) -> Result<String, RegistryError> {
        let code = self.native_path(sha256, engine);
        write_atomic(&code, bytes).map_err(|e| storage_error("write", &code, e))?;
        Ok(sha256_hex(bytes))
    }

    /// The file of compiled code, if present and its sha256 is `expected` (the hash the
    /// registry document recorded); a mismatch quarantines it and returns `None`. The file
    /// is hashed as it is read, never held whole: the runtime maps it afterwards.
    pub fn native_file(
        &self,
        sha256: &str,
        engine: &str,
        expected: &str,
    ) -> Result<Option<PathBuf>, RegistryError> {
        let code = self.native_path(sha256, engine);
        let mut file = match std::fs::File::open(&code) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(storage_error("read", &code, e)),
        };
        let mut hasher = Sha256::new();
        std::io::copy(&mut file, &mut hasher).map_err(|e| storage_error("read", &code, e))?;
        if hex::encode(hasher.finalize()) != expected {
            self.quarantine(&code, MISMATCH);
            return Ok(None);
        }
        Ok(Some(code))
    }

    /// API keys' quota usage as last saved (empty if never saved).
    pub fn load_quota_usage(&self) -> Result<SavedQuotaUsage, RegistryError> {
        let path = self.root.join(QUOTA_USAGE);
        let text = match std::fs::read(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(SavedQuotaUsage::new()),
            Err(e) => return Err(storage_error("read", &path, e)),
        };
        serde_json::from_slice(&text).map_err(|e| {
            self.quarantine(&path, "is not valid JSON quota usage");
            RegistryError::Storage(format!(
                "{} is not valid quota usage ({e}); it was quarantined",
                path.display()
            ))
        })
    }

    /// Replaces the saved quota usage.
    pub fn save_quota_usage(&self, usage: &SavedQuotaUsage) -> Result<(), RegistryError> {
        let path = self.root.join(QUOTA_USAGE);
        let json = serde_json::to_vec(usage)
            .map_err(|e| RegistryError::Storage(format!("cannot serialise quota usage: {e}")))?;
        write_atomic(&path, &json).map_err(|e| storage_error("write", &path, e))
    }
}
