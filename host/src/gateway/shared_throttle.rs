//! Rate limits shared by every gateway node through Redis (`--store redis://…`): each
//! bucket is a GCRA "theoretical arrival time" kept in Redis, and one Lua script takes a
//! request's tokens from all its buckets at once, level by level as the local buckets do
//! (a level that refuses leaves the levels after it their tokens), on Redis' own clock, so
//! the nodes' clocks do not matter. A request pays one round trip; keys expire when their
//! bucket would be full again.
//!
//! While Redis cannot be reached the configured policy applies: `fail_open` lets requests
//! through unthrottled, `fail_closed` refuses them with 503; either way it is logged once
//! per outage and counted (`wasmgate_throttle_store_failures_total`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use governor::Quota;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use super::throttle::Verdict;
use crate::config::FailurePolicy;

/// How long a request waits for Redis' answer before the failure policy applies.
const ANSWER_TIMEOUT: Duration = Duration::from_millis(250);

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
    connection: ConnectionManager,
    script: redis::Script,
    policy: FailurePolicy,
    failing: AtomicBool,
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
    /// Connects to the Redis at `url`, on the current tokio runtime (whose tasks must
    /// keep running for as long as the limiter is used); reconnects by itself.
    pub async fn connect(url: &str, policy: FailurePolicy) -> redis::RedisResult<Self> {
        let client = redis::Client::open(url)?;
        let config = ConnectionManagerConfig::new()
            .set_response_timeout(Some(ANSWER_TIMEOUT))
            .set_connection_timeout(Some(Duration::from_secs(1)))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(500));
        let connection = client.get_connection_manager_with_config(config).await?;
        Ok(SharedThrottle {
            connection,
            script: redis::Script::new(TAKE_SCRIPT),
            policy,
            failing: AtomicBool::new(false),
        })
    }

    /// Takes a token from each bucket in order, stopping at the first refusal: the
    /// verdicts of the buckets evaluated (empty when Redis failed and the policy lets
    /// requests through).
    pub async fn take(&self, buckets: &[SharedBucket]) -> Result<Vec<Verdict>, StoreDown> {
        if buckets.is_empty() {
            return Ok(Vec::new());
        }
        let mut invocation = self.script.prepare_invoke();
        for bucket in buckets {
            let interval = micros(bucket.quota.replenish_interval());
            let burst = u64::from(bucket.quota.burst_size().get());
            invocation
                .key(&bucket.key)
                .arg(interval)
                .arg(interval * (burst - 1));
        }
        let mut connection = self.connection.clone();
        let answer: redis::RedisResult<Vec<i64>> =
            tokio::time::timeout(ANSWER_TIMEOUT * 2, invocation.invoke_async(&mut connection))
                .await
                .unwrap_or_else(|_| {
                    Err(redis::RedisError::from(std::io::Error::from(
                        std::io::ErrorKind::TimedOut,
                    )))
                });
        match answer {
            Ok(values) => {
                if self.failing.swap(false, Ordering::Relaxed) {
                    tracing::info!("shared rate limits reachable again");
                }
                Ok(values
                    .chunks_exact(3)
                    .zip(buckets)
                    .map(|(answer, bucket)| verdict(answer, &bucket.quota))
                    .collect())
            }
            Err(error) => {
                crate::telemetry::metrics().throttle_store_failures.inc();
                if !self.failing.swap(true, Ordering::Relaxed) {
                    tracing::error!(%error, policy = ?self.policy, "shared rate limits unreachable");
                }
                match self.policy {
                    FailurePolicy::FailOpen => Ok(Vec::new()),
                    FailurePolicy::FailClosed => Err(StoreDown),
                }
            }
        }
    }
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
