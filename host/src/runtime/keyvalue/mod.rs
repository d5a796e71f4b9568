//! The host side of `wasi:keyvalue` (`wit/deps/keyvalue.wit`): state a handler keeps
//! between invocations. A module opens only the stores its configuration names
//! (`key_value_stores`), and each store it opens holds its own data only: two modules'
//! `default` stores are two stores. What keeps the data is a [`KeyValueBackend`]: the
//! data dir's embedded database ([`LocalKeyValue`], `redb`) by default.
//!
//! Every value a guest passes is bounded before it is stored: keys ([`MAX_KEY_BYTES`]),
//! values ([`MAX_VALUE_BYTES`]), batches ([`MAX_BATCH`]) and each store's total size.

mod local;

use std::sync::Arc;

use wasmtime::component::{HasData, Linker, Resource, ResourceTable};

pub use local::LocalKeyValue;

mod bindings {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "wasmgate:gateway/key-value-imports",
        with: {
            "wasi:keyvalue/store.bucket": super::Bucket,
        },
    });
}

use bindings::wasi::keyvalue::{atomics, batch, store};

/// The longest key, in bytes.
pub const MAX_KEY_BYTES: usize = 1024;
/// The largest value, in bytes.
pub const MAX_VALUE_BYTES: usize = 1 << 20;
/// The most keys one batch call or one page of `list-keys` holds.
pub const MAX_BATCH: usize = 1000;

/// One module's store: what a bucket names.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StoreRef {
    /// The module whose store it is.
    pub module: Arc<str>,
    /// The store's name, as the module opened it.
    pub name: Arc<str>,
}

impl std::fmt::Display for StoreRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "`{}` of module `{}`", self.name, self.module)
    }
}

/// Why a key-value operation failed; the guest gets the message as `error::other`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyValueError {
    /// The write would take the store past its size limit.
    #[error("the store {store} is full: {limit} bytes at most (keys and values)")]
    Full {
        /// The store.
        store: String,
        /// Its limit.
        limit: u64,
    },
    /// A key, a value or a batch is larger than allowed.
    #[error("{0}")]
    TooLarge(String),
    /// `increment` of a value that is not a decimal number, or past `u64::MAX`.
    #[error("`increment`: {0}")]
    NotANumber(String),
    /// The database failed.
    #[error("the key-value database failed: {0}")]
    Storage(String),
}

/// What a key-value operation returns.
pub type KeyValueResult<T> = Result<T, KeyValueError>;

/// One page of a store's keys, in key order.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct KeyPage {
    /// The keys.
    pub keys: Vec<String>,
    /// Whether more keys follow this page.
    pub more: bool,
}

/// What keeps the stores' data.
pub trait KeyValueBackend: Send + Sync + 'static {
    /// The value of `key`.
    fn get(&self, store: &StoreRef, key: &str) -> KeyValueResult<Option<Vec<u8>>>;
    /// Sets every pair, in one transaction.
    fn set_many(&self, store: &StoreRef, pairs: &[(String, Vec<u8>)]) -> KeyValueResult<()>;
    /// Removes every key, in one transaction.
    fn delete_many(&self, store: &StoreRef, keys: &[String]) -> KeyValueResult<()>;
    /// Up to `limit` keys in key order, after the first `skip`; and whether more follow.
    fn list_keys(&self, store: &StoreRef, skip: u64, limit: usize) -> KeyValueResult<KeyPage>;
    /// Adds `delta` to the decimal number at `key` (absent: 0), atomically.
    fn increment(&self, store: &StoreRef, key: &str, delta: u64) -> KeyValueResult<u64>;
}

/// What one module's instances may open.
#[derive(Clone)]
pub struct KeyValueAccess {
    /// Where the data is.
    pub backend: Arc<dyn KeyValueBackend>,
    /// The module.
    pub module: Arc<str>,
    /// The stores its configuration names.
    pub stores: Arc<[String]>,
}

impl std::fmt::Debug for KeyValueAccess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyValueAccess")
            .field("module", &self.module)
            .field("stores", &self.stores)
            .finish_non_exhaustive()
    }
}

impl PartialEq for KeyValueAccess {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.backend, &other.backend)
            && self.module == other.module
            && self.stores == other.stores
    }
}

impl Eq for KeyValueAccess {}

/// An open store, as a guest's `bucket` resource.
pub struct Bucket {
    store: StoreRef,
    backend: Arc<dyn KeyValueBackend>,
}

/// What the host functions work on: the invocation's resource table and its access.
pub struct KeyValueView<'a> {
    /// The invocation's resources (its buckets among them).
    pub table: &'a mut ResourceTable,
    /// The stores it may open (none: `open` is always denied).
    pub access: Option<&'a KeyValueAccess>,
}

struct KeyValueData;

impl HasData for KeyValueData {
    type Data<'a> = KeyValueView<'a>;
}

/// Adds `wasi:keyvalue` to `linker`; `view` finds the invocation's table and access.
pub(super) fn add_to_linker<T: 'static>(
    linker: &mut Linker<T>,
    view: fn(&mut T) -> KeyValueView<'_>,
) -> wasmtime::Result<()> {
    store::add_to_linker::<T, KeyValueData>(linker, view)?;
    atomics::add_to_linker::<T, KeyValueData>(linker, view)?;
    batch::add_to_linker::<T, KeyValueData>(linker, view)?;
    Ok(())
}

fn other(error: impl std::fmt::Display) -> store::Error {
    store::Error::Other(error.to_string())
}

