//! The gateway's metrics, one set per process ([`metrics`]), in Prometheus's text format
//! ([`Metrics::encode`]): every layer records into it, `GET /metrics` reads it.
//!
//! Names follow Prometheus's rules (base units with their suffix, counters ending in
//! `_total`), all under `wasmgate_` except the standard `process_*` ones. Their label sets
//! are in `labels.rs` (a request no route matched is counted under `route="(none)"`); a
//! route's handles are kept with it (`route.rs`).

use std::sync::atomic::AtomicU64;
use std::sync::{LazyLock, RwLock};

use prometheus_client::collector::Collector;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use super::process::ProcessCollector;

/// The `Content-Type` of [`Metrics::encode`]'s text.
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

pub use super::labels::{
    AuthorizerLabels, CacheLabels, ConnectionRefusalLabels, ListenerLabels, Phase, PhaseLabels,
    PlanLabels, RejectionLabels, RequestLabels, RouteLabels, StatusClass,
};
pub use super::route::{RouteCounts, RouteMetrics};

pub use super::latency::{LATENCY_BUCKETS, LATENCY_COUNTS, Latency};

type LatencyFamily<L> = Family<L, Latency>;

/// Every metric the gateway keeps.
pub struct Metrics {
    registry: RwLock<Registry>,
    /// Requests answered, by route, module version and status class.
    pub requests: Family<RequestLabels, Counter>,
    /// Requests the gateway answered itself, by route and kind.
    pub rejections: Family<RejectionLabels, Counter>,
    /// Time from the request's head to the end of the response's body.
    pub request_duration: LatencyFamily<RouteLabels>,
    /// Time spent in each phase.
    pub phase_duration: LatencyFamily<PhaseLabels>,
    /// Request body bytes read.
    pub request_bytes: Family<RouteLabels, Counter>,
    /// Response body bytes sent.
    pub response_bytes: Family<RouteLabels, Counter>,
    /// Handler and authorizer instances alive now.
    pub instances: Gauge,
    /// Spare instances waiting for a request now.
    pub spare_instances: Gauge,
    /// Requests that took a spare instance.
    pub spare_instances_taken: Counter,
    /// Instances of `isolation = "reuse"` routes idle now, waiting for a request.
    pub idle_instances: Gauge,
    /// Connections open now, by listener.
    pub connections: Family<ListenerLabels, Gauge>,
    /// Connections accepted, by listener.
    pub connections_accepted: Family<ListenerLabels, Counter>,
    /// Connections closed as soon as accepted, by listener and limit.
    pub connections_refused: Family<ConnectionRefusalLabels, Counter>,
    /// Authorizer decision-cache lookups, by authorizer and `hit`/`miss`.
    pub authorizer_cache: Family<AuthorizerLabels, Counter>,
    /// Shadow authorizers' decisions, by authorizer and `agree`/`disagree`/`failed`/`skipped`.
    pub shadow_authorizer_decisions: Family<AuthorizerLabels, Counter>,
    /// JWKS fetches, by authorizer and `ok`/`failed`.
    pub jwks_fetches: Family<AuthorizerLabels, Counter>,
    /// Time to compile a module (at upload, or at start-up without its compiled code).
    pub compile_duration: Histogram,
    /// Module versions loaded from their stored compiled code (nothing compiled).
    pub compiled_code_loads: Counter,
    /// Requests counted against API keys' quotas, by usage plan.
    pub api_key_requests: Family<PlanLabels, Counter>,
    /// Guest CPU time of API keys with a compute quota, by usage plan.
    pub api_key_cpu_seconds: Family<PlanLabels, Counter<f64, AtomicU64>>,
    /// Guest memory-time of API keys with a compute quota, by usage plan.
    pub api_key_memory_gb_seconds: Family<PlanLabels, Counter<f64, AtomicU64>>,
    /// Changes committed to the registry.
    pub registry_changes: Counter,
    /// Requests whose shared rate limits could not be checked (the store was unreachable).
    pub throttle_store_failures: Counter,
    /// Response-cache lookups, by route and `hit`/`miss`.
    pub cache_lookups: Family<CacheLabels, Counter>,
    /// Time workers spent in polling windows after responses (an upper bound on the CPU
    /// polling cost: a window under load also holds the requests served in it).
    pub busy_poll_seconds: Counter<f64, AtomicU64>,
}

/// The process's metrics.
pub fn metrics() -> &'static Metrics {
    static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);
    &METRICS
}

