//! The event pipeline: provider events → call tracker → store batch writer → event bus.
//!
//! [`Listener::start`] runs one task per [`Source`] (a configured PBX connection), each with its
//! own [`Tracker`], all writing through one [`BatchWriter`]:
//!
//! - The subscription is [`CallProvider::pipeline_events`]: lossless where the provider can
//!   hold its source back (AMI stops reading its socket while the pipeline is behind).
//! - `ProviderEvent::Leg` → [`Tracker::apply`]; `Resynced { legs }` (after every reconnect) →
//!   [`Tracker::merge_snapshot`]; `Lagged` → a fresh [`CallProvider::snapshot`] merged the same
//!   way; [`Tracker::expire`] runs whenever [`Tracker::poll_timeout`] has passed.
//! - Reconcile (`reconcile`): when a source's task starts and before every `Resynced` merge,
//!   the calls the store holds open on that server and the tracker does not know are adopted
//!   from what the store knows, then the PBX's live legs are merged: calls whose legs are gone
//!   are closed by the tracker as `ended while disconnected` (a killed listener, a dropped
//!   link, an Originate whose events nobody read leave nothing open).
//! - Every [`CallUpdate`] is written (call, legs, timeline) and then published on the bus with
//!   its tenant. An `ended` update is flushed to the database before it is published, so a
//!   client that sees `call_ended` and reads the call gets the final row.
//! - Tenants: a call placed through `POST /calls` carries our call id; the API wrote its row
//!   (with tenant, agent and numbers) before originating, so the pipeline looks that row up
//!   on the call's first update and registers the originate with the tracker
//!   ([`Tracker::register_originate`]). Calls the API did not place (inbound) belong to the
//!   default tenant, and to the agent whose endpoint answered them.
//! - CDRs: a provider that keeps billing records (AMI) emits them as
//!   [`ProviderEvent::Cdr`]; the pipeline stores them ([`hookflash_store::Cdrs`]) tied to
//!   the call whose leg they name; the call's own billsec
//!   (`talk_secs`) is recorded beside Asterisk's `BillableSeconds` in the row's `raw` JSON
//!   (`hookflash.talk_secs`, `hookflash.billsec_delta`) and a difference above one second is
//!   logged. ARI and Twilio deliver no CDRs.
//! - [`Listener::shutdown`] stops the tasks, then flushes every pending write.

mod cdr;
mod metrics;
mod numbers;
mod reconcile;
mod tenants;

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::StreamExt;
use hookflash_calls::{CallUpdate, Direction, Tracker, TrackerConfig, UpdateKind};
use hookflash_provider::{
    CallId, CallProvider, CdrRecord, LegEvent, LegEventKind, LegSnapshot, OriginateOutcome,
    ProviderEvent,
};
use hookflash_store::{BatchConfig, BatchWriter, CallWrite, Store};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::Instrument;

use crate::bus::{BusMessage, Publisher};
use crate::error::Result;

pub use metrics::ListenerMetrics;
pub use numbers::{InboundNumbers, KeepNumbers};
pub use tenants::DEFAULT_TENANT_SLUG;

use tenants::TenantResolver;

/// One PBX connection to listen to.
#[non_exhaustive]
pub struct Source {
    /// The configured name.
    pub name: String,
    /// `ami`, `ari` or `twilio` (stored as the call's provider).
    pub protocol: &'static str,
    /// The connection.
    pub provider: Arc<dyn CallProvider>,
    /// Whether this pipeline is the one owner of the source's calls (see [`SourceRole`]).
    pub role: SourceRole,
}

/// How much of a source's events one pipeline handles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SourceRole {
    /// Every event: this pipeline tracks, reconciles and writes all of the source's calls.
    #[default]
    Full,
    /// Only originate refusals of calls this process placed (an api-server beside a separate
    /// event-listener). A refusal is published by the provider of the process that sent the
    /// Originate, so the listener process never sees it; the api process runs the same tracker
    /// for that one event and writes its record. No reconcile, no resync, no other event.
    Refusals,
}

impl Source {
    /// A source this pipeline fully owns ([`SourceRole::Full`]).
    pub fn new(
        name: impl Into<String>,
        protocol: &'static str,
        provider: Arc<dyn CallProvider>,
    ) -> Self {
        Self {
            name: name.into(),
            protocol,
            provider,
            role: SourceRole::Full,
        }
    }

