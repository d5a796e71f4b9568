//! What an authorizer keeps between requests: its decisions by identity values, each for
//! its own TTL, and (for a JWT authorizer) its verifier with the fetched keys.
//!
//! Every value here comes from clients, so everything is bounded:
//! - the cache holds at most [`CACHE_BYTES`] per authorizer, weighed by the bytes of each
//!   identity and decision (not by entry count: an identity may be kilobytes long);
//! - concurrent misses for the same identity share one run of the authorizer (`moka`'s
//!   `try_get_with`), when decisions are cached at all;
//! - runs go through a concurrency gate: at most the authorizer's `max_concurrency` at once,
//!   a short queue behind them, then 503 with `Retry-After` — random tokens cannot take
//!   every instance of the pool.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http::StatusCode;
use moka::Expiry;
use prometheus_client::metrics::counter::Counter;
use tokio::sync::Semaphore;

use super::gate::ConcurrencyGate;
use super::jwt::JwtVerifier;
use super::protection::{RouteStats, take_unreserved};
use super::rejection::Rejection;
use crate::config::{ConcurrencySpec, JwtSpec};
use crate::runtime::Decision;
use crate::telemetry::metrics::{AuthorizerLabels, metrics};

/// Most bytes of identities and decisions one authorizer's cache keeps.
pub const CACHE_BYTES: u64 = 16 << 20;

/// How many requests may wait for a run, per concurrent run allowed.
const QUEUE_PER_RUN: u32 = 4;

/// Longest a request waits for a run.
const QUEUE_TIMEOUT: Duration = Duration::from_secs(1);

/// An authorizer's decisions and verifier; see the module documentation.
pub struct AuthorizerCache {
    decisions: moka::future::Cache<Vec<String>, CachedDecision>,
    gate: ConcurrencyGate,
    /// The gate's counters.
    stats: RouteStats,
    jwt: std::sync::OnceLock<Result<Arc<JwtVerifier>, Arc<str>>>,
    /// The authorizer's name, as metrics label it.
    name: Arc<str>,
    /// Lookups answered from the cache, and runs.
    hits: Counter,
    misses: Counter,
}

#[derive(Clone)]
struct CachedDecision {
    decision: Arc<Decision>,
    ttl: Duration,
}

struct PerEntryTtl;

impl Expiry<Vec<String>, CachedDecision> for PerEntryTtl {
    fn expire_after_create(
        &self,
        _key: &Vec<String>,
        value: &CachedDecision,
        _created_at: Instant,
    ) -> Option<Duration> {
        Some(value.ttl)
    }
}

/// The bytes an entry holds, roughly: its identity values and its decision's strings.
#[expect(
    clippy::ptr_arg,
    reason = "moka's weigher is given the key type, a Vec"
)]
fn weight(identity: &Vec<String>, cached: &CachedDecision) -> u32 {
    let decision = &cached.decision;
    let strings = identity.iter().map(String::len).sum::<usize>()
        + decision.principal_id.len()
        + decision
            .context
            .iter()
            .map(|(key, value)| key.len() + value.len())
            .sum::<usize>();
    // Fixed costs of an entry: its vectors, its `Arc`, the cache's own bookkeeping.
    u32::try_from(strings + 128).unwrap_or(u32::MAX)
}

impl AuthorizerCache {
    /// An empty cache for the authorizer `name`, whose runs are at most `max_concurrency`
    /// at once.
    pub(super) fn new(name: &str, max_concurrency: u32) -> Self {
        let name: Arc<str> = Arc::from(name);
        let lookups = |outcome| {
            metrics()
                .authorizer_cache
                .get_or_create_owned(&AuthorizerLabels {
                    authorizer: name.clone(),
                    outcome,
                })
        };
        let gate = ConcurrencyGate::new(ConcurrencySpec {
            limit: max_concurrency,
            queue: max_concurrency.saturating_mul(QUEUE_PER_RUN),
            queue_timeout: QUEUE_TIMEOUT,
            overflow_status: StatusCode::SERVICE_UNAVAILABLE,
        });
        AuthorizerCache {
            decisions: moka::future::Cache::builder()
                .max_capacity(CACHE_BYTES)
                .weigher(weight)
                .expire_after(PerEntryTtl)
                .build(),
            gate,
            stats: RouteStats::default(),
            jwt: std::sync::OnceLock::new(),
            hits: lookups("hit"),
            misses: lookups("miss"),
            name,
        }
    }

