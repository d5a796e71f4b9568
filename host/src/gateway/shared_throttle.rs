//! Rate limits and quotas shared by every gateway node through Redis (`--store redis://…`):
//! each bucket is a GCRA "theoretical arrival time" kept in Redis, and one Lua script takes
//! a request's tokens from all its buckets at once, level by level as the local buckets do
//! (a level that refuses leaves the levels after it their tokens), on Redis' own clock, so
//! the nodes' clocks do not matter. A request pays one round trip; keys expire when their
//! bucket would be full again. An API key's quota is a counter per key and period, counted
//! by a second script when the request is admitted, expiring after its period.
//!
//! While Redis cannot be reached the configured policy applies: `fail_open` lets requests
//! through unthrottled, `fail_closed` refuses them with 503; either way it is logged once
//! per outage and counted (`wasmgate_throttle_store_failures_total`). After a failure,
//! requests skip Redis for 500 ms, then one tries it again: an outage
//! adds no latency.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use governor::Quota;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use super::throttle::Verdict;
use crate::config::FailurePolicy;

/// After Redis failed a request, how long later requests skip it (the failure policy
/// applies at once) before one tries it again.
const RETRY_AFTER_FAILURE_MS: u64 = 500;

/// How long a request waits for Redis' answer before the failure policy applies.
const ANSWER_TIMEOUT: Duration = Duration::from_millis(250);

/// Counts a request against a quota (`KEYS[1]`; `ARGV`: the limit, and when the period
/// ends, in seconds since the epoch): the count with it, or -1 when the limit was reached
/// (the request is not counted).
const COUNT_SCRIPT: &str = r"
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
if used >= tonumber(ARGV[1]) then return -1 end
used = redis.call('INCR', KEYS[1])
if used == 1 then redis.call('EXPIREAT', KEYS[1], ARGV[2] + 60) end
return used
";

/// Adds to counters (`KEYS`; `ARGV`: when their period ends, in seconds since the epoch,
/// then each counter's amount), each expiring a minute after its period.
const ADD_SCRIPT: &str = r"
for i, key in ipairs(KEYS) do
  local amount = tonumber(ARGV[i + 1])
  if redis.call('INCRBY', key, amount) == amount then
    redis.call('EXPIREAT', key, ARGV[1] + 60)
  end
end
return 1
";

/// Reads counters (`KEYS`): their values, false for one not set.
const READ_SCRIPT: &str = r"
return redis.call('MGET', unpack(KEYS))
";

/// Takes one token from each bucket (`KEYS`; `ARGV` per bucket: emission interval and
/// tolerance, in µs) until one refuses. Returns per bucket evaluated: 1 (allowed) or 0,
/// then µs until full again (allowed) or until a token (refused), then tokens left.
const TAKE_SCRIPT: &str = r"
local now = redis.call('TIME')
now = tonumber(now[1]) * 1000000 + tonumber(now[2])
local out = {}
for i, key in ipairs(KEYS) do
  local interval = tonumber(ARGV[2 * i - 1])
  local tolerance = tonumber(ARGV[2 * i])
  local tat = tonumber(redis.call('GET', key) or '0')
  if tat < now then tat = now end
  if tat - now > tolerance then
    table.insert(out, 0)
    table.insert(out, tat - now - tolerance)
    table.insert(out, 0)
    return out
  end
  tat = tat + interval
  redis.call('SET', key, tat, 'PX', math.ceil((tat - now) / 1000))
  table.insert(out, 1)
  table.insert(out, tat - now)
  table.insert(out, math.floor((tolerance - (tat - now)) / interval) + 1)
end
return out
";

/// The shared limiter of one gateway.
pub struct SharedThrottle {
    client: redis::Client,
    take_script: redis::Script,
    count_script: redis::Script,
    add_script: redis::Script,
    read_script: redis::Script,
    policy: FailurePolicy,
    /// Made at, for [`SharedThrottle::millis`].
    created: std::time::Instant,
    /// 0 while Redis answers; after a failure, when (in [`SharedThrottle::millis`]) the
    /// next request may try it again.
    retry_at: AtomicU64,
}