    /// A source whose originate refusals alone this pipeline records
    /// ([`SourceRole::Refusals`]).
    pub fn refusals_only(
        name: impl Into<String>,
        protocol: &'static str,
        provider: Arc<dyn CallProvider>,
    ) -> Self {
        Self {
            role: SourceRole::Refusals,
            ..Self::new(name, protocol, provider)
        }
    }
}

impl std::fmt::Debug for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Source")
            .field("name", &self.name)
            .field("protocol", &self.protocol)
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

/// Settings of the pipeline.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ListenerConfig {
    /// The trackers' settings.
    pub tracker: TrackerConfig,
    /// The batch writer's settings.
    pub batch: BatchConfig,
    /// How PBX numbers are read into E.164 (inbound `to_number` and `did`); by default they
    /// are kept as the PBX wrote them.
    pub numbers: Arc<dyn InboundNumbers>,
}

impl Default for ListenerConfig {
    fn default() -> Self {
        Self {
            tracker: TrackerConfig::default(),
            batch: BatchConfig::default(),
            numbers: Arc::new(KeepNumbers),
        }
    }
}

impl ListenerConfig {
    /// With these tracker settings.
    pub fn with_tracker(mut self, tracker: TrackerConfig) -> Self {
        self.tracker = tracker;
        self
    }

    /// With these batch writer settings.
    pub fn with_batch(mut self, batch: BatchConfig) -> Self {
        self.batch = batch;
        self
    }

    /// With this way of reading inbound numbers.
    pub fn with_numbers(mut self, numbers: Arc<dyn InboundNumbers>) -> Self {
        self.numbers = numbers;
        self
    }
}

/// The live status of one source.
#[derive(Debug)]
pub struct SourceStatus {
    /// The configured name.
    pub name: String,
    /// `ami`, `ari`, `twilio`.
    pub protocol: &'static str,
    connected: AtomicBool,
    live_calls: AtomicU64,
}

impl SourceStatus {
    /// Whether the link to the PBX is up (as its last event said).
    pub fn connected(&self) -> bool {
        self.connected.load(Ordering::Relaxed)
    }

    /// Calls in progress on this source.
    pub fn live_calls(&self) -> u64 {
        self.live_calls.load(Ordering::Relaxed)
    }
}

/// The running pipeline.
#[derive(Debug)]
pub struct Listener {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    writer: Arc<BatchWriter>,
    statuses: Vec<Arc<SourceStatus>>,
    metrics: ListenerMetrics,
}

impl Listener {
    /// Starts one task per source on the current runtime.
    pub fn start(
        store: Store,
        sources: Vec<Source>,
        publisher: Publisher,
        config: ListenerConfig,
    ) -> Self {
        let writer = Arc::new(BatchWriter::spawn(store.clone(), config.batch.clone()));
        let (stop, stop_rx) = watch::channel(false);
        let metrics = ListenerMetrics::new();
        let resolver = Arc::new(TenantResolver::new(store.clone()));
        let mut tasks = Vec::new();
        let mut statuses = Vec::new();
        for source in sources {
            let status = Arc::new(SourceStatus {
                name: source.name.clone(),
                protocol: source.protocol,
                connected: AtomicBool::new(true),
                live_calls: AtomicU64::new(0),
            });
            statuses.push(Arc::clone(&status));
            let worker = Worker {
                // Inbound call ids are derived per server: two PBXs may produce the same
                // linkedid.
                tracker: Tracker::new(config.tracker.clone().with_namespace(source.name.clone())),
                protocol: source.protocol,
                store: store.clone(),
                writer: Arc::clone(&writer),
                publisher: publisher.clone(),
                resolver: Arc::clone(&resolver),
                metrics: metrics.clone(),
                adopted: HashMap::new(),
                server: source.name.clone(),
                status,
                numbers: Arc::clone(&config.numbers),
                role: source.role,
                legless_recheck: None,
            };
            let span = tracing::info_span!("listener", server = %source.name);
            tasks.push(tokio::spawn(
                worker.run(source, stop_rx.clone()).instrument(span),
            ));
        }
        metrics.watch(Arc::clone(&writer), statuses.clone());
        Self {
            stop,
            tasks,
            writer,
            statuses,
            metrics,
        }
    }

