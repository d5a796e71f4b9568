//! The embedded key-value backend: one `redb` database in the data dir
//! (`keyvalue.redb`). Every write is a transaction committed durably before the guest's
//! call returns, so what a handler stored survives a restart and a `kill -9`. Entries are
//! keyed `module \0 store \0 key`; each store's size (its keys' and values' bytes) is kept
//! beside them, so the limit is checked without a scan.

use std::path::Path;

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};

use super::{KeyPage, KeyValueBackend, KeyValueError, KeyValueResult, StoreRef};

const ENTRIES: TableDefinition<'_, &[u8], &[u8]> = TableDefinition::new("entries");
const SIZES: TableDefinition<'_, &str, u64> = TableDefinition::new("sizes");

/// The data dir's key-value database.
pub struct LocalKeyValue {
    db: Database,
    max_store_bytes: u64,
}

fn storage(error: impl std::fmt::Display) -> KeyValueError {
    KeyValueError::Storage(error.to_string())
}

/// Where `store`'s entries start: `module \0 store \0`.
fn prefix(store: &StoreRef) -> Vec<u8> {
    let mut prefix = Vec::with_capacity(store.module.len() + store.name.len() + 2);
    prefix.extend_from_slice(store.module.as_bytes());
    prefix.push(0);
    prefix.extend_from_slice(store.name.as_bytes());
    prefix.push(0);
    prefix
}

fn entry_key(store: &StoreRef, key: &str) -> Vec<u8> {
    let mut entry = prefix(store);
    entry.extend_from_slice(key.as_bytes());
    entry
}

/// The size recorded under `key` in [`SIZES`] (0 for a store never written).
fn stored_size(sizes: &impl ReadableTable<&'static str, u64>, key: &str) -> KeyValueResult<u64> {
    Ok(sizes
        .get(key)
        .map_err(storage)?
        .map_or(0, |size| size.value()))
}

/// The key of `store`'s size in [`SIZES`].
fn size_key(store: &StoreRef) -> String {
    format!("{}\0{}", store.module, store.name)
}

impl LocalKeyValue {
    /// Opens (or creates) the database at `path`; a store may hold `max_store_bytes` of
    /// keys and values.
    pub fn open(path: &Path, max_store_bytes: u64) -> KeyValueResult<Self> {
        let db = Database::create(path)
            .map_err(|e| KeyValueError::Storage(format!("cannot open {}: {e}", path.display())))?;
        // The tables exist from here on: readers never find them missing.
        let txn = db.begin_write().map_err(storage)?;
        txn.open_table(ENTRIES).map_err(storage)?;
        txn.open_table(SIZES).map_err(storage)?;
        txn.commit().map_err(storage)?;
        Ok(LocalKeyValue {
            db,
            max_store_bytes,
        })
    }

    fn full(&self, store: &StoreRef) -> KeyValueError {
        KeyValueError::Full {
            store: store.to_string(),
            limit: self.max_store_bytes,
        }
    }
}

impl KeyValueBackend for LocalKeyValue {
    fn get(&self, store: &StoreRef, key: &str) -> KeyValueResult<Option<Vec<u8>>> {
        let txn = self.db.begin_read().map_err(storage)?;
        let entries = txn.open_table(ENTRIES).map_err(storage)?;
        let value = entries
            .get(entry_key(store, key).as_slice())
            .map_err(storage)?;
        Ok(value.map(|value| value.value().to_vec()))
    }

    fn set_many(&self, store: &StoreRef, pairs: &[(String, Vec<u8>)]) -> KeyValueResult<()> {
        let txn = self.db.begin_write().map_err(storage)?;
        {
            let mut entries = txn.open_table(ENTRIES).map_err(storage)?;
            let mut sizes = txn.open_table(SIZES).map_err(storage)?;
            let size_key = size_key(store);
            let mut size = stored_size(&sizes, &size_key)?;
            for (key, value) in pairs {
                let entry = entry_key(store, key);
                let old = entries
                    .insert(entry.as_slice(), value.as_slice())
                    .map_err(storage)?
                    .map(|old| (key.len() + old.value().len()) as u64);
                size = size.saturating_sub(old.unwrap_or(0)) + (key.len() + value.len()) as u64;
            }
            if size > self.max_store_bytes {
                // Dropped uncommitted: nothing of the batch is written.
                return Err(self.full(store));
            }
            sizes.insert(size_key.as_str(), size).map_err(storage)?;
        }
        txn.commit().map_err(storage)
    }

    fn delete_many(&self, store: &StoreRef, keys: &[String]) -> KeyValueResult<()> {
        let txn = self.db.begin_write().map_err(storage)?;
        {
            let mut entries = txn.open_table(ENTRIES).map_err(storage)?;
            let mut sizes = txn.open_table(SIZES).map_err(storage)?;
            let size_key = size_key(store);
            let mut size = stored_size(&sizes, &size_key)?;
            for key in keys {
                let removed = entries
                    .remove(entry_key(store, key).as_slice())
                    .map_err(storage)?
                    .map(|old| (key.len() + old.value().len()) as u64);
                size = size.saturating_sub(removed.unwrap_or(0));
            }
            sizes.insert(size_key.as_str(), size).map_err(storage)?;
        }
        txn.commit().map_err(storage)
    }