impl Metrics {
    fn new() -> Self {
        let metrics = Metrics {
            registry: RwLock::new(Registry::default()),
            requests: Family::default(),
            rejections: Family::default(),
            request_duration: Family::default(),
            phase_duration: Family::default(),
            request_bytes: Family::default(),
            response_bytes: Family::default(),
            instances: Gauge::default(),
            spare_instances: Gauge::default(),
            spare_instances_taken: Counter::default(),
            idle_instances: Gauge::default(),
            connections: Family::default(),
            connections_accepted: Family::default(),
            connections_refused: Family::default(),
            authorizer_cache: Family::default(),
            shadow_authorizer_decisions: Family::default(),
            jwks_fetches: Family::default(),
            compile_duration: Histogram::new([
                0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
            ]),
            compiled_code_loads: Counter::default(),
            api_key_requests: Family::default(),
            api_key_cpu_seconds: Family::default(),
            api_key_memory_gb_seconds: Family::default(),
            registry_changes: Counter::default(),
            throttle_store_failures: Counter::default(),
            cache_lookups: Family::default(),
            busy_poll_seconds: Counter::default(),
        };
        let mut root = metrics.registry.write().unwrap_or_else(|p| p.into_inner());
        root.register_collector(Box::new(ProcessCollector::new()));
        let registry = root.sub_registry_with_prefix("wasmgate");
        let m = &metrics;
        registry.register(
            "requests",
            "Requests answered, by route, module version and status class",
            m.requests.clone(),
        );
        registry.register(
            "rejections",
            "Requests the gateway answered itself, by route and kind",
            m.rejections.clone(),
        );
        registry.register(
            "request_duration_seconds",
            "Time from a request's head to the end of its response's body",
            m.request_duration.clone(),
        );
        registry.register(
            "phase_duration_seconds",
            "Time requests spent in each phase: authorize, queue, instantiate, guest",
            m.phase_duration.clone(),
        );
        registry.register(
            "request_bytes",
            "Request body bytes read",
            m.request_bytes.clone(),
        );
        registry.register(
            "response_bytes",
            "Response body bytes sent",
            m.response_bytes.clone(),
        );
        registry.register(
            "instances",
            "Handler and authorizer instances alive now",
            m.instances.clone(),
        );
        registry.register(
            "spare_instances",
            "Fresh instances made ahead of requests, waiting for one now",
            m.spare_instances.clone(),
        );
        registry.register(
            "spare_instances_taken",
            "Requests served by a spare instance",
            m.spare_instances_taken.clone(),
        );
        registry.register(
            "idle_instances",
            "Instances of reuse routes idle now, kept for their route's next request",
            m.idle_instances.clone(),
        );
        registry.register("connections", "Connections open now", m.connections.clone());
        registry.register(
            "connections_accepted",
            "Connections accepted",
            m.connections_accepted.clone(),
        );
        registry.register(
            "connections_refused",
            "Connections closed as soon as accepted, by limit (limit, client_limit)",
            m.connections_refused.clone(),
        );
        registry.register(
            "authorizer_cache_lookups",
            "Authorizer decision-cache lookups, by outcome (hit, miss)",
            m.authorizer_cache.clone(),
        );
        registry.register(
            "shadow_authorizer_decisions",
            "Shadow authorizers' decisions compared with the live ones, by outcome",
            m.shadow_authorizer_decisions.clone(),
        );
        registry.register(
            "jwks_fetches",
            "JWKS fetches, by outcome (ok, failed)",
            m.jwks_fetches.clone(),
        );
        registry.register(
            "compile_duration_seconds",
            "Time to compile a module version",
            m.compile_duration.clone(),
        );
        registry.register(
            "compiled_code_loads",
            "Module versions loaded from their stored compiled code",
            m.compiled_code_loads.clone(),
        );
        registry.register(
            "api_key_requests",
            "Requests counted against API keys' quotas, by usage plan",
            m.api_key_requests.clone(),
        );
        registry.register(
            "api_key_cpu_seconds",
            "Guest CPU time of API keys with a compute quota, by usage plan",
            m.api_key_cpu_seconds.clone(),
        );
        registry.register(
            "api_key_memory_gb_seconds",
            "Guest memory-time (peak GB times seconds) of API keys with a compute quota, by usage plan",
            m.api_key_memory_gb_seconds.clone(),
        );
        registry.register(
            "registry_changes",
            "Changes committed to the registry",
            m.registry_changes.clone(),
        );
        registry.register(
            "throttle_store_failures",
            "Requests whose shared rate limits could not be checked: the store was unreachable",
            m.throttle_store_failures.clone(),
        );
        registry.register(
            "cache_lookups",
            "Response-cache lookups of routes with a cache, by outcome (hit, miss)",
            m.cache_lookups.clone(),
        );
        registry.register(
            "busy_poll_seconds",
            "Time workers spent in polling windows after responses, polling for the next request instead of sleeping (--busy-poll-us)",
            m.busy_poll_seconds.clone(),
        );
        drop(root);
        metrics
    }

