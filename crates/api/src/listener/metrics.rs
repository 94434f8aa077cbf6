//! The pipeline's counters, in their own Prometheus registry.

use prometheus::{IntCounter, Registry, TextEncoder};

/// Counters of the event pipeline.
#[derive(Debug, Clone)]
pub struct ListenerMetrics {
    registry: Registry,
    /// Leg events received.
    pub events: IntCounter,
    /// Call updates written and published.
    pub updates: IntCounter,
    /// Raw CDRs received.
    pub cdrs: IntCounter,
    /// PBX links lost.
    pub disconnects: IntCounter,
    /// Resyncs after a reconnect.
    pub resyncs: IntCounter,
    /// Events the pipeline missed because it fell behind.
    pub lagged: IntCounter,
    /// Writes that failed.
    pub write_errors: IntCounter,
    /// Bus publications that failed.
    pub publish_errors: IntCounter,
}

impl Default for ListenerMetrics {
    fn default() -> Self {
        Self::new()
    }
}

// Static names and help on a fresh registry: neither creation nor registration can fail.
#[allow(clippy::expect_used)]
fn counter(registry: &Registry, name: &str, help: &str) -> IntCounter {
    let c = IntCounter::new(name, help).expect("static metric");
    registry
        .register(Box::new(c.clone()))
        .expect("distinct metric names");
    c
}

impl ListenerMetrics {
    /// Fresh counters.
    pub fn new() -> Self {
        let registry = Registry::new();
        Self {
            events: counter(
                &registry,
                "hookflash_listener_events_total",
                "Leg events received",
            ),
            updates: counter(
                &registry,
                "hookflash_listener_updates_total",
                "Call updates written and published",
            ),
            cdrs: counter(
                &registry,
                "hookflash_listener_cdrs_total",
                "Raw CDRs received",
            ),
            disconnects: counter(
                &registry,
                "hookflash_listener_disconnects_total",
                "PBX links lost",
            ),
            resyncs: counter(
                &registry,
                "hookflash_listener_resyncs_total",
                "Resyncs after a reconnect",
            ),
            lagged: counter(
                &registry,
                "hookflash_listener_lagged_events_total",
                "Events missed by falling behind",
            ),
            write_errors: counter(
                &registry,
                "hookflash_listener_write_errors_total",
                "Store writes that failed",
            ),
            publish_errors: counter(
                &registry,
                "hookflash_listener_publish_errors_total",
                "Bus publications that failed",
            ),
            registry,
        }
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = TextEncoder::new().encode_utf8(&self.registry.gather(), &mut out);
        out
    }
}
