//! A route's protections as written — `throttle`, `client_throttle`, `concurrency` and its
//! queue — checked into [`Protection`].

use std::time::Duration;

use http::StatusCode;

use super::limits::TIMEOUT_MS;
use super::problem::check_range;
use super::{RouteConfig, Setting, ThrottleConfig};

/// Bits of an IPv6 address that tell clients apart (a /64 by default).
pub const IPV6_PREFIX: Setting<u8> = Setting::new(64, 1, 128, "bits");
/// Requests that may wait for a concurrency slot.
pub const QUEUE: Setting<u32> = Setting::new(100, 0, 1_000_000, "");
/// Longest wait for a concurrency slot, in milliseconds (at most a handler's timeout).
pub const QUEUE_TIMEOUT_MS: Setting<u64> = Setting::new(1_000, 0, TIMEOUT_MS.max, "ms");
/// Largest reserved concurrency a route may set.
const MAX_CONCURRENCY: u32 = 100_000;

/// What tells clients apart for a per-client rate limit.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ClientKey {
    /// The client's IP address; for IPv6, its first `ipv6_prefix` bits (a /64 by default:
    /// one subscriber's network, which a client can change addresses within at will).
    SourceIp {
        /// Bits of an IPv6 address that tell clients apart.
        ipv6_prefix: u8,
    },
    /// A request header's value (name lowercased); requests without it share one bucket.
    Header(String),
}

/// Reserved concurrency with a bounded queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConcurrencySpec {
    /// Most invocations running at once.
    pub limit: u32,
    /// Most requests waiting for a slot.
    pub queue: u32,
    /// Longest a request waits.
    pub queue_timeout: Duration,
    /// Status for a request the queue cannot take or that waited too long.
    pub overflow_status: StatusCode,
}

/// A route's rate limits and concurrency, validated.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Protection {
    /// The route-wide bucket.
    pub throttle: Option<ThrottleConfig>,
    /// One bucket per client.
    pub client_throttle: Option<(ThrottleConfig, ClientKey)>,
    /// Reserved concurrency.
    pub concurrency: Option<ConcurrencySpec>,
}

impl RouteConfig {
    /// Checks the protection fields; problems go to `problem(key, message)`.
    pub(super) fn validate_protection(&self, problem: &mut impl FnMut(&str, String)) -> Protection {
        let mut protection = Protection::default();
        if let Some(throttle) = self.throttle {
            match throttle.validate() {
                Ok(_) => protection.throttle = Some(throttle),
                Err(message) => problem("throttle", message),
            }
        }
        if let Some(client) = &self.client_throttle {
            let config = ThrottleConfig {
                rate: client.rate,
                burst: client.burst,
            };
            let key = match client.key.as_deref().unwrap_or("source_ip") {
                "source_ip" => match IPV6_PREFIX.resolve(client.ipv6_prefix) {
                    Ok(ipv6_prefix) => Some(ClientKey::SourceIp { ipv6_prefix }),
                    Err(message) => {
                        problem("client_throttle", format!("ipv6_prefix {message}"));
                        None
                    }
                },
                other => match other.strip_prefix("header:") {
                    Some(name) if !name.is_empty() => {
                        if client.ipv6_prefix.is_some() {
                            problem(
                                "client_throttle",
                                "ipv6_prefix applies to key = \"source_ip\"".into(),
                            );
                        }
                        Some(ClientKey::Header(name.to_ascii_lowercase()))
                    }
                    _ => {
                        problem(
                            "client_throttle",
                            format!("key `{other}` is not `source_ip` or `header:NAME`"),
                        );
                        None
                    }
                },
            };
            match (config.validate(), key) {
                (Ok(_), Some(key)) => protection.client_throttle = Some((config, key)),
                (Err(message), _) => problem("client_throttle", message),
                _ => {}
            }
        }
        match self.concurrency {
            Some(limit) => {
                if let Err(message) = check_range(limit, 1..=MAX_CONCURRENCY) {
                    problem("concurrency", message);
                }
                let queue = QUEUE.resolve_at("queue", self.queue, problem);
                let timeout =
                    QUEUE_TIMEOUT_MS.resolve_at("queue_timeout_ms", self.queue_timeout_ms, problem);
                let overflow_status = match self.overflow_status.unwrap_or(429) {
                    429 => StatusCode::TOO_MANY_REQUESTS,
                    503 => StatusCode::SERVICE_UNAVAILABLE,
                    other => {
                        problem("overflow_status", format!("{other} is not 429 or 503"));
                        StatusCode::TOO_MANY_REQUESTS
                    }
                };
                protection.concurrency = Some(ConcurrencySpec {
                    limit,
                    queue,
                    queue_timeout: Duration::from_millis(timeout),
                    overflow_status,
                });
            }
            None => {
                for (field, set) in [
                    ("queue", self.queue.is_some()),
                    ("queue_timeout_ms", self.queue_timeout_ms.is_some()),
                    ("overflow_status", self.overflow_status.is_some()),
                ] {
                    if set {
                        problem(field, format!("`{field}` only applies with `concurrency`"));
                    }
                }
            }
        }
        protection
    }
}
