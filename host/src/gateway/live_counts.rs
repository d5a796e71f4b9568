//! The gateway's live counts for the web console (`GET /stats`): each route's requests by
//! status class, refusals by kind, request durations per latency bucket, requests in flight
//! and queued, and the instances. They are read from the metrics' own counters, as JSON a
//! browser parses in a millisecond: the Prometheus text of 1,000 busy routes is ~2 MB.

use serde_json::{Value, json};

use super::Gateway;
use crate::telemetry::metrics::{LATENCY_BUCKETS, RouteMetrics, metrics};

impl Gateway {
    /// Every route's counts so far (a reader takes the difference of two readings).
    pub fn live_counts(&self) -> Value {
        let snapshot = self.snapshot.load();
        let routes: Vec<Value> = snapshot
            .routes
            .iter()
            .map(|(_, _, route)| {
                let mut counts = route_counts(&route.metrics);
                counts["id"] = json!(route.id);
                counts["in_flight"] = json!(route.guards.stats.in_flight());
                counts["queued"] = json!(route.guards.stats.queued());
                counts
            })
            .collect();
        json!({
            "latency_buckets": LATENCY_BUCKETS,
            "routes": routes,
            "unmatched": route_counts(&super::pipeline::unmatched_route()),
            "instances": metrics().instances.get(),
            "instance_pool": self.registry.instance_pool(),
        })
    }
}

/// `{"method", "route", "statuses", "rejections", "durations"}`.
fn route_counts(route: &RouteMetrics) -> Value {
    let mut counts = json!(route.counts());
    counts["method"] = json!(&*route.labels.method);
    counts["route"] = json!(&*route.labels.route);
    counts
}
