//! The key-value backend of gateway nodes sharing a Redis (`--store`): every node sees the
//! same stores. A store is one Redis hash (`wasmgate:kv:{module}:{store}`) beside a
//! counter of its size (`wasmgate:kvsize:…`); writes that change the size run as Lua
//! scripts, so the limit holds across nodes. `increment` is `HINCRBY`, which keeps the
//! number as decimal text, as the embedded backend does.

use std::sync::Mutex;

use redis::Connection;

use crate::runtime::{KeyPage, KeyValueBackend, KeyValueError, KeyValueResult, StoreRef};

/// Sets pairs (`ARGV[2..]`, no key twice) if the store stays within `ARGV[1]` bytes;
/// returns the new size, or -1 (and changes nothing) past the limit.
const SET_MANY: &str = r"
local size = tonumber(redis.call('GET', KEYS[2]) or '0')
for i = 2, #ARGV, 2 do
  if redis.call('HEXISTS', KEYS[1], ARGV[i]) == 1 then
    size = size - #ARGV[i] - redis.call('HSTRLEN', KEYS[1], ARGV[i])
  end
  size = size + #ARGV[i] + #ARGV[i + 1]
end
if size > tonumber(ARGV[1]) then return -1 end
for i = 2, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('SET', KEYS[2], size)
return size
";

/// Deletes keys (`ARGV`), giving their bytes back.
const DELETE_MANY: &str = r"
local size = tonumber(redis.call('GET', KEYS[2]) or '0')
for i = 1, #ARGV do
  if redis.call('HEXISTS', KEYS[1], ARGV[i]) == 1 then
    size = size - #ARGV[i] - redis.call('HSTRLEN', KEYS[1], ARGV[i])
    redis.call('HDEL', KEYS[1], ARGV[i])
  end
end
if size < 0 then size = 0 end
redis.call('SET', KEYS[2], size)
return size
";

/// Adds `ARGV[3]` to the number at `ARGV[2]` if the store stays within `ARGV[1]` bytes;
/// returns the sum, or the error `FULL` (and changes nothing).
const INCREMENT: &str = r"
local size = tonumber(redis.call('GET', KEYS[2]) or '0')
local had = redis.call('HEXISTS', KEYS[1], ARGV[2]) == 1
local old = nil
if had then
  old = redis.call('HGET', KEYS[1], ARGV[2])
  size = size - #ARGV[2] - #old
end
local sum = redis.call('HINCRBY', KEYS[1], ARGV[2], ARGV[3])
size = size + #ARGV[2] + #tostring(sum)
if size > tonumber(ARGV[1]) then
  if had then redis.call('HSET', KEYS[1], ARGV[2], old) else redis.call('HDEL', KEYS[1], ARGV[2]) end
  return redis.error_reply('FULL')
end
redis.call('SET', KEYS[2], size)
return sum
";

/// The stores in a Redis several nodes share.
pub struct RedisKeyValue {
    client: redis::Client,
    /// Idle connections (a call takes one, or opens one, and gives it back).
    idle: Mutex<Vec<Connection>>,
    max_store_bytes: u64,
    set_many: redis::Script,
    delete_many: redis::Script,
    increment: redis::Script,
}

fn unreachable(error: redis::RedisError) -> KeyValueError {
    KeyValueError::Storage(format!("the shared store: {error}"))
}

impl RedisKeyValue {
    /// The stores in the Redis at `url`; a store may hold `max_store_bytes`.
    pub fn open(url: &str, max_store_bytes: u64) -> KeyValueResult<Self> {
        let client = redis::Client::open(url)
            .map_err(|e| KeyValueError::Storage(format!("--store is not a Redis URL: {e}")))?;
        Ok(RedisKeyValue {
            client,
            idle: Mutex::new(Vec::new()),
            max_store_bytes,
            set_many: redis::Script::new(SET_MANY),
            delete_many: redis::Script::new(DELETE_MANY),
            increment: redis::Script::new(INCREMENT),
        })
    }

