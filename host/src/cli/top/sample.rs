//! What `wasmgate top` shows, computed from two scrapes of `/metrics`: per route, requests
//! per second, latency percentiles over the interval, errors, throttling, and the requests
//! in flight and queued now.
//!
//! The parser reads only the gateway's own exposition (label values are route templates
//! and fixed words, never quoted text with escapes): a general Prometheus parser crate would
//! add a date and a regex library for four families.

use std::collections::BTreeMap;

use serde::Serialize;

/// One route's figures over an interval.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RouteFigures {
    /// The route's method (`GET`, `ANY`…); empty for requests no route took.
    pub method: String,
    /// Its template (`(none)` for requests no route took).
    pub route: String,
    /// Requests answered per second.
    pub requests_per_second: f64,
    /// Median latency over the interval, in ms (`None` without requests).
    pub p50_ms: Option<f64>,
    /// 99th percentile latency over the interval, in ms.
    pub p99_ms: Option<f64>,
    /// 4xx answers per second.
    pub client_errors_per_second: f64,
    /// 5xx answers per second.
    pub server_errors_per_second: f64,
    /// Requests refused by a rate limit, per second.
    pub throttled_per_second: f64,
    /// Requests running in the handler now.
    pub in_flight: f64,
    /// Requests waiting for a concurrency slot now.
    pub queued: f64,
}

/// A route's key: (method, template).
type RouteKey = (String, String);

/// The figures `top` reads from one scrape.
#[derive(Debug, Default)]
pub struct Scrape {
    requests: BTreeMap<RouteKey, f64>,
    client_errors: BTreeMap<RouteKey, f64>,
    server_errors: BTreeMap<RouteKey, f64>,
    throttled: BTreeMap<RouteKey, f64>,
    /// Cumulative latency buckets: (upper bound in seconds, count), by route.
    buckets: BTreeMap<RouteKey, Vec<(f64, f64)>>,
    in_flight: BTreeMap<RouteKey, f64>,
    queued: BTreeMap<RouteKey, f64>,
}

/// One sample line: its metric name, labels and value.
type Line<'a> = (&'a str, Vec<(&'a str, &'a str)>, f64);

/// `name{a="x",b="y"} value` → (name, labels, value).
fn parse_line(line: &str) -> Option<Line<'_>> {
    let (series, value) = line.rsplit_once(' ')?;
    let value: f64 = value.parse().ok()?;
    let (name, labels) = match series.split_once('{') {
        Some((name, rest)) => (name, rest.strip_suffix('}')?),
        None => (series, ""),
    };
    let mut pairs = Vec::new();
    let mut rest = labels;
    while let Some((key, after)) = rest.split_once("=\"") {
        let (value, after) = after.split_once('"')?;
        pairs.push((key.trim_start_matches(','), value));
        rest = after;
    }
    Some((name, pairs, value))
}

impl Scrape {
    /// Reads the families `top` needs from Prometheus text.
    pub fn parse(text: &str) -> Self {
        let mut scrape = Scrape::default();
        for line in text.lines().filter(|line| !line.starts_with('#')) {
            let Some((name, labels, value)) = parse_line(line) else {
                continue;
            };
            let label = |key: &str| labels.iter().find(|(k, _)| *k == key).map(|(_, v)| *v);
            let (Some(method), Some(route)) = (label("method"), label("route")) else {
                continue;
            };
            let key = (method.to_owned(), route.to_owned());
            let add =
                |map: &mut BTreeMap<RouteKey, f64>| *map.entry(key.clone()).or_default() += value;
            match name {
                "wasmgate_requests_total" => {
                    add(&mut scrape.requests);
                    match label("status") {
                        Some("4xx") => add(&mut scrape.client_errors),
                        Some("5xx") => add(&mut scrape.server_errors),
                        _ => {}
                    }
                }
                "wasmgate_rejections_total" if label("kind") == Some("throttled") => {
                    add(&mut scrape.throttled);
                }
                "wasmgate_request_duration_seconds_bucket" => {
                    let bound = match label("le") {
                        Some("+Inf") => f64::INFINITY,
                        Some(le) => le.parse().unwrap_or(f64::INFINITY),
                        None => continue,
                    };
                    scrape.buckets.entry(key).or_default().push((bound, value));
                }
                "wasmgate_in_flight" => add(&mut scrape.in_flight),
                "wasmgate_queued" => add(&mut scrape.queued),
                _ => {}
            }
        }
        scrape
    }
}

/// The `quantile` (0 to 1) of a histogram's cumulative buckets, interpolated linearly in the
/// bucket it falls in (as Prometheus's `histogram_quantile`); `None` without observations.
fn quantile(quantile: f64, buckets: &[(f64, f64)]) -> Option<f64> {
    let total = buckets.last()?.1;
    if total <= 0.0 {
        return None;
    }
    let rank = quantile * total;
    let mut lower = (0.0, 0.0);
    for &(bound, count) in buckets {
        if count >= rank {
            if bound.is_infinite() {
                return Some(lower.0);
            }
            let in_bucket = count - lower.1;
            let share = if in_bucket > 0.0 {
                (rank - lower.1) / in_bucket
            } else {
                1.0
            };
            return Some(lower.0 + (bound - lower.0) * share);
        }
        lower = (bound, count);
    }
    Some(lower.0)
}