    /// The sources' live status.
    pub fn statuses(&self) -> &[Arc<SourceStatus>] {
        &self.statuses
    }

    /// The pipeline's counters.
    pub fn metrics(&self) -> &ListenerMetrics {
        &self.metrics
    }

    /// The batch writer's figures so far.
    pub fn writer_stats(&self) -> hookflash_store::WriterStats {
        self.writer.stats()
    }

    /// Writes every update handed to the writer so far.
    ///
    /// # Errors
    /// The store's error.
    pub async fn flush(&self) -> Result<()> {
        self.writer.flush().await?;
        Ok(())
    }

    /// Stops every source task (each finishes the update in hand), then writes every pending
    /// update and stops the writer.
    ///
    /// # Errors
    /// The final write's error.
    pub async fn shutdown(self) -> Result<()> {
        let _ = self.stop.send(true);
        for task in self.tasks {
            if let Err(e) = task.await {
                tracing::error!(error = %e, "a listener task failed");
            }
        }
        match Arc::try_unwrap(self.writer) {
            Ok(writer) => {
                let stats = writer.shutdown().await?;
                tracing::info!(
                    batches = stats.batches,
                    rows = stats.rows,
                    "listener stopped; every pending write flushed"
                );
            }
            Err(writer) => writer.flush().await?,
        }
        Ok(())
    }
}

struct Worker {
    tracker: Tracker,
    protocol: &'static str,
    store: Store,
    writer: Arc<BatchWriter>,
    publisher: Publisher,
    resolver: Arc<TenantResolver>,
    metrics: ListenerMetrics,
    /// Calls adopted from the store by reconcile, with the version their writes start above.
    adopted: HashMap<CallId, i64>,
    /// The source's configured name, written as the call's server (reconcile reads calls by
    /// server: with several PBXs, one must not close another's calls).
    server: String,
    status: Arc<SourceStatus>,
    numbers: Arc<dyn InboundNumbers>,
    role: SourceRole,
    /// When to look again at calls with no leg that reconcile left for being young.
    legless_recheck: Option<DateTime<Utc>>,
}

/// A refusal of an Originate this process sent: the provider's `originate_result` failure for
/// a call carrying our call id.
fn is_refusal(e: &LegEvent) -> bool {
    e.keys.call_id.is_some()
        && matches!(
            &e.kind,
            LegEventKind::OriginateResult {
                outcome: OriginateOutcome::Failed { .. }
            }
        )
}

fn until(deadline: Option<DateTime<Utc>>) -> Duration {
    match deadline {
        Some(d) => (d - Utc::now()).to_std().unwrap_or(Duration::ZERO),
        // Nothing scheduled: wake up rarely, only to re-check.
        None => Duration::from_secs(3600),
    }
}

impl Worker {
    async fn run(mut self, source: Source, mut stop: watch::Receiver<bool>) {
        let mut events = source.provider.pipeline_events();
        let name = source.name;
        tracing::info!(server = %name, protocol = self.protocol, role = ?self.role, "listening for call events");
        if self.role == SourceRole::Full {
            let first = self.reconcile(&name, &*source.provider, None).await;
            self.process(first).await;
        }
        loop {
            let next = match (self.tracker.poll_timeout(), self.legless_recheck) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            let wait = until(next);
            let updates = tokio::select! {
                biased;
                _ = stop.changed() => break,
                ev = events.next() => match ev {
                    Some(ev) => self.on_provider_event(&name, &*source.provider, ev).await,
                    None => {
                        tracing::warn!(server = %name, "the provider's event stream ended");
                        self.status.connected.store(false, Ordering::Relaxed);
                        break;
                    }
                },
                _ = tokio::time::sleep(wait) => {
                    let now = Utc::now();
                    let mut due = self.tracker.expire(now);
                    if self.legless_recheck.is_some_and(|t| t <= now) {
                        self.legless_recheck = None;
                        // While the link is down the next resync's reconcile looks instead.
                        if self.status.connected() {
                            due.extend(self.close_legless(now));
                        }
                    }
                    due
                }
            };
            self.process(updates).await;
            self.status
                .live_calls
                .store(self.tracker.live_len() as u64, Ordering::Relaxed);
        }
        // Updates already due are written before the writer is flushed.
        let due = self.tracker.expire(Utc::now());
        self.process(due).await;
    }

