//! What the gateway tells operators about itself: Prometheus metrics ([`metrics`], with the
//! process's own figures) and traces exported over OTLP ([`trace`]). The lowest layer: every
//! other layer records here.

pub mod metrics;
mod process;
pub mod trace;

pub use metrics::{
    Metrics, Phase, RejectionLabels, RequestLabels, RouteLabels, StatusClass, metrics,
};
