//! [`RedisStore`]: the registry shared by several gateway nodes through Redis
//! (`--store redis://…`).
//!
//! Keys (under the prefix `wasmgate:`):
//!
//! ```text
//! wasmgate:registry          hash: `doc` the registry document (JSON), `rev` its revision
//! wasmgate:module:<sha256>   module bytes, named by their hash (written once)
//! wasmgate:change-lock       held by the node making a change (a random token, expiring)
//! wasmgate:changes           pub/sub channel: the new revision after every change
//! ```
//!
//! Changes are serialised across nodes: a node takes the change lock, catches up with the
//! stored revision, edits, and saves with a compare-and-set on the revision (a Lua script),
//! so a change is never made to a stale registry and never lost. Compiled code stays on
//! each node's disk (its engine may differ), with the hashes that vouch for it in a local
//! index beside it, not in the shared document; so does a copy of every module's bytes,
//! with which a node gives its registry back to a Redis that lost it (restarted without
//! persistence).

mod feed;
mod native_index;

use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use redis::{Commands, Connection};

pub use feed::ChangeFeed;

use super::RegistryError;
use super::model::{FORMAT, RegistryState};
use super::store::{FileStore, RegistryStore, sha256_hex};
use native_index::NativeIndex;

/// The prefix of every key wasmgate keeps in Redis.
const PREFIX: &str = "wasmgate:";
/// How long a node may hold the change lock: a change takes milliseconds (compiling happens
/// before it), so this only matters for a node that died holding it.
const LOCK_LEASE: Duration = Duration::from_secs(15);
/// How long a change waits for another node's change to finish.
const LOCK_WAIT: Duration = Duration::from_secs(20);
/// Bounds on talking to Redis: a node never hangs on an unreachable one.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// Saves the document if the stored revision is still the one the change started from;
/// returns the new revision, or -1 when another node saved in between.
const SAVE_SCRIPT: &str = r"
local rev = tonumber(redis.call('HGET', KEYS[1], 'rev') or '0')
if rev ~= tonumber(ARGV[1]) then return -1 end
rev = rev + 1
redis.call('HSET', KEYS[1], 'doc', ARGV[2], 'rev', rev)
redis.call('PUBLISH', KEYS[2], rev)
return rev
";

/// Releases the change lock if this node still holds it.
const UNLOCK_SCRIPT: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
";

/// The registry in Redis, with compiled code in a local data dir. (Quota usage goes to the
/// data dir's file too, but with a shared store the gateway counts quotas in Redis itself,
/// so nothing is saved there.)
pub struct RedisStore {
    client: redis::Client,
    /// The server's address, without credentials, for messages.
    shown: String,
    connection: Mutex<Option<Connection>>,
    /// What this node's state was last loaded from or saved as.
    base: Mutex<Base>,
    local: FileStore,
    native: NativeIndex,
    save: redis::Script,
    unlock: redis::Script,
}

/// The revision a node's state is based on, and its shared document as serialised.
#[derive(Default)]
struct Base {
    revision: i64,
    document: Vec<u8>,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("server", &self.shown)
            .finish_non_exhaustive()
    }
}

impl RedisStore {
    /// Connects to the Redis at `url` (`redis://`, `rediss://` for TLS, or
    /// `redis+unix:///path`; user and password in the URL), keeping compiled code in
    /// `data_dir`. Fails if the server cannot be reached.
    pub fn open(url: &str, data_dir: &Path) -> Result<Self, RegistryError> {
        let client = redis::Client::open(url).map_err(|e| {
            RegistryError::Storage(format!(
                "--store: `{}` is not a Redis URL: {e}",
                redact(url)
            ))
        })?;
        let shown = client.get_connection_info().addr().to_string();
        let local = FileStore::open(data_dir)?;
        let native = NativeIndex::open(local.root())?;
        let store = RedisStore {
            client,
            shown,
            connection: Mutex::new(None),
            base: Mutex::new(Base::default()),
            local,
            native,
            save: redis::Script::new(SAVE_SCRIPT),
            unlock: redis::Script::new(UNLOCK_SCRIPT),
        };
        store.with_connection(|c| redis::cmd("PING").query::<String>(c))?;
        Ok(store)
    }

    /// The server's address, for messages.
    pub fn server(&self) -> &str {
        &self.shown
    }

