//! Figures the metrics read from the live gateway at each scrape rather than count on every
//! request: each route's requests running and queued, the instance pool, and the bytes the
//! response caches hold.

use std::sync::Weak;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::gauge::ConstGauge;

use super::Gateway;

/// Reads a gateway's current routes when scraped; reports nothing once it is gone.
#[derive(Debug)]
pub(super) struct GatewayGauges(pub Weak<Gateway>);

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway").finish_non_exhaustive()
    }
}

impl Collector for GatewayGauges {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        let Some(gateway) = self.0.upgrade() else {
            return Ok(());
        };
        let snapshot = gateway.snapshot.load();
        let routes: Vec<_> = snapshot.routes.iter().map(|(_, _, route)| route).collect();
        let per_route = [
            (
                "in_flight",
                "Requests running in their handler now, by route",
            ),
            (
                "queued",
                "Requests waiting for a concurrency slot now, by route",
            ),
        ];
        for (name, help) in per_route {
            let mut family = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
            for route in &routes {
                let stats = &route.guards.stats;
                let value = match name {
                    "in_flight" => stats.in_flight(),
                    _ => stats.queued(),
                };
                let gauge = ConstGauge::new(i64::try_from(value).unwrap_or(i64::MAX));
                gauge.encode(family.encode_family(&route.metrics.labels)?)?;
            }
        }
        let pool = [
            (
                "instance_pool",
                "Instances that may be alive at once (--max-instances)",
                gateway.registry.instance_pool() as usize,
            ),
            (
                "unreserved_instances_free",
                "Instances no route reserves that are free now",
                snapshot.unreserved.available_permits(),
            ),
            (
                "cache_bytes",
                "Bytes the routes' response caches hold now",
                usize::try_from(gateway.cache.bytes()).unwrap_or(usize::MAX),
            ),
        ];
        for (name, help, value) in pool {
            let gauge = ConstGauge::new(i64::try_from(value).unwrap_or(i64::MAX));
            gauge.encode(encoder.encode_descriptor(name, help, None, gauge.metric_type())?)?;
        }
        Ok(())
    }
}
