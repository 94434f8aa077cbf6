//! The pipeline's counters, in their own Prometheus registry: events in, updates out, CDRs,
//! links lost, resyncs, lag, failed writes and publications; and, read when scraped, the calls
//! each source tracks, whether its link is up, and the batch writer's figures
//! ([`hookflash_store::BatchWriter::stats`]: batches, rows written, failed transactions retried,
//! dead letters).

use std::sync::Arc;

use hookflash_store::BatchWriter;
use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;
use prometheus::{IntCounter, IntGauge, IntGaugeVec, Opts, Registry, TextEncoder};

use super::SourceStatus;

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

    /// The registry holding every pipeline metric, for a server that exposes it beside its
    /// own (the api-server's `/metrics`).
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Adds the figures read at scrape time from the running pipeline's writer and sources.
    pub(super) fn watch(&self, writer: Arc<BatchWriter>, statuses: Vec<Arc<SourceStatus>>) {
        if let Some(c) = LiveFigures::new(writer, statuses)
            && let Err(e) = self.registry.register(Box::new(c))
        {
            tracing::warn!(error = %e, "pipeline figures not registered");
        }
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = TextEncoder::new().encode_utf8(&self.registry.gather(), &mut out);
        out
    }
}

/// Figures read from the running pipeline when the registry is gathered.
struct LiveFigures {
    writer: Arc<BatchWriter>,
    statuses: Vec<Arc<SourceStatus>>,
    tracked: IntGaugeVec,
    up: IntGaugeVec,
    batches: IntGauge,
    rows: IntGauge,
    failures: IntGauge,
    dead_letters: IntGauge,
    descs: Vec<Desc>,
}

fn gauge(name: &str, help: &str) -> Result<IntGauge, prometheus::Error> {
    IntGauge::new(name, help)
}

fn clamp(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl LiveFigures {
    fn new(writer: Arc<BatchWriter>, statuses: Vec<Arc<SourceStatus>>) -> Option<Self> {
        let made = (|| -> Result<Self, prometheus::Error> {
            let tracked = IntGaugeVec::new(
                Opts::new(
                    "hookflash_pipeline_calls_tracked",
                    "Calls in progress the tracker holds, per source",
                ),
                &["server"],
            )?;
            let up = IntGaugeVec::new(
                Opts::new(
                    "hookflash_listener_server_up",
                    "1 while the source's PBX link is up",
                ),
                &["server"],
            )?;
            let batches = gauge(
                "hookflash_pipeline_writer_batches_total",
                "Transactions the batch writer committed",
            )?;
            let rows = gauge(
                "hookflash_pipeline_writer_rows_written_total",
                "Rows (calls, legs, events) the batch writer wrote",
            )?;
            let failures = gauge(
                "hookflash_pipeline_writer_retried_total",
                "Batch transactions that failed and were retried (or dead-lettered)",
            )?;
            let dead_letters = gauge(
                "hookflash_pipeline_writer_dead_letters_total",
                "Updates the database refused for good",
            )?;
            let mut descs = Vec::new();
            for c in [
                &tracked as &dyn Collector,
                &up,
                &batches,
                &rows,
                &failures,
                &dead_letters,
            ] {
                descs.extend(c.desc().into_iter().cloned());
            }
            Ok(Self {
                writer,
                statuses,
                tracked,
                up,
                batches,
                rows,
                failures,
                dead_letters,
                descs,
            })
        })();
        match made {
            Ok(c) => Some(c),
            Err(e) => {
                tracing::warn!(error = %e, "pipeline figures unavailable");
                None
            }
        }
    }
}

impl Collector for LiveFigures {
    fn desc(&self) -> Vec<&Desc> {
        self.descs.iter().collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        for s in &self.statuses {
            self.tracked
                .with_label_values(&[s.name.as_str()])
                .set(clamp(s.live_calls()));
            self.up
                .with_label_values(&[s.name.as_str()])
                .set(i64::from(s.connected()));
        }
        let stats = self.writer.stats();
        self.batches.set(clamp(stats.batches));
        self.rows.set(clamp(stats.rows));
        self.failures.set(clamp(stats.failures));
        self.dead_letters.set(clamp(stats.dead_letters));
        let mut out = self.tracked.collect();
        out.extend(self.up.collect());
        out.extend(self.batches.collect());
        out.extend(self.rows.collect());
        out.extend(self.failures.collect());
        out.extend(self.dead_letters.collect());
        out
    }
}
