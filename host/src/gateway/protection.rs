//! A route's protections at run time: its rate limits (route-wide and per client, plus the
//! gateway-wide one: local buckets, or the keys of shared ones), its concurrency gate with
//! a bounded queue, and its counters.
//!
//! Buckets, gates and counters are kept across route rebuilds (deploys) while the route's
//! settings stay the same, so a deploy elsewhere never refills or empties them.

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;

use http::HeaderValue;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::compute::ComputeCharge;
use super::gate::{ConcurrencyGate, GateSlot};

use super::rejection::Rejection;
use super::shared_throttle::SharedBucket;
use super::throttle::{Bucket, KeyedBuckets, Verdict, kept_key, quota_tag};
use crate::config::{ClientKey, Protection};
use crate::runtime::InvokeError;
use crate::server::client_network;

/// A route's counters, for `GET /routes/{id}/stats`.
#[derive(Debug, Default)]
pub struct RouteStats {
    in_flight: AtomicUsize,
    queued: AtomicUsize,
    throttled: AtomicU64,
    rejected: AtomicU64,
}

impl RouteStats {
    /// Requests running in the handler now.
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Relaxed)
    }

    /// Requests waiting for a slot now.
    pub fn queued(&self) -> usize {
        self.queued.load(Ordering::Relaxed)
    }

    /// Counts a request the concurrency gate refused.
    pub(super) fn count_rejected(&self) {
        self.rejected.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a request waiting for a slot until the guard is dropped.
    pub(super) fn count_waiting(&self) -> impl Drop + '_ {
        self.queued.fetch_add(1, Ordering::Relaxed);
        DecrementOnDrop(&self.queued)
    }

    /// The counters as JSON.
    pub fn snapshot(&self) -> serde_json::Value {
        serde_json::json!({
            "in_flight": self.in_flight.load(Ordering::Relaxed),
            "queued": self.queued.load(Ordering::Relaxed),
            "throttled": self.throttled.load(Ordering::Relaxed),
            "rejected": self.rejected.load(Ordering::Relaxed),
        })
    }
}

