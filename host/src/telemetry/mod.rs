//! What the gateway tells operators about itself: Prometheus metrics ([`metrics`]) and the
//! process's own figures ([`process`]). The lowest layer: every other layer records here.

pub mod metrics;
mod process;

pub use metrics::{
    Metrics, Phase, RejectionLabels, RequestLabels, RouteLabels, StatusClass, metrics,
};