    /// Runs `work` on a connection; a connection that failed is not kept.
    fn with<T>(
        &self,
        work: impl FnOnce(&mut Connection) -> redis::RedisResult<T>,
    ) -> KeyValueResult<T> {
        let idle = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let mut connection = match idle {
            Some(connection) => connection,
            None => super::redis_store::connect(&self.client).map_err(unreachable)?,
        };
        let outcome = work(&mut connection);
        let broken = matches!(&outcome, Err(e) if e.is_io_error() || e.is_connection_dropped());
        if !broken {
            self.idle
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(connection);
        }
        outcome.map_err(|error| match error.code() {
            Some("FULL") => KeyValueError::Full {
                store: String::new(),
                limit: self.max_store_bytes,
            },
            // HINCRBY's refusals: a value that is not an integer, or a sum past i64.
            _ if error.to_string().contains("not an integer")
                || error.to_string().contains("overflow") =>
            {
                KeyValueError::NotANumber(error.to_string())
            }
            _ => unreachable(error),
        })
    }

    fn full(&self, store: &StoreRef) -> KeyValueError {
        KeyValueError::Full {
            store: store.to_string(),
            limit: self.max_store_bytes,
        }
    }
}

/// The hash holding `store`, and the key of its size.
fn keys(store: &StoreRef) -> (String, String) {
    (
        format!("wasmgate:kv:{}:{}", store.module, store.name),
        format!("wasmgate:kvsize:{}:{}", store.module, store.name),
    )
}

impl KeyValueBackend for RedisKeyValue {
    fn get(&self, store: &StoreRef, key: &str) -> KeyValueResult<Option<Vec<u8>>> {
        let (hash, _) = keys(store);
        self.with(|c| redis::cmd("HGET").arg(&hash).arg(key).query(c))
    }

    fn set_many(&self, store: &StoreRef, pairs: &[(String, Vec<u8>)]) -> KeyValueResult<()> {
        // A key given twice: its last value, once (the script counts each key once).
        let mut unique: Vec<&(String, Vec<u8>)> = Vec::with_capacity(pairs.len());
        for pair in pairs.iter().rev() {
            if !unique.iter().any(|kept| kept.0 == pair.0) {
                unique.push(pair);
            }
        }
        let (hash, size) = keys(store);
        let result: i64 = self.with(|c| {
            let mut call = self.set_many.key(&hash);
            call.key(&size).arg(self.max_store_bytes);
            for (key, value) in unique.iter().rev() {
                call.arg(key.as_str()).arg(value.as_slice());
            }
            call.invoke(c)
        })?;
        if result < 0 {
            return Err(self.full(store));
        }
        Ok(())
    }

    fn delete_many(&self, store: &StoreRef, keys_to_delete: &[String]) -> KeyValueResult<()> {
        let (hash, size) = keys(store);
        let _: i64 = self.with(|c| {
            let mut call = self.delete_many.key(&hash);
            call.key(&size);
            for key in keys_to_delete {
                call.arg(key.as_str());
            }
            call.invoke(c)
        })?;
        Ok(())
    }

    fn list_keys(&self, store: &StoreRef, skip: u64, limit: usize) -> KeyValueResult<KeyPage> {
        let (hash, _) = keys(store);
        let mut all: Vec<String> = self.with(|c| redis::cmd("HKEYS").arg(&hash).query(c))?;
        all.sort();
        let skip = usize::try_from(skip).unwrap_or(usize::MAX).min(all.len());
        let rest = &all[skip..];
        Ok(KeyPage {
            keys: rest.iter().take(limit).cloned().collect(),
            more: rest.len() > limit,
        })
    }

    fn increment(&self, store: &StoreRef, key: &str, delta: u64) -> KeyValueResult<u64> {
        let delta = i64::try_from(delta).map_err(|_| {
            KeyValueError::NotANumber(format!("a delta past {} is not supported", i64::MAX))
        })?;
        let (hash, size) = keys(store);
        let sum: i64 = self
            .with(|c| {
                self.increment
                    .key(&hash)
                    .key(&size)
                    .arg(self.max_store_bytes)
                    .arg(key)
                    .arg(delta)
                    .invoke(c)
            })
            .map_err(|error| match error {
                KeyValueError::Full { .. } => self.full(store),
                other => other,
            })?;
        u64::try_from(sum)
            .map_err(|_| KeyValueError::NotANumber(format!("the value of `{key}` is negative")))
    }
}
