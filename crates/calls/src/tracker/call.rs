//! One tracked call: its keys, its ordered timeline and the record folded from it.

use chrono::{DateTime, Utc};
use hookflash_provider::{CallId, LegId};

use crate::fold::{CallMeta, Fold, LegInfo, kind_rank};
use crate::record::{CallRecord, CallUpdate, TimelineEntry, UpdateKind};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Phase {
    /// Live, or ended within the reorder window (updates may still change the outcome).
    Live,
    /// `Ended` was emitted; the outcome is frozen until eviction.
    Final { evict_at: DateTime<Utc> },
}

#[derive(Debug)]
pub(super) struct Call {
    pub(super) meta: CallMeta,
    pub(super) legs: Vec<LegInfo>,
    pub(super) linkedids: Vec<String>,
    pub(super) locals: Vec<String>,
    pub(super) aliases: Vec<CallId>,
    pub(super) base: Option<Box<Fold>>,
    pub(super) record: CallRecord,
    pub(super) confirmed: bool,
    pub(super) phase: Phase,
    pub(super) first_seen: DateTime<Utc>,
    pub(super) touched: DateTime<Utc>,
    pub(super) deadline: Option<DateTime<Utc>>,
    /// When (by the driver's clock) the call's legs were first all gone; the `ended` update
    /// is due a reorder window later. Driver time, so a skewed PBX clock cannot shorten it.
    pub(super) ending_since: Option<DateTime<Utc>>,
}

impl Call {
    pub(super) fn new(meta: CallMeta, now: DateTime<Utc>) -> Self {
        let record = Fold::new(&meta, now).finish(&meta);
        Self {
            meta,
            legs: Vec::new(),
            linkedids: Vec::new(),
            locals: Vec::new(),
            aliases: Vec::new(),
            base: None,
            record,
            confirmed: false,
            phase: Phase::Live,
            first_seen: now,
            touched: now,
            deadline: None,
            ending_since: None,
        }
    }

    pub(super) fn refold(&mut self) {
        let mut fold = match &self.base {
            Some(base) => (**base).clone(),
            None => Fold::new(&self.meta, self.first_seen),
        };
        for entry in &self.record.timeline {
            fold.step(entry, &self.legs);
        }
        let mut timeline = std::mem::take(&mut self.record.timeline);
        let dropped = self.record.timeline_dropped;
        let seq = self.record.seq;
        let mut rec = fold.finish(&self.meta);
        for entry in &mut timeline {
            entry.role = entry.leg.as_ref().and_then(|l| rec.leg(l)).map(|l| l.role);
        }
        rec.timeline = timeline;
        rec.timeline_dropped = dropped;
        rec.seq = seq;
        self.record = rec;
    }

    /// Inserts an entry in time order; `false` if the same event is already there.
    pub(super) fn insert(&mut self, entry: TimelineEntry, limit: usize) -> bool {
        let key = (entry.at, kind_rank(&entry));
        let timeline = &mut self.record.timeline;
        let start = timeline.partition_point(|e| e.at < entry.at);
        let duplicate = timeline[start..]
            .iter()
            .take_while(|e| e.at == entry.at)
            .any(|e| e.leg == entry.leg && e.detail == entry.detail && e.event == entry.event);
        if duplicate {
            return false;
        }
        let pos = timeline.partition_point(|e| (e.at, kind_rank(e)) <= key);
        timeline.insert(pos, entry);
        while timeline.len() > limit.max(1) {
            let oldest = timeline.remove(0);
            let base = self
                .base
                .get_or_insert_with(|| Box::new(Fold::new(&self.meta, self.first_seen)));
            base.step(&oldest, &self.legs);
            self.record.timeline_dropped = self.record.timeline_dropped.saturating_add(1);
        }
        true
    }

    pub(super) fn has_leg(&self, leg: &LegId) -> bool {
        self.legs.iter().any(|l| &l.leg == leg)
    }

    pub(super) fn emit(&mut self, kind: UpdateKind, event: Option<TimelineEntry>) -> CallUpdate {
        self.record.seq += 1;
        CallUpdate {
            call_id: self.meta.call_id,
            kind,
            record: self.record.clone(),
            event,
        }
    }
}