thread_local! {
    /// This thread's connection to the shared store, made on its first use there: each
    /// gateway worker is a thread with a runtime of its own, so a request's command, the
    /// connection's driver and the answer stay on one thread (handing them to a connection
    /// driven elsewhere cost ~40% of a Redis-checked request's time).
    static CONNECTION: RefCell<Option<ConnectionManager>> = const { RefCell::new(None) };
}

impl std::fmt::Debug for SharedThrottle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedThrottle")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

/// One shared bucket: its key (unique per level, route, client and settings) and quota.
pub struct SharedBucket {
    /// Its Redis key.
    pub key: String,
    /// Its capacity and refill.
    pub quota: Quota,
}

/// Redis could not answer, and the policy is `fail_closed`.
#[derive(Debug)]
pub struct StoreDown;

impl SharedThrottle {
    /// A limiter on the Redis at `url` (each worker thread connects on its first request,
    /// and reconnects by itself after a failure).
    pub fn new(url: &str, policy: FailurePolicy) -> redis::RedisResult<Self> {
        Ok(SharedThrottle {
            client: redis::Client::open(url)?,
            take_script: redis::Script::new(TAKE_SCRIPT),
            count_script: redis::Script::new(COUNT_SCRIPT),
            add_script: redis::Script::new(ADD_SCRIPT),
            read_script: redis::Script::new(READ_SCRIPT),
            policy,
            created: std::time::Instant::now(),
            retry_at: AtomicU64::new(0),
        })
    }

