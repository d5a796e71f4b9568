//! What the gateway tells operators about itself: Prometheus metrics ([`mod@metrics`], with the
//! process's own figures), traces exported over OTLP ([`trace`]), and the live feed of
//! access records and guest output ([`live`]). The lowest layer: every other layer records
//! here.

mod labels;
mod latency;
pub mod live;
pub mod metrics;
mod process;
mod route;
pub mod trace;

pub use metrics::{
    Metrics, Phase, RejectionLabels, RequestLabels, RouteLabels, RouteMetrics, StatusClass, metrics,
};