    /// The decision for `identity`: a cached one, or what `run` decides (with the TTL to
    /// keep it for), run through the gate. With `shared`, concurrent misses for the same
    /// identity wait for one run; without (an authorizer that caches nothing), each runs.
    pub(super) async fn decide(
        &self,
        identity: Vec<String>,
        shared: bool,
        unreserved: &Arc<Semaphore>,
        run: impl Future<Output = Result<(Decision, Duration), Rejection>> + Send,
    ) -> Result<Arc<Decision>, Rejection> {
        if !shared {
            self.misses.inc();
            let _slot = self.gate.enter(&self.stats, "", None).await?;
            let _instance = take_unreserved(unreserved)?;
            return run.await.map(|(decision, _)| Arc::new(decision));
        }
        // Most requests find their decision: a plain lookup first (`try_get_with` sets up
        // the machinery that lets concurrent misses share one run, which a hit never needs).
        if let Some(cached) = self.decisions.get(&identity).await {
            self.hits.inc();
            return Ok(cached.decision);
        }
        // Set by the run, when this request is the one that runs the authorizer; a request
        // answered from the cache, or by another request's run, is a hit.
        let ran = std::sync::atomic::AtomicBool::new(false);
        let gated = async {
            ran.store(true, std::sync::atomic::Ordering::Relaxed);
            let _slot = self.gate.enter(&self.stats, "", None).await?;
            let _instance = take_unreserved(unreserved)?;
            let (decision, ttl) = run.await?;
            Ok::<_, Rejection>(CachedDecision {
                decision: Arc::new(decision),
                ttl,
            })
        };
        let decided = self.decisions.try_get_with(identity, gated).await;
        if ran.load(std::sync::atomic::Ordering::Relaxed) {
            self.misses.inc();
        } else {
            self.hits.inc();
        }
        match decided {
            Ok(cached) => Ok(cached.decision),
            // Failures are not cached; every request that waited for the run gets one.
            Err(shared) => Err(shared.for_waiter()),
        }
    }

    /// The JWT verifier kept with this cache (made on first use).
    pub(super) fn jwt(&self, spec: &JwtSpec) -> Result<Arc<JwtVerifier>, Arc<str>> {
        self.jwt
            .get_or_init(|| {
                JwtVerifier::new(spec.clone(), &self.name)
                    .map(Arc::new)
                    .map_err(Arc::from)
            })
            .clone()
    }

    /// The bytes the cache holds now (after its pending upkeep).
    #[cfg(test)]
    async fn weighed_size(&self) -> u64 {
        self.decisions.run_pending_tasks().await;
        self.decisions.weighted_size()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decision(context_bytes: usize) -> Decision {
        Decision {
            allow: false,
            principal_id: String::new(),
            context: vec![("blob".into(), "x".repeat(context_bytes))],
            ttl_seconds: None,
        }
    }

    #[tokio::test]
    async fn the_cache_is_bounded_by_bytes_not_entries() {
        let cache = AuthorizerCache::new("a", 4);
        let long_identity = "t".repeat(16 << 10);
        for i in 0..4_000 {
            let identity = vec![format!("{long_identity}{i}")];
            let run = async { Ok((decision(1 << 10), Duration::from_secs(300))) };
            let unreserved = Arc::new(Semaphore::new(4));
            cache
                .decide(identity, true, &unreserved, run)
                .await
                .expect("decided");
        }
        // 4,000 entries of ~17 KiB would be ~68 MiB.
        let size = cache.weighed_size().await;
        assert!(size <= CACHE_BYTES, "{size} bytes cached");
        assert!(size > CACHE_BYTES / 2, "the cache is used: {size} bytes");
    }

    #[tokio::test]
    async fn concurrent_misses_for_one_identity_share_one_run() {
        let cache = Arc::new(AuthorizerCache::new("a", 8));
        let runs = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..16 {
            let (cache, runs) = (cache.clone(), runs.clone());
            tasks.push(tokio::spawn(async move {
                let run = async {
                    runs.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    Ok((decision(0), Duration::from_secs(300)))
                };
                let unreserved = Arc::new(Semaphore::new(8));
                cache
                    .decide(vec!["same".into()], true, &unreserved, run)
                    .await
                    .is_ok()
            }));
        }
        for task in tasks {
            assert!(task.await.expect("task"));
        }
        assert_eq!(runs.load(std::sync::atomic::Ordering::SeqCst), 1);
    }
}
