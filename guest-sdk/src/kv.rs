//! State kept between invocations: the module's key-value stores (`wasi:keyvalue`). A
//! module opens only the stores its configuration names (`key_value_stores = ["default"]`
//! in its `[[modules]]` entry), and sees only its own data in them.
//!
//! ```no_run
//! use wasmgate_sdk::{handler, kv, Error, Request, Response};
//!
//! #[handler]
//! fn count(req: Request) -> Result<Response, Error> {
//!     let visits = kv::Store::open("default")?.increment("visits", 1)?;
//!     Ok(Response::text(format!("visit number {visits}")))
//! }
//! ```
//!
//! Every error converts into the SDK's [`Error`](crate::Error) (a 500 with the store's
//! message), so `?` works in a handler.

mod bindings {
    wit_bindgen::generate!({
        path: "../wit",
        world: "wasmgate:gateway/key-value-imports",
        generate_all,
    });
}

use bindings::wasi::keyvalue::{atomics, batch, store};

/// Why a store operation failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KvError {
    /// No store of that name.
    NoSuchStore,
    /// The module's configuration does not name the store.
    AccessDenied,
    /// Anything else: a full store, an oversized key or value, a value `increment` cannot
    /// add to.
    Other(String),
}

impl std::fmt::Display for KvError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KvError::NoSuchStore => f.write_str("no such key-value store"),
            KvError::AccessDenied => f.write_str(
                "access denied to the key-value store: name it in the module's `key_value_stores`",
            ),
            KvError::Other(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for KvError {}

impl From<store::Error> for KvError {
    fn from(error: store::Error) -> Self {
        match error {
            store::Error::NoSuchStore => KvError::NoSuchStore,
            store::Error::AccessDenied => KvError::AccessDenied,
            store::Error::Other(message) => KvError::Other(message),
        }
    }
}

/// An open store.
pub struct Store {
    bucket: store::Bucket,
}

impl Store {
    /// Opens the store `name` (one of the module's `key_value_stores`).
    pub fn open(name: &str) -> Result<Store, KvError> {
        Ok(Store {
            bucket: store::open(name)?,
        })
    }

    /// The value of `key`, if it has one.
    pub fn get(&self, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        Ok(self.bucket.get(key)?)
    }

    /// The value of `key` as text (`None` if it has none; invalid UTF-8 is replaced).
    pub fn get_string(&self, key: &str) -> Result<Option<String>, KvError> {
        let value = self.get(key)?;
        Ok(value.map(|bytes| String::from_utf8_lossy(&bytes).into_owned()))
    }

    /// Sets `key` to `value`.
    pub fn set(&self, key: &str, value: impl AsRef<[u8]>) -> Result<(), KvError> {
        Ok(self.bucket.set(key, value.as_ref())?)
    }

    /// Removes `key` (nothing if it has no value).
    pub fn delete(&self, key: &str) -> Result<(), KvError> {
        Ok(self.bucket.delete(key)?)
    }

    /// Whether `key` has a value.
    pub fn exists(&self, key: &str) -> Result<bool, KvError> {
        Ok(self.bucket.exists(key)?)
    }

    /// Adds `delta` to the number at `key` (none counts as 0), atomically: concurrent
    /// invocations never lose an increment. Returns the sum.
    pub fn increment(&self, key: &str, delta: u64) -> Result<u64, KvError> {
        Ok(atomics::increment(&self.bucket, key, delta)?)
    }

    /// Every key, in key order (fetched page by page).
    pub fn keys(&self) -> Result<Vec<String>, KvError> {
        let mut keys = Vec::new();
        let mut cursor = None;
        loop {
            let page = self.bucket.list_keys(cursor)?;
            keys.extend(page.keys);
            match page.cursor {
                Some(next) => cursor = Some(next),
                None => return Ok(keys),
            }
        }
    }

    /// The values of `keys`, in order (`None` for a key without one).
    pub fn get_many(&self, keys: &[String]) -> Result<Vec<Option<Vec<u8>>>, KvError> {
        let found = batch::get_many(&self.bucket, keys)?;
        Ok(found
            .into_iter()
            .map(|pair| pair.map(|(_, value)| value))
            .collect())
    }
}