    fn list_keys(&self, store: &StoreRef, skip: u64, limit: usize) -> KeyValueResult<KeyPage> {
        let start = prefix(store);
        // Just past every key with the prefix: its last byte (the `\0`) plus one.
        let mut end = start.clone();
        if let Some(last) = end.last_mut() {
            *last = 1;
        }
        let txn = self.db.begin_read().map_err(storage)?;
        let entries = txn.open_table(ENTRIES).map_err(storage)?;
        let range = entries
            .range(start.as_slice()..end.as_slice())
            .map_err(storage)?;
        let mut keys = Vec::new();
        let mut more = false;
        for entry in range.skip(usize::try_from(skip).unwrap_or(usize::MAX)) {
            let (key, _) = entry.map_err(storage)?;
            if keys.len() == limit {
                more = true;
                break;
            }
            let key = &key.value()[start.len()..];
            keys.push(String::from_utf8_lossy(key).into_owned());
        }
        Ok(KeyPage { keys, more })
    }

    fn increment(&self, store: &StoreRef, key: &str, delta: u64) -> KeyValueResult<u64> {
        let txn = self.db.begin_write().map_err(storage)?;
        let sum = {
            let mut entries = txn.open_table(ENTRIES).map_err(storage)?;
            let mut sizes = txn.open_table(SIZES).map_err(storage)?;
            let entry = entry_key(store, key);
            let old = entries
                .get(entry.as_slice())
                .map_err(storage)?
                .map(|value| value.value().to_vec());
            let current = match &old {
                None => 0,
                Some(bytes) => std::str::from_utf8(bytes)
                    .ok()
                    .and_then(|text| text.trim().parse::<u64>().ok())
                    .ok_or_else(|| {
                        KeyValueError::NotANumber(format!("the value of `{key}` is not a number"))
                    })?,
            };
            let sum = current.checked_add(delta).ok_or_else(|| {
                KeyValueError::NotANumber(format!("`{key}` would pass {}", u64::MAX))
            })?;
            let text = sum.to_string();
            let size_key = size_key(store);
            let size = stored_size(&sizes, &size_key)?;
            let old_len = old.map_or(0, |old| (key.len() + old.len()) as u64);
            let size = size.saturating_sub(old_len) + (key.len() + text.len()) as u64;
            if size > self.max_store_bytes {
                return Err(self.full(store));
            }
            entries
                .insert(entry.as_slice(), text.as_bytes())
                .map_err(storage)?;
            sizes.insert(size_key.as_str(), size).map_err(storage)?;
            sum
        };
        txn.commit().map_err(storage)?;
        Ok(sum)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn store(module: &str, name: &str) -> StoreRef {
        StoreRef {
            module: Arc::from(module),
            name: Arc::from(name),
        }
    }

    #[test]
    fn stores_are_apart_bounded_and_kept() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("kv.redb");
        let kv = LocalKeyValue::open(&path, 64).expect("open");
        let (a, b) = (store("a", "default"), store("b", "default"));
        kv.set_many(&a, &[("k".into(), b"one".to_vec())])
            .expect("set");
        assert_eq!(kv.get(&a, "k").expect("get"), Some(b"one".to_vec()));
        assert_eq!(
            kv.get(&b, "k").expect("get"),
            None,
            "another module's store"
        );
        assert_eq!(kv.increment(&a, "n", 2).expect("increment"), 2);
        assert_eq!(kv.increment(&a, "n", 3).expect("increment"), 5);
        assert!(matches!(
            kv.increment(&a, "k", 1),
            Err(KeyValueError::NotANumber(_))
        ));
        // 64 bytes at most: `k`+`one` and `n`+`5` are 6; 60 more do not fit.
        let big = vec![0u8; 60];
        assert!(matches!(
            kv.set_many(&a, &[("x".into(), big)]),
            Err(KeyValueError::Full { .. })
        ));
        assert_eq!(
            kv.get(&a, "x").expect("get"),
            None,
            "a refused write leaves nothing"
        );
        let KeyPage { keys, more } = kv.list_keys(&a, 0, 1).expect("list");
        assert_eq!((keys, more), (vec!["k".to_owned()], true));
        let KeyPage { keys, more } = kv.list_keys(&a, 1, 10).expect("list");
        assert_eq!((keys, more), (vec!["n".to_owned()], false));
        kv.delete_many(&a, &["k".into()]).expect("delete");
        // A deleted entry gives its bytes back.
        kv.set_many(&a, &[("y".into(), vec![0u8; 58])])
            .expect("fits again");
        drop(kv);
        let kv = LocalKeyValue::open(&path, 64).expect("reopen");
        assert_eq!(kv.get(&a, "n").expect("get"), Some(b"5".to_vec()));
        assert_eq!(kv.get(&a, "k").expect("get"), None);
    }
}
