//! Connections as the metrics count them: accepted, open now and refused, by listener.

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;

use crate::telemetry::metrics::{ConnectionRefusalLabels, ListenerLabels, metrics};

/// One listener's connection metrics, resolved once per worker.
pub(super) struct ConnectionMetrics {
    listener: &'static str,
    accepted: Counter,
    open: Gauge,
}

impl ConnectionMetrics {
    /// The metrics of the listener called `listener`.
    pub fn new(listener: &'static str) -> Self {
        let labels = ListenerLabels { listener };
        let metrics = metrics();
        ConnectionMetrics {
            listener,
            accepted: metrics.connections_accepted.get_or_create_owned(&labels),
            open: metrics.connections.get_or_create_owned(&labels),
        }
    }

    /// A connection was accepted: it counts as open while the result is held.
    pub fn open(&self) -> OpenConnection {
        self.accepted.inc();
        self.open.inc();
        OpenConnection(self.open.clone())
    }

    /// A connection was closed at once, for `reason` (`limit`, `client_limit`).
    pub fn refused(&self, reason: &'static str) {
        metrics()
            .connections_refused
            .get_or_create(&ConnectionRefusalLabels {
                listener: self.listener,
                reason,
            })
            .inc();
    }
}

/// An open connection, counted in `wasmgate_connections` until dropped.
pub(super) struct OpenConnection(Gauge);

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.dec();
    }
}