    /// A feed of the changes other nodes make, on a connection of its own.
    pub fn feed(&self) -> ChangeFeed {
        ChangeFeed::new(self.client.clone(), format!("{PREFIX}changes"))
    }

    /// Runs `call` on the command connection, connecting first if needed; a failed call
    /// drops the connection, so the next one reconnects.
    fn with_connection<T>(
        &self,
        call: impl FnOnce(&mut Connection) -> redis::RedisResult<T>,
    ) -> Result<T, RegistryError> {
        let mut slot = self
            .connection
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        let outcome = match slot.as_mut() {
            Some(connection) => call(connection),
            None => connect(&self.client).and_then(|mut connection| {
                let outcome = call(&mut connection);
                *slot = Some(connection);
                outcome
            }),
        };
        outcome.map_err(|error| {
            if error.is_io_error() || error.is_timeout() || error.is_connection_dropped() {
                *slot = None;
            }
            self.unavailable(&error)
        })
    }

    fn unavailable(&self, error: &redis::RedisError) -> RegistryError {
        RegistryError::Unavailable(format!(
            "the shared store (Redis at {}) is unavailable: {error}",
            self.shown
        ))
    }

    fn registry_key() -> String {
        format!("{PREFIX}registry")
    }

    fn module_key(sha256: &str) -> String {
        format!("{PREFIX}module:{sha256}")
    }

    /// The stored document and its revision, without making it this node's base.
    fn fetch(&self) -> Result<Option<(i64, Vec<u8>)>, RegistryError> {
        let (document, revision): (Option<Vec<u8>>, Option<i64>) = self.with_connection(|c| {
            redis::cmd("HMGET")
                .arg(Self::registry_key())
                .arg("doc")
                .arg("rev")
                .query(c)
        })?;
        Ok(document.map(|document| (revision.unwrap_or(0), document)))
    }

    /// Parses a shared document and adds this node's compiled-code hashes to it.
    fn parse(&self, document: &[u8]) -> Result<RegistryState, RegistryError> {
        let mut state: RegistryState = serde_json::from_slice(document).map_err(|e| {
            RegistryError::Storage(format!(
                "the registry in Redis at {} is not valid: {e}",
                self.shown
            ))
        })?;
        if state.format != FORMAT {
            return Err(RegistryError::Storage(format!(
                "the registry in Redis at {} has format {}, this wasmgate reads format {FORMAT}",
                self.shown, state.format
            )));
        }
        self.native.fill(&mut state);
        Ok(state)
    }

    fn base(&self) -> std::sync::MutexGuard<'_, Base> {
        self.base
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }
}

/// A connection with bounded waits.
pub(super) fn connect(client: &redis::Client) -> redis::RedisResult<Connection> {
    let connection = client.get_connection_with_timeout(CONNECT_TIMEOUT)?;
    connection.set_read_timeout(Some(IO_TIMEOUT))?;
    connection.set_write_timeout(Some(IO_TIMEOUT))?;
    Ok(connection)
}

/// `url` with any password replaced, for messages.
fn redact(url: &str) -> String {
    match url.split_once('@') {
        Some((credentials, rest)) => match credentials.rsplit_once(':') {
            Some((user, _)) if user.contains("//") => format!("{user}:***@{rest}"),
            _ => format!("***@{rest}"),
        },
        None => url.to_owned(),
    }
}

impl RegistryStore for RedisStore {
    fn load_state(&self) -> Result<Option<RegistryState>, RegistryError> {
        let Some((revision, document)) = self.fetch()? else {
            return Ok(None);
        };
        let state = self.parse(&document)?;
        *self.base() = Base { revision, document };
        Ok(Some(state))
    }

    fn save_state(&self, state: &RegistryState) -> Result<(), RegistryError> {
        // Compiled code is this node's own: its hashes go to the local index.
        self.native.record(state)?;
        let document = serde_json::to_vec(&NativeIndex::strip(state))
            .map_err(|e| RegistryError::Storage(format!("cannot serialise the registry: {e}")))?;
        let mut base = self.base();
        if document == base.document {
            return Ok(());
        }
        let keys = (Self::registry_key(), format!("{PREFIX}changes"));
        let revision: i64 = self.with_connection(|c| {
            self.save
                .key(&keys.0)
                .key(&keys.1)
                .arg(base.revision)
                .arg(&document)
                .invoke(c)
        })?;
        if revision < 0 {
            return Err(RegistryError::Unavailable(
                "another gateway node changed the registry at the same moment; nothing was changed, retry"
                    .into(),
            ));
        }
        *base = Base { revision, document };
        Ok(())
    }