    async fn on_provider_event(
        &mut self,
        name: &str,
        provider: &dyn CallProvider,
        ev: ProviderEvent,
    ) -> Vec<CallUpdate> {
        let now = Utc::now();
        if self.role == SourceRole::Refusals {
            return match ev {
                ProviderEvent::Leg(e) if is_refusal(&e) => self.on_leg(e, now).await,
                _ => Vec::new(),
            };
        }
        match ev {
            ProviderEvent::Leg(e) => self.on_leg(e, now).await,
            ProviderEvent::Cdr(cdr) => {
                self.on_cdr(&cdr).await;
                Vec::new()
            }
            ProviderEvent::Disconnected { reason } => {
                tracing::warn!(server = %name, %reason, "PBX link down; waiting for resync");
                self.status.connected.store(false, Ordering::Relaxed);
                self.metrics.disconnects.inc();
                Vec::new()
            }
            ProviderEvent::Resynced { legs } => {
                tracing::info!(server = %name, legs = legs.len(), "PBX link back; merging its live legs");
                self.status.connected.store(true, Ordering::Relaxed);
                self.metrics.resyncs.inc();
                self.reconcile(name, provider, Some(legs)).await
            }
            ProviderEvent::Lagged { missed } => {
                tracing::warn!(server = %name, missed, "the pipeline fell behind; resyncing");
                self.metrics.lagged.inc_by(missed);
                match provider.snapshot().await {
                    Ok(legs) => self.tracker.merge_snapshot(&legs, Utc::now()),
                    Err(e) => {
                        tracing::warn!(server = %name, error = %e, "snapshot after lag failed");
                        Vec::new()
                    }
                }
            }
            other => {
                tracing::debug!(server = %name, event = ?other, "ignoring an unknown provider event");
                Vec::new()
            }
        }
    }

    /// Applies one leg event; the first event of a call the API placed registers its
    /// originate first.
    async fn on_leg(&mut self, e: LegEvent, now: DateTime<Utc>) -> Vec<CallUpdate> {
        self.metrics.events.inc();
        let mut out = Vec::new();
        if let Some(id) = e.keys.call_id
            && self.tracker.call(&id).is_none_or(|c| c.tenant.is_none())
            && let Some(found) = self.resolver.first_sight(id).await
            && let Some(origin) = found.origin
        {
            // The call the API placed exists before its first leg is applied, as if
            // the originate had been registered here (the API may run elsewhere).
            out = self.tracker.register_originate(
                id,
                found.tenant,
                origin.agent_endpoint,
                origin.customer_number,
                origin.created_at.min(e.at),
            );
        }
        out.extend(self.tracker.apply(&e, now));
        out
    }

    /// Writes and publishes updates, learning each call's tenant on the way.
    async fn process(&mut self, updates: Vec<CallUpdate>) {
        if updates.is_empty() {
            return;
        }
        let mut queue: VecDeque<CallUpdate> = updates.into();
        let mut outbox = Vec::with_capacity(queue.len());
        let mut any_ended = false;
        while let Some(mut update) = queue.pop_front() {
            let tenant = match update.record.tenant {
                Some(t) => t,
                None => {
                    let found = self.resolver.resolve(&update.record).await;
                    if let Some(origin) = &found.origin {
                        // The originate happened before any of its legs: registering it at
                        // that time keeps the timeline (and so the state walk) in order.
                        let at = update.record.created_at.min(origin.created_at);
                        let more = self.tracker.register_originate(
                            update.call_id,
                            found.tenant,
                            origin.agent_endpoint.clone(),
                            origin.customer_number.clone(),
                            at,
                        );
                        if update.record.agent_endpoint.is_none() {
                            update.record.agent_endpoint = Some(origin.agent_endpoint.clone());
                        }
                        queue.extend(more);
                    }
                    update.record.tenant = Some(found.tenant);
                    found.tenant
                }
            };
            self.metrics.updates.inc();
            let mut write = CallWrite::from_update(&update, tenant, self.protocol);
            if write.call.server.is_none() {
                write.call.server = Some(self.server.clone());
            }
            if let Some(base) = self.adopted.get(&update.call_id) {
                write.call.version = write.call.version.saturating_add(*base);
                if update.kind == UpdateKind::Ended {
                    self.adopted.remove(&update.call_id);
                }
            }
            numbers::read_inbound(&*self.numbers, &mut write.call);
            // Calls the API did not place (inbound) are attributed to the agent who took them.
            if update.record.direction == Direction::Inbound
                && let Some(channel) = &update.record.agent_channel
                && let Some(agent) = self.resolver.agent_of_channel(tenant, channel).await
            {
                write.call.agent_id = Some(agent.to_string());
            }
            if let Err(e) = self.writer.write(write).await {
                self.metrics.write_errors.inc();
                tracing::error!(call_id = %update.call_id, error = %e, "could not queue a call write");
            }
            any_ended |= update.kind == UpdateKind::Ended;
            let record = Box::new(update.record);
            outbox.push(match update.kind {
                UpdateKind::Created => BusMessage::CallCreated { tenant, record },
                UpdateKind::Ended => BusMessage::CallEnded { tenant, record },
                _ => BusMessage::CallUpdated { tenant, record },
            });
        }
        // One flush for the whole round, before anything is announced as ended.
        if any_ended && let Err(e) = self.writer.flush().await {
            self.metrics.write_errors.inc();
            tracing::error!(error = %e, "could not write ended calls");
        }
        for msg in outbox {
            if let Err(e) = self.publisher.publish(msg).await {
                self.metrics.publish_errors.inc();
                tracing::warn!(error = %e, "could not publish a call update");
            }
        }
    }