/// Counts an invocation in flight until dropped.
pub(super) struct InFlight(Arc<RouteStats>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Held by an invocation until it ends: its concurrency slot and its in-flight count.
pub(super) struct Admission {
    _slot: Slot,
    _in_flight: InFlight,
    /// Charged to the request's API key when the invocation ends, with a compute quota.
    charge: Option<ComputeCharge>,
}

impl Admission {
    /// Charges the invocation's compute use with `charge` when it ends.
    pub(super) fn charging(mut self, charge: Option<ComputeCharge>) -> Self {
        self.charge = charge;
        self
    }
}

/// A slot an invocation runs in: one of its route's reserved concurrency, or one of the
/// instances no route reserves.
pub(super) enum Slot {
    /// Of the route's concurrency gate.
    Reserved(#[allow(dead_code)] GateSlot),
    /// Of the instances no route reserves.
    Unreserved(#[allow(dead_code)] OwnedSemaphorePermit),
}

/// Decrements a counter when dropped.
struct DecrementOnDrop<'a>(&'a AtomicUsize);

impl Drop for DecrementOnDrop<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Which of a route's buckets a request takes a token from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Counted {
    /// Every bucket that applies: the per-client, the route's and the gateway-wide one.
    AgainstRoute,
    /// A request refused before it counts against the route (an invalid API key): only the
    /// per-client and the gateway-wide buckets, so a flood of bad keys is throttled like any
    /// other flood.
    Refused,
}

/// One route's protections.
pub(super) struct RouteGuards {
    pub settings: Protection,
    throttle: Option<Bucket>,
    client_throttle: Option<(KeyedBuckets, ClientKey)>,
    gate: Option<ConcurrencyGate>,
    pub stats: Arc<RouteStats>,
}

impl RouteGuards {
    pub(super) fn new(settings: Protection, stats: Arc<RouteStats>) -> Self {
        // The settings were validated with the route; a quota cannot fail here.
        let quota = |config: &crate::config::ThrottleConfig| config.validate().ok();
        RouteGuards {
            throttle: settings.throttle.as_ref().and_then(quota).map(Bucket::new),
            client_throttle: settings
                .client_throttle
                .as_ref()
                .and_then(|(config, key)| Some((KeyedBuckets::new(quota(config)?), key.clone()))),
            gate: settings.concurrency.clone().map(ConcurrencyGate::new),
            settings,
            stats,
        }
    }

    /// Takes a token from each of the route's buckets (and `gateway`'s), level by level; the
    /// first refusal is the answer, and the levels after it keep their tokens. Returns the
    /// verdict to report in `RateLimit-*` headers, if any bucket applies.
    pub(super) fn throttle(
        &self,
        gateway: Option<&Bucket>,
        parts: &http::request::Parts,
        source_ip: Option<IpAddr>,
        counted: Counted,
    ) -> Result<Option<Verdict>, Rejection> {
        let mut reported: Option<Verdict> = None;
        let client = self
            .client_throttle
            .as_ref()
            .map(|(buckets, key)| (buckets, client_id(key, parts, source_ip)));
        // Level by level: a level that refuses ends the check, and the levels after it keep
        // their tokens.
        let levels: [&dyn Fn() -> Option<Verdict>; 3] = [
            &|| client.as_ref().map(|(buckets, id)| buckets.check(id)),
            &|| {
                self.throttle
                    .as_ref()
                    .filter(|_| counted == Counted::AgainstRoute)
                    .map(Bucket::check)
            },
            &|| gateway.map(Bucket::check),
        ];
        for level in levels {
            let Some(verdict) = level() else { continue };
            if let Verdict::Throttled { .. } = verdict {
                self.stats.throttled.fetch_add(1, Ordering::Relaxed);
                return Err(Rejection::Throttled(verdict));
            }
            reported = Some(reported.map_or(verdict, |r| r.tighter(verdict)));
        }
        Ok(reported)
    }

    /// The shared buckets (`route` names the route) a request takes tokens from, in the
    /// order of [`RouteGuards::throttle`]'s levels, for the shared throttle.
    pub(super) fn shared_buckets(
        &self,
        route: &str,
        gateway: Option<&Bucket>,
        parts: &http::request::Parts,
        source_ip: Option<IpAddr>,
    ) -> Vec<SharedBucket> {
        let mut buckets = Vec::with_capacity(3);
        if let Some((client, key)) = &self.client_throttle {
            let quota = client.quota();
            let id = kept_key(&client_id(key, parts, source_ip));
            buckets.push(SharedBucket {
                key: format!(
                    "wasmgate:throttle:route:{route}:{}:client:{id}",
                    quota_tag(&quota)
                ),
                quota,
            });
        }
        if let Some(bucket) = &self.throttle {
            let quota = bucket.quota();
            buckets.push(SharedBucket {
                key: format!("wasmgate:throttle:route:{route}:{}", quota_tag(&quota)),
                quota,
            });
        }
        if let Some(bucket) = gateway {
            let quota = bucket.quota();
            buckets.push(SharedBucket {
                key: format!("wasmgate:throttle:gateway:{}", quota_tag(&quota)),
                quota,
            });
        }
        buckets
    }

    /// The outcome of shared buckets' verdicts, as [`RouteGuards::throttle`]'s.
    pub(super) fn judge(&self, verdicts: Vec<Verdict>) -> Result<Option<Verdict>, Rejection> {
        let mut reported: Option<Verdict> = None;
        for verdict in verdicts {
            if let Verdict::Throttled { .. } = verdict {
                self.stats.throttled.fetch_add(1, Ordering::Relaxed);
                return Err(Rejection::Throttled(verdict));
            }
            reported = Some(reported.map_or(verdict, |r| r.tighter(verdict)));
        }
        Ok(reported)
    }

    /// Whether the route has a concurrency limit (and so a queue).
    pub(super) fn has_gate(&self) -> bool {
        self.gate.is_some()
    }

    /// Waits for a slot of the route's reserved concurrency (in `client`'s turn, refused
    /// at once when it could not start before `deadline`), or takes one of the instances no
    /// route reserved (`unreserved`: 503 when none is free); counts the invocation in
    /// flight.
    pub(super) async fn admit(
        &self,
        unreserved: &Arc<Semaphore>,
        client: &str,
        deadline: Instant,
    ) -> Result<Admission, Rejection> {
        let slot = match &self.gate {
            Some(gate) => Slot::Reserved(gate.enter(&self.stats, client, Some(deadline)).await?),
            None => Slot::Unreserved(take_unreserved(unreserved).inspect_err(|_| {
                self.stats.count_rejected();
            })?),
        };
        self.stats.in_flight.fetch_add(1, Ordering::Relaxed);
        Ok(Admission {
            _slot: slot,
            _in_flight: InFlight(self.stats.clone()),
            charge: None,
        })
    }

    /// Who the route's queue takes turns between: the route's per-client rate limit's key
    /// when it has one, else the client's network.
    pub(super) fn queue_client(
        &self,
        parts: &http::request::Parts,
        source_ip: Option<IpAddr>,
    ) -> String {
        let key = match &self.client_throttle {
            Some((_, key)) => key,
            None => &ClientKey::SourceIp {
                ipv6_prefix: crate::config::IPV6_PREFIX.default,
            },
        };
        kept_key(&client_id(key, parts, source_ip))
    }
}

/// Who a per-client rate limit counts a request against.
fn client_id(key: &ClientKey, parts: &http::request::Parts, source_ip: Option<IpAddr>) -> String {
    match key {
        ClientKey::SourceIp { ipv6_prefix } => source_ip
            .map(|ip| client_network(ip, *ipv6_prefix).to_string())
            .unwrap_or_default(),
        ClientKey::Header(name) => parts
            .headers
            .get(name.as_str())
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned(),
    }
}

/// One of the instances no route reserved, or 503 (with `Retry-After`) when none is free.
pub(super) fn take_unreserved(
    unreserved: &Arc<Semaphore>,
) -> Result<OwnedSemaphorePermit, Rejection> {
    unreserved.clone().try_acquire_owned().map_err(|_| {
        Rejection::Handler(InvokeError::PoolExhausted(
            "every instance that routes do not reserve is in use".into(),
        ))
    })
}

/// Adds `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset` for `verdict`.
pub(super) fn rate_limit_headers(headers: &mut http::HeaderMap, verdict: &Verdict) {
    let (limit, remaining, reset) = match *verdict {
        Verdict::Allowed {
            limit,
            remaining,
            reset,
        } => (limit, remaining, reset),
        Verdict::Throttled { limit, retry_after } => (limit, 0, retry_after),
    };
    let seconds = reset.as_secs() + u64::from(reset.subsec_nanos() > 0);
    headers.insert("ratelimit-limit", HeaderValue::from(limit));
    headers.insert("ratelimit-remaining", HeaderValue::from(remaining));
    headers.insert("ratelimit-reset", HeaderValue::from(seconds));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ThrottleConfig;
    use crate::server::client_network;

    #[test]
    fn a_level_that_refuses_leaves_the_later_levels_their_tokens() {
        let config = |rate: f64, burst: u32| ThrottleConfig { rate, burst };
        let settings = Protection {
            throttle: Some(config(0.001, 5)),
            client_throttle: Some((config(0.001, 1), ClientKey::SourceIp { ipv6_prefix: 64 })),
            concurrency: None,
        };
        let guards = RouteGuards::new(settings, Arc::new(RouteStats::default()));
        let gateway = Bucket::new(config(0.001, 5).validate().expect("valid"));
        let (parts, ()) = http::Request::new(()).into_parts();
        let ip = Some("203.0.113.1".parse().expect("ip"));
        let throttle = || guards.throttle(Some(&gateway), &parts, ip, Counted::AgainstRoute);
        assert!(throttle().is_ok());
        // The client's bucket refuses: the route's and the gateway's are not touched.
        assert!(throttle().is_err());
        assert!(throttle().is_err());
        assert!(matches!(
            gateway.check(),
            Verdict::Allowed { remaining: 3, .. }
        ));
    }

    #[test]
    fn ipv6_clients_are_counted_by_network() {
        let key = |ip: &str, prefix| client_network(ip.parse().expect("ip"), prefix).to_string();
        assert_eq!(key("203.0.113.7", 64), "203.0.113.7");
        assert_eq!(key("::ffff:203.0.113.7", 64), "203.0.113.7");
        assert_eq!(key("2001:db8:1:2:3:4:5:6", 64), "2001:db8:1:2::");
        assert_eq!(key("2001:db8:1:2:ffff::1", 64), key("2001:db8:1:2::9", 64));
        assert_ne!(key("2001:db8:1:2::1", 64), key("2001:db8:1:3::1", 64));
        assert_eq!(key("2001:db8:1:2::1", 128), "2001:db8:1:2::1");
        assert_eq!(key("2001:db8:1:2::1", 48), "2001:db8:1::");
    }
}