    fn is_shared(&self) -> bool {
        true
    }

    fn begin_change(&self) -> Result<Option<String>, RegistryError> {
        let token = super::keys::random_hex(16)?;
        let lock = format!("{PREFIX}change-lock");
        let started = Instant::now();
        let lease = LOCK_LEASE.as_millis() as u64;
        loop {
            let taken: Option<String> = self.with_connection(|c| {
                redis::cmd("SET")
                    .arg(&lock)
                    .arg(&token)
                    .arg("NX")
                    .arg("PX")
                    .arg(lease)
                    .query(c)
            })?;
            if taken.is_some() {
                return Ok(Some(token));
            }
            if started.elapsed() > LOCK_WAIT {
                return Err(RegistryError::Unavailable(format!(
                    "another gateway node has been changing the registry for over {} s; retry",
                    LOCK_WAIT.as_secs()
                )));
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn end_change(&self, token: String) {
        let lock = format!("{PREFIX}change-lock");
        let released = self.with_connection(|c| -> redis::RedisResult<i64> {
            self.unlock.key(&lock).arg(&token).invoke(c)
        });
        if let Err(error) = released {
            // It expires by itself.
            tracing::warn!(%error, "the registry's change lock not released");
        }
    }

    fn changed_elsewhere(&self) -> Result<bool, RegistryError> {
        let stored: Option<i64> = self.with_connection(|c| c.hget(Self::registry_key(), "rev"))?;
        Ok(stored.unwrap_or(0) != self.base().revision)
    }

    fn peek_state(&self) -> Result<Option<RegistryState>, RegistryError> {
        match self.fetch()? {
            Some((_, document)) => self.parse(&document).map(Some),
            None => Ok(None),
        }
    }

    fn put_module(&self, sha256: &str, bytes: &[u8]) -> Result<(), RegistryError> {
        // Named by their hash: bytes already there are these bytes.
        self.with_connection(|c| {
            redis::cmd("SET")
                .arg(Self::module_key(sha256))
                .arg(bytes)
                .arg("NX")
                .query::<Option<String>>(c)
        })?;
        // A local copy: loaded without a round trip, and what restores a Redis that lost it.
        self.local.put_module(sha256, bytes)
    }

    fn get_module(&self, sha256: &str) -> Result<Vec<u8>, RegistryError> {
        if let Ok(bytes) = self.local.get_module(sha256) {
            return Ok(bytes);
        }
        let bytes: Option<Vec<u8>> = self.with_connection(|c| c.get(Self::module_key(sha256)))?;
        let bytes = bytes.ok_or_else(|| {
            RegistryError::Storage(format!(
                "module {sha256} is missing from Redis at {}",
                self.shown
            ))
        })?;
        if sha256_hex(&bytes) != sha256 {
            return Err(RegistryError::Storage(format!(
                "module {sha256} in Redis at {} does not match its sha256; not loaded",
                self.shown
            )));
        }
        if let Err(error) = self.local.put_module(sha256, &bytes) {
            tracing::warn!(%error, "no local copy of a module kept");
        }
        Ok(bytes)
    }

    fn restore(&self, state: &RegistryState) -> Result<(), RegistryError> {
        for version in state.modules.values().flat_map(|m| m.versions.values()) {
            let bytes = self.local.get_module(&version.sha256)?;
            self.with_connection(|c| {
                redis::cmd("SET")
                    .arg(Self::module_key(&version.sha256))
                    .arg(&bytes)
                    .arg("NX")
                    .query::<Option<String>>(c)
            })?;
        }
        *self.base() = Base::default();
        self.save_state(state)
    }

    fn local(&self) -> &FileStore {
        &self.local
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn passwords_are_not_shown() {
        assert_eq!(
            redact("redis://u:secret@h:6379/0"),
            "redis://u:***@h:6379/0"
        );
        assert_eq!(redact("redis://:secret@h"), "redis://:***@h");
        assert_eq!(redact("redis://h:6379"), "redis://h:6379");
    }
}