    /// Adopts the store's open calls of this server the tracker does not know, then merges
    /// the PBX's live legs (`legs`, or a fresh snapshot): see the `reconcile` module.
    async fn reconcile(
        &mut self,
        name: &str,
        provider: &dyn CallProvider,
        legs: Option<Vec<LegSnapshot>>,
    ) -> Vec<CallUpdate> {
        let now = Utc::now();
        let open = self
            .store
            .calls()
            .open_on(self.protocol, name, reconcile::MAX_ADOPTED)
            .await;
        let mut out = match open {
            Ok(open) => {
                let (updates, bases) = reconcile::adopt(&mut self.tracker, &open, now);
                if !bases.is_empty() {
                    tracing::info!(server = %name, adopted = bases.len(), "open calls adopted from the store");
                }
                self.adopted.extend(bases);
                updates
            }
            Err(e) => {
                self.metrics.write_errors.inc();
                tracing::error!(server = %name, error = %e, "could not read the open calls to reconcile");
                Vec::new()
            }
        };
        let legs = match legs {
            Some(legs) => Some(legs),
            None => match provider.snapshot().await {
                Ok(legs) => Some(legs),
                Err(e) => {
                    tracing::warn!(server = %name, error = %e, "cannot list the live legs; open calls are reconciled at the next resync");
                    None
                }
            },
        };
        if let Some(legs) = legs {
            out.extend(self.tracker.merge_snapshot(&legs, now));
            // Calls left with no leg get the grace to show one (their events may be on the
            // way), then the PBX's word: see `reconcile`.
            if let Some(at) = reconcile::legless_recheck(&self.tracker, now) {
                self.legless_recheck = Some(self.legless_recheck.map_or(at, |t| t.min(at)));
            }
        }
        out
    }

    /// Closes the calls with no leg past the grace (see `reconcile`) and schedules the next
    /// look for younger ones.
    fn close_legless(&mut self, now: DateTime<Utc>) -> Vec<CallUpdate> {
        let (out, next) = reconcile::close_legless(&mut self.tracker, now);
        if !out.is_empty() {
            tracing::info!(
                updates = out.len(),
                "calls with no leg on the PBX closed as ended while disconnected"
            );
        }
        self.legless_recheck = next;
        out
    }

    async fn on_cdr(&mut self, rec: &CdrRecord) {
        self.metrics.cdrs.inc();
        let call = Some(rec.leg.as_str())
            .filter(|l| !l.is_empty())
            .and_then(|uid| cdr::call_of_leg(&self.tracker, uid));
        let tenant = match &call {
            Some(c) => match c.tenant {
                Some(t) => t,
                None => self.resolver.resolve(c).await.tenant,
            },
            None => self.resolver.default_tenant().await,
        };
        let row = cdr::cdr_row(rec, tenant, call.as_ref());
        if let Err(e) = self.store.cdrs().upsert(&row).await {
            self.metrics.write_errors.inc();
            tracing::error!(uniqueid = %row.uniqueid, error = %e, "could not store a CDR");
        }
    }
}