fn check_key(key: &str) -> Result<(), store::Error> {
    if key.len() > MAX_KEY_BYTES {
        return Err(other(KeyValueError::TooLarge(format!(
            "a key is {MAX_KEY_BYTES} bytes at most, not {}",
            key.len()
        ))));
    }
    Ok(())
}

fn check_value(value: &[u8]) -> Result<(), store::Error> {
    if value.len() > MAX_VALUE_BYTES {
        return Err(other(KeyValueError::TooLarge(format!(
            "a value is {MAX_VALUE_BYTES} bytes at most, not {}",
            value.len()
        ))));
    }
    Ok(())
}

fn check_batch(len: usize) -> Result<(), store::Error> {
    if len > MAX_BATCH {
        return Err(other(KeyValueError::TooLarge(format!(
            "a batch is {MAX_BATCH} keys at most, not {len}"
        ))));
    }
    Ok(())
}

impl KeyValueView<'_> {
    fn bucket(&self, bucket: &Resource<Bucket>) -> Result<&Bucket, store::Error> {
        self.table.get(bucket).map_err(other)
    }
}

impl store::Host for KeyValueView<'_> {
    fn open(&mut self, identifier: String) -> Result<Resource<Bucket>, store::Error> {
        let Some(access) = self.access else {
            return Err(store::Error::AccessDenied);
        };
        if !access.stores.contains(&identifier) {
            return Err(store::Error::AccessDenied);
        }
        let bucket = Bucket {
            store: StoreRef {
                module: access.module.clone(),
                name: identifier.into(),
            },
            backend: access.backend.clone(),
        };
        self.table.push(bucket).map_err(other)
    }
}

impl store::HostBucket for KeyValueView<'_> {
    fn get(
        &mut self,
        bucket: Resource<Bucket>,
        key: String,
    ) -> Result<Option<Vec<u8>>, store::Error> {
        check_key(&key)?;
        let bucket = self.bucket(&bucket)?;
        bucket.backend.get(&bucket.store, &key).map_err(other)
    }

    fn set(
        &mut self,
        bucket: Resource<Bucket>,
        key: String,
        value: Vec<u8>,
    ) -> Result<(), store::Error> {
        check_key(&key)?;
        check_value(&value)?;
        let bucket = self.bucket(&bucket)?;
        bucket
            .backend
            .set_many(&bucket.store, &[(key, value)])
            .map_err(other)
    }

    fn delete(&mut self, bucket: Resource<Bucket>, key: String) -> Result<(), store::Error> {
        check_key(&key)?;
        let bucket = self.bucket(&bucket)?;
        bucket
            .backend
            .delete_many(&bucket.store, &[key])
            .map_err(other)
    }

    fn exists(&mut self, bucket: Resource<Bucket>, key: String) -> Result<bool, store::Error> {
        check_key(&key)?;
        let bucket = self.bucket(&bucket)?;
        Ok(bucket
            .backend
            .get(&bucket.store, &key)
            .map_err(other)?
            .is_some())
    }

    fn list_keys(
        &mut self,
        bucket: Resource<Bucket>,
        cursor: Option<u64>,
    ) -> Result<store::KeyResponse, store::Error> {
        let bucket = self.bucket(&bucket)?;
        let skip = cursor.unwrap_or(0);
        let KeyPage { keys, more } = bucket
            .backend
            .list_keys(&bucket.store, skip, MAX_BATCH)
            .map_err(other)?;
        let cursor = more.then(|| skip + keys.len() as u64);
        Ok(store::KeyResponse { keys, cursor })
    }

    fn drop(&mut self, bucket: Resource<Bucket>) -> wasmtime::Result<()> {
        self.table.delete(bucket)?;
        Ok(())
    }
}

impl atomics::Host for KeyValueView<'_> {
    fn increment(
        &mut self,
        bucket: Resource<Bucket>,
        key: String,
        delta: u64,
    ) -> Result<u64, store::Error> {
        check_key(&key)?;
        let bucket = self.bucket(&bucket)?;
        bucket
            .backend
            .increment(&bucket.store, &key, delta)
            .map_err(other)
    }
}

impl batch::Host for KeyValueView<'_> {
    fn get_many(
        &mut self,
        bucket: Resource<Bucket>,
        keys: Vec<String>,
    ) -> Result<Vec<Option<(String, Vec<u8>)>>, store::Error> {
        check_batch(keys.len())?;
        keys.iter().try_for_each(|key| check_key(key))?;
        let bucket = self.bucket(&bucket)?;
        keys.into_iter()
            .map(|key| {
                let value = bucket.backend.get(&bucket.store, &key).map_err(other)?;
                Ok(value.map(|value| (key, value)))
            })
            .collect()
    }

    fn set_many(
        &mut self,
        bucket: Resource<Bucket>,
        key_values: Vec<(String, Vec<u8>)>,
    ) -> Result<(), store::Error> {
        check_batch(key_values.len())?;
        for (key, value) in &key_values {
            check_key(key)?;
            check_value(value)?;
        }
        let bucket = self.bucket(&bucket)?;
        bucket
            .backend
            .set_many(&bucket.store, &key_values)
            .map_err(other)
    }

    fn delete_many(
        &mut self,
        bucket: Resource<Bucket>,
        keys: Vec<String>,
    ) -> Result<(), store::Error> {
        check_batch(keys.len())?;
        keys.iter().try_for_each(|key| check_key(key))?;
        let bucket = self.bucket(&bucket)?;
        bucket
            .backend
            .delete_many(&bucket.store, &keys)
            .map_err(other)
    }
}