/// Each route's figures between `before` and `after`, `seconds` apart; busiest first.
pub fn figures(before: &Scrape, after: &Scrape, seconds: f64) -> Vec<RouteFigures> {
    let seconds = seconds.max(f64::EPSILON);
    let rate = |map_after: &BTreeMap<RouteKey, f64>, map_before: &BTreeMap<RouteKey, f64>, key| {
        let now = map_after.get(key).copied().unwrap_or(0.0);
        let then = map_before.get(key).copied().unwrap_or(0.0);
        (now - then).max(0.0) / seconds
    };
    let mut routes: Vec<RouteFigures> = after
        .requests
        .keys()
        .chain(after.in_flight.keys())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .map(|key| {
            let empty = Vec::new();
            let then = before.buckets.get(key).unwrap_or(&empty);
            let window: Vec<(f64, f64)> = after
                .buckets
                .get(key)
                .unwrap_or(&empty)
                .iter()
                .map(|&(bound, count)| {
                    let earlier = then
                        .iter()
                        .find(|(b, _)| *b == bound)
                        .map_or(0.0, |(_, c)| *c);
                    (bound, (count - earlier).max(0.0))
                })
                .collect();
            RouteFigures {
                method: key.0.clone(),
                route: key.1.clone(),
                requests_per_second: rate(&after.requests, &before.requests, key),
                p50_ms: quantile(0.5, &window).map(|s| s * 1000.0),
                p99_ms: quantile(0.99, &window).map(|s| s * 1000.0),
                client_errors_per_second: rate(&after.client_errors, &before.client_errors, key),
                server_errors_per_second: rate(&after.server_errors, &before.server_errors, key),
                throttled_per_second: rate(&after.throttled, &before.throttled, key),
                in_flight: after.in_flight.get(key).copied().unwrap_or(0.0),
                queued: after.queued.get(key).copied().unwrap_or(0.0),
            }
        })
        .collect();
    routes.sort_by(|a, b| {
        b.requests_per_second
            .total_cmp(&a.requests_per_second)
            .then_with(|| a.route.cmp(&b.route))
    });
    routes
}

#[cfg(test)]
mod tests {
    use super::*;

    const BEFORE: &str = r#"# HELP wasmgate_requests Requests answered.
wasmgate_requests_total{method="GET",route="/a/{x}",version="a@1",status="2xx"} 10
wasmgate_request_duration_seconds_bucket{method="GET",route="/a/{x}",le="0.001"} 5
wasmgate_request_duration_seconds_bucket{method="GET",route="/a/{x}",le="0.01"} 10
wasmgate_request_duration_seconds_bucket{method="GET",route="/a/{x}",le="+Inf"} 10
"#;
    const AFTER: &str = r#"wasmgate_requests_total{method="GET",route="/a/{x}",version="a@1",status="2xx"} 28
wasmgate_requests_total{method="GET",route="/a/{x}",version="",status="4xx"} 2
wasmgate_rejections_total{method="GET",route="/a/{x}",kind="throttled"} 2
wasmgate_request_duration_seconds_bucket{method="GET",route="/a/{x}",le="0.001"} 5
wasmgate_request_duration_seconds_bucket{method="GET",route="/a/{x}",le="0.01"} 30
wasmgate_request_duration_seconds_bucket{method="GET",route="/a/{x}",le="+Inf"} 30
wasmgate_in_flight{method="GET",route="/a/{x}"} 3
"#;

    #[test]
    fn rates_and_percentiles_come_from_the_difference() {
        let figures = figures(&Scrape::parse(BEFORE), &Scrape::parse(AFTER), 2.0);
        assert_eq!(figures.len(), 1);
        let a = &figures[0];
        assert_eq!((a.method.as_str(), a.route.as_str()), ("GET", "/a/{x}"));
        assert_eq!(a.requests_per_second, 10.0);
        assert_eq!(a.client_errors_per_second, 1.0);
        assert_eq!(a.throttled_per_second, 1.0);
        assert_eq!(a.in_flight, 3.0);
        // The 20 requests of the interval all fell in (1 ms, 10 ms]: the median is halfway.
        assert_eq!(a.p50_ms.map(|ms| (ms * 1000.0).round() / 1000.0), Some(5.5));
    }

    #[test]
    fn no_requests_no_percentiles() {
        let figures = figures(&Scrape::parse(BEFORE), &Scrape::parse(BEFORE), 1.0);
        assert_eq!(figures[0].requests_per_second, 0.0);
        assert_eq!(figures[0].p50_ms, None);
    }
}