    /// This thread's connection, made now if it has none.
    async fn connection(&self) -> redis::RedisResult<ConnectionManager> {
        if let Some(connection) = CONNECTION.with_borrow(Clone::clone) {
            return Ok(connection);
        }
        let config = ConnectionManagerConfig::new()
            .set_response_timeout(Some(ANSWER_TIMEOUT))
            .set_connection_timeout(Some(Duration::from_secs(1)))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(500));
        let connection = self
            .client
            .get_connection_manager_with_config(config)
            .await?;
        CONNECTION.set(Some(connection.clone()));
        Ok(connection)
    }

    /// Takes a token from each bucket in order, stopping at the first refusal: the
    /// verdicts of the buckets evaluated (empty when Redis failed and the policy lets
    /// requests through).
    pub async fn take(&self, buckets: &[SharedBucket]) -> Result<Vec<Verdict>, StoreDown> {
        if buckets.is_empty() {
            return Ok(Vec::new());
        }
        let mut invocation = self.take_script.prepare_invoke();
        for bucket in buckets {
            let interval = micros(bucket.quota.replenish_interval());
            let burst = u64::from(bucket.quota.burst_size().get());
            invocation
                .key(&bucket.key)
                .arg(interval)
                .arg(interval * (burst - 1));
        }
        match self.answer::<Vec<i64>>(&invocation).await? {
            Some(values) => Ok(values
                .chunks_exact(3)
                .zip(buckets)
                .map(|(answer, bucket)| verdict(answer, &bucket.quota))
                .collect()),
            None => Ok(Vec::new()),
        }
    }

    /// Counts one request against the quota counter `key` (`limit` per period, the period
    /// ending at `ends_at`, seconds since the epoch).
    pub async fn count(&self, key: &str, limit: u64, ends_at: u64) -> Result<Counted, StoreDown> {
        let mut invocation = self.count_script.prepare_invoke();
        invocation.key(key).arg(limit).arg(ends_at);
        Ok(match self.answer::<i64>(&invocation).await? {
            Some(used) => u64::try_from(used).map_or(Counted::Full, Counted::Used),
            None => Counted::Skipped,
        })
    }

    /// Adds `amount`s to the counters, whose period ends at `ends_at` (seconds since the
    /// epoch), in one round trip; nothing when Redis fails (the failure is counted and
    /// logged as for any request).
    pub async fn add(&self, counters: &[(String, u64)], ends_at: u64) {
        if counters.is_empty() {
            return;
        }
        let mut invocation = self.add_script.prepare_invoke();
        invocation.arg(ends_at);
        for (key, amount) in counters {
            invocation.key(key).arg(amount);
        }
        let _ = self.answer::<i64>(&invocation).await;
    }

    /// The counters `keys` (0 for one not set) as a request is checked against them:
    /// `None` when Redis failed and the policy lets requests through.
    pub async fn read(&self, keys: &[String]) -> Result<Option<Vec<u64>>, StoreDown> {
        let mut invocation = self.read_script.prepare_invoke();
        for key in keys {
            invocation.key(key);
        }
        Ok((self.answer::<Vec<Option<u64>>>(&invocation).await?)
            .map(|counts| counts.into_iter().map(Option::unwrap_or_default).collect()))
    }

    /// The quota counters `keys` (0 for one not set): what the admin API reports as used.
    pub async fn read_counts(&self, keys: &[String]) -> Result<Vec<u64>, StoreDown> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let mut connection = self.connection().await.map_err(|_| StoreDown)?;
        let counts: Vec<Option<u64>> = redis::cmd("MGET")
            .arg(keys)
            .query_async(&mut connection)
            .await
            .map_err(|_| StoreDown)?;
        Ok(counts.into_iter().map(Option::unwrap_or_default).collect())
    }

    /// Runs a script: its answer, or `None` when Redis failed and the policy lets requests
    /// through.
    async fn answer<T: redis::FromRedisValue>(
        &self,
        invocation: &redis::ScriptInvocation<'_>,
    ) -> Result<Option<T>, StoreDown> {
        // After a failure, requests do not wait on Redis again until the next try is due:
        // an outage costs them no latency.
        let now = self.millis();
        let retry_at = self.retry_at.load(Ordering::Relaxed);
        if now < retry_at
            || (retry_at != 0
                && self
                    .retry_at
                    .compare_exchange(
                        retry_at,
                        now + RETRY_AFTER_FAILURE_MS,
                        Ordering::Relaxed,
                        Ordering::Relaxed,
                    )
                    .is_err())
        {
            return self.unchecked();
        }
        let call = async {
            let mut connection = self.connection().await?;
            invocation.invoke_async(&mut connection).await
        };
        let answer: redis::RedisResult<T> = tokio::time::timeout(ANSWER_TIMEOUT * 2, call)
            .await
            .unwrap_or_else(|_| {
                Err(redis::RedisError::from(std::io::Error::from(
                    std::io::ErrorKind::TimedOut,
                )))
            });
        match answer {
            Ok(value) => {
                if self.retry_at.swap(0, Ordering::Relaxed) != 0 {
                    tracing::info!("shared rate limits reachable again");
                }
                Ok(Some(value))
            }
            Err(error) => {
                let failing = self
                    .retry_at
                    .swap(self.millis() + RETRY_AFTER_FAILURE_MS, Ordering::Relaxed);
                if failing == 0 {
                    tracing::error!(%error, policy = ?self.policy, "shared rate limits unreachable");
                }
                self.unchecked()
            }
        }
    }

    /// A request whose limits could not be checked: counted, and let through or refused
    /// by the policy.
    fn unchecked<T>(&self) -> Result<Option<T>, StoreDown> {
        crate::telemetry::metrics().throttle_store_failures.inc();
        match self.policy {
            FailurePolicy::FailOpen => Ok(None),
            FailurePolicy::FailClosed => Err(StoreDown),
        }
    }

    /// Milliseconds since the limiter was made (never 0: 0 means "not failing").
    fn millis(&self) -> u64 {
        u64::try_from(self.created.elapsed().as_millis()).unwrap_or(u64::MAX) + 1
    }
}

/// The outcome of counting a request against a shared quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counted {
    /// Counted: the requests of the period so far, this one included.
    Used(u64),
    /// Refused: the period's requests are used up.
    Full,
    /// Not counted: the store failed, and the policy lets requests through.
    Skipped,
}

fn micros(duration: Duration) -> u64 {
    u64::try_from(duration.as_micros())
        .unwrap_or(u64::MAX)
        .max(1)
}

/// One bucket's answer as a verdict.
fn verdict(answer: &[i64], quota: &Quota) -> Verdict {
    let limit = quota.burst_size().get();
    let wait = Duration::from_micros(u64::try_from(answer[1]).unwrap_or(0));
    if answer[0] == 1 {
        Verdict::Allowed {
            limit,
            remaining: u32::try_from(answer[2].max(0)).unwrap_or(limit).min(limit),
            reset: wait,
        }
    } else {
        Verdict::Throttled {
            limit,
            retry_after: wait,
        }
    }
}