    /// Adds figures read at each scrape (a gateway's routes' in-flight and queued requests,
    /// say).
    pub fn register_collector(&self, collector: Box<dyn Collector>) {
        self.registry
            .write()
            .unwrap_or_else(|poison| poison.into_inner())
            .sub_registry_with_prefix("wasmgate")
            .register_collector(collector);
    }

    /// Every metric, in Prometheus's text format ([`CONTENT_TYPE`]).
    pub fn encode(&self) -> String {
        let mut text = String::new();
        let registry = self.registry.read().unwrap_or_else(|p| p.into_inner());
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::prometheus_text::encode(&mut text, &registry);
        text
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::sync::Arc;

    use super::*;

    /// Names written as `` `name`` or `` `name{…}`` in the README's metrics table.
    fn documented() -> BTreeSet<String> {
        let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"))
            .expect("README");
        let start = readme.find("**Metrics.**").expect("the metrics section");
        let end = start + readme[start..].find("**Access log.**").expect("its end");
        readme[start..end]
            .split('`')
            .filter(|cell| cell.starts_with("wasmgate_") || cell.starts_with("process_"))
            .map(|cell| cell.split('{').next().unwrap_or(cell).to_owned())
            .collect()
    }

    #[test]
    fn every_metric_is_documented_and_every_documented_one_exists() {
        let metrics = Metrics::new();
        let route = RouteLabels::new("GET", "/r");
        let authorizer = |outcome| AuthorizerLabels {
            authorizer: Arc::from("a"),
            outcome,
        };
        // Every family gets one series, so that it is encoded.
        let _ = metrics.requests.get_or_create_owned(&RequestLabels {
            route: route.clone(),
            version: Arc::from("m@1"),
            status: StatusClass::Success,
        });
        let _ = metrics.rejections.get_or_create_owned(&RejectionLabels {
            route: route.clone(),
            kind: "throttled",
        });
        let _ = metrics
            .shadow_authorizer_decisions
            .get_or_create_owned(&authorizer("agree"));
        let _ = metrics.request_duration.get_or_create_owned(&route);
        let _ = metrics.phase_duration.get_or_create_owned(&PhaseLabels {
            route: route.clone(),
            phase: Phase::Guest,
        });
        let _ = metrics.request_bytes.get_or_create_owned(&route);
        let _ = metrics.response_bytes.get_or_create_owned(&route);
        let listener = ListenerLabels {
            listener: "gateway",
        };
        let _ = metrics.connections.get_or_create_owned(&listener);
        let _ = metrics.connections_accepted.get_or_create_owned(&listener);
        let _ = metrics
            .connections_refused
            .get_or_create_owned(&ConnectionRefusalLabels {
                listener: "gateway",
                reason: "limit",
            });
        let _ = metrics
            .authorizer_cache
            .get_or_create_owned(&authorizer("hit"));
        let _ = metrics.jwks_fetches.get_or_create_owned(&authorizer("ok"));
        let _ = metrics.api_key_requests.get_or_create_owned(&PlanLabels {
            plan: Arc::from("p"),
        });
        let _ = metrics
            .api_key_cpu_seconds
            .get_or_create_owned(&PlanLabels {
                plan: Arc::from("p"),
            });
        let _ = metrics
            .api_key_memory_gb_seconds
            .get_or_create_owned(&PlanLabels {
                plan: Arc::from("p"),
            });
        let _ = metrics.cache_lookups.get_or_create_owned(&CacheLabels {
            route: route.clone(),
            outcome: "hit",
        });
        let encoded: BTreeSet<String> = metrics
            .encode()
            .lines()
            .filter_map(|line| line.strip_prefix("# TYPE "))
            .filter_map(|typed| typed.split(' ').next())
            .map(str::to_owned)
            .collect();
        // Encoded at each scrape from a gateway's routes (`gateway/gauges.rs`).
        let gateway_gauges = [
            "wasmgate_in_flight",
            "wasmgate_queued",
            "wasmgate_instance_pool",
            "wasmgate_unreserved_instances_free",
            "wasmgate_cache_bytes",
        ];
        let mut exported = encoded.clone();
        exported.extend(gateway_gauges.iter().map(|name| (*name).to_owned()));
        let documented = documented();
        assert_eq!(
            exported, documented,
            "the README's metrics table and the metrics differ"
        );
    }
}
