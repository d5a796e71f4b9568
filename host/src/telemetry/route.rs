//! One route's metric handles, kept with the route (see [`RouteMetrics`]).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use prometheus_client::metrics::counter::Counter;

use super::labels::{
    CacheLabels, Phase, PhaseLabels, RejectionLabels, RequestLabels, RouteLabels, StatusClass,
};
use super::latency::{LATENCY_COUNTS, Latency};
use super::metrics::metrics;

/// One route's metrics, looked up on first use and kept with the route, so that its
/// requests update them without hashing their labels each time; and, once no route has its
/// labels any more, removed from the metrics ([`RouteMetrics::forget`]).
#[derive(Debug)]
pub struct RouteMetrics {
    /// The route's labels.
    pub labels: RouteLabels,
    duration: OnceLock<Latency>,
    request_bytes: OnceLock<Counter>,
    response_bytes: OnceLock<Counter>,
    phases: [OnceLock<Latency>; 4],
    /// The request counters used so far, by version and status class (a handful).
    requests: Mutex<Vec<(Arc<str>, StatusClass, Counter)>>,
    /// The rejection counters used so far, by kind.
    rejections: Mutex<Vec<(&'static str, Counter)>>,
    cache_lookups: [OnceLock<Counter>; 2],
}

impl RouteMetrics {
    /// The metrics of the route labelled `labels`.
    pub fn new(labels: RouteLabels) -> Self {
        RouteMetrics {
            labels,
            duration: OnceLock::new(),
            request_bytes: OnceLock::new(),
            response_bytes: OnceLock::new(),
            phases: Default::default(),
            requests: Mutex::new(Vec::new()),
            rejections: Mutex::new(Vec::new()),
            cache_lookups: Default::default(),
        }
    }

    /// Its request-duration histogram.
    pub fn duration(&self) -> &Latency {
        self.duration
            .get_or_init(|| metrics().request_duration.get_or_create_owned(&self.labels))
    }

    /// Its request body bytes.
    pub fn request_bytes(&self) -> &Counter {
        self.request_bytes
            .get_or_init(|| metrics().request_bytes.get_or_create_owned(&self.labels))
    }

    /// Its response body bytes.
    pub fn response_bytes(&self) -> &Counter {
        self.response_bytes
            .get_or_init(|| metrics().response_bytes.get_or_create_owned(&self.labels))
    }

    /// Its histogram of `phase`.
    pub fn phase(&self, phase: Phase) -> &Latency {
        self.phases[phase as usize].get_or_init(|| {
            metrics()
                .phase_duration
                .get_or_create_owned(&self.phase_labels(phase))
        })
    }

    fn phase_labels(&self, phase: Phase) -> PhaseLabels {
        PhaseLabels {
            route: self.labels.clone(),
            phase,
        }
    }

    /// Counts a request answered by `version` (empty when none ran) with `status`.
    pub fn count_request(&self, version: &str, status: StatusClass) {
        let mut used = used(&self.requests);
        if let Some((_, _, counter)) = used
            .iter()
            .find(|(v, s, _)| **v == *version && *s == status)
        {
            counter.inc();
            return;
        }
        let version: Arc<str> = Arc::from(version);
        let counter = metrics().requests.get_or_create_owned(&RequestLabels {
            route: self.labels.clone(),
            version: version.clone(),
            status,
        });
        counter.inc();
        used.push((version, status, counter));
    }

    /// Counts a request the gateway answered itself, as `kind`.
    pub fn count_rejection(&self, kind: &'static str) {
        let mut used = used(&self.rejections);
        if let Some((_, counter)) = used.iter().find(|(k, _)| *k == kind) {
            counter.inc();
            return;
        }
        let counter = metrics().rejections.get_or_create_owned(&RejectionLabels {
            route: self.labels.clone(),
            kind,
        });
        counter.inc();
        used.push((kind, counter));
    }

    /// Counts a response-cache lookup: a hit or a miss.
    pub fn count_cache_lookup(&self, hit: bool) {
        self.cache_lookups[usize::from(hit)]
            .get_or_init(|| {
                metrics()
                    .cache_lookups
                    .get_or_create_owned(&self.cache_labels(hit))
            })
            .inc();
    }

    fn cache_labels(&self, hit: bool) -> CacheLabels {
        CacheLabels {
            route: self.labels.clone(),
            outcome: if hit { "hit" } else { "miss" },
        }
    }

    /// What it has counted so far: the web console's live figures (`GET /stats`).
    pub fn counts(&self) -> RouteCounts {
        let mut statuses = BTreeMap::new();
        for (_, status, counter) in used(&self.requests).iter() {
            *statuses.entry(status.as_str()).or_default() += counter.get();
        }
        let rejections = used(&self.rejections)
            .iter()
            .map(|(kind, counter)| (*kind, counter.get()))
            .collect();
        RouteCounts {
            statuses,
            rejections,
            durations: self.duration.get().map(Latency::counts).unwrap_or_default(),
        }
    }

    /// Removes every series of this route's labels from the metrics (its route is gone).
    pub fn forget(&self) {
        let metrics = metrics();
        let labels = &self.labels;
        metrics.request_duration.remove(labels);
        metrics.request_bytes.remove(labels);
        metrics.response_bytes.remove(labels);
        for hit in [false, true] {
            if self.cache_lookups[usize::from(hit)].get().is_some() {
                metrics.cache_lookups.remove(&self.cache_labels(hit));
            }
        }
        for phase in [
            Phase::Authorize,
            Phase::Queue,
            Phase::Instantiate,
            Phase::Guest,
        ] {
            metrics.phase_duration.remove(&self.phase_labels(phase));
        }
        for (version, status, _) in used(&self.requests).iter() {
            metrics.requests.remove(&RequestLabels {
                route: labels.clone(),
                version: version.clone(),
                status: *status,
            });
        }
        for (kind, _) in used(&self.rejections).iter() {
            metrics.rejections.remove(&RejectionLabels {
                route: labels.clone(),
                kind,
            });
        }
    }
}

/// A route's counts so far, read back from its metrics.
#[derive(Debug, Default, serde::Serialize)]
pub struct RouteCounts {
    /// Requests answered, by status class (`2xx`…).
    pub statuses: BTreeMap<&'static str, u64>,
    /// Requests the gateway answered itself, by kind.
    pub rejections: BTreeMap<&'static str, u64>,
    /// Request durations per bucket of [`super::metrics::LATENCY_BUCKETS`] (not
    /// cumulative), the last past them.
    pub durations: [u64; LATENCY_COUNTS],
}

/// The counters a route has used so far. A panic elsewhere while they were locked left
/// them whole (each change is one push), so a poisoned lock is taken as it is.
fn used<T>(counters: &Mutex<T>) -> MutexGuard<'_, T> {
    counters.lock().unwrap_or_else(|poison| poison.into_inner())
}
