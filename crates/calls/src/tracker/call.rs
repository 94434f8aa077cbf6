//! One tracked call: its keys, its ordered timeline and the record folded from it.

use chrono::{DateTime, Utc};
use hookflash_provider::{CallId, LegEventKind, LegId, LegRole};

use crate::fold::{CallMeta, Fold, LegInfo, kind_rank};
use crate::record::{CallRecord, CallUpdate, LegStatus, TimelineEntry, UpdateKind};

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
    /// Every entry applied (bounded by the timeline limit), in time order: what the record is
    /// folded from. The record's timeline shows them with repeats of one fact collapsed.
    pub(super) entries: Vec<TimelineEntry>,
    /// Every leg as of the last fold, plumbing legs too (the record lists parties only).
    pub(super) leg_states: Vec<(LegId, LegRole, LegStatus)>,
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
            entries: Vec::new(),
            leg_states: Vec::new(),
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
        for entry in &self.entries {
            fold.step(entry, &self.legs);
        }
        self.leg_states = fold.leg_states();
        let dropped = self.record.timeline_dropped;
        let seq = self.record.seq;
        let mut rec = fold.finish(&self.meta);
        rec.timeline = self.view();
        rec.timeline_dropped = dropped;
        rec.seq = seq;
        self.record = rec;
    }

    /// Shows a new entry in the record's timeline without refolding (after the end, when
    /// nothing may change the outcome).
    pub(super) fn refresh_timeline(&mut self) {
        self.record.timeline = self.view();
    }

    /// The role a leg plays (plumbing legs included).
    pub(super) fn role_of(&self, leg: &LegId) -> Option<LegRole> {
        self.leg_states
            .iter()
            .find(|(l, ..)| l == leg)
            .map(|(_, role, _)| *role)
    }

    /// The timeline as the record shows it: one entry per fact (an entry that repeats the
    /// previous entry of its leg, as when a platform reports one change twice, is left out),
    /// each with its leg's role. A function of the set of entries, whatever order they came in.
    fn view(&self) -> Vec<TimelineEntry> {
        let mut out: Vec<TimelineEntry> = Vec::with_capacity(self.entries.len());
        // The latest entry of each leg so far (a call has a handful of legs).
        let mut latest: Vec<&TimelineEntry> = Vec::new();
        for entry in &self.entries {
            if let Some(leg) = &entry.leg {
                match latest.iter_mut().find(|e| e.leg.as_ref() == Some(leg)) {
                    Some(prev) => {
                        let repeat = is_repeatable(entry) && same_fact(prev, entry);
                        *prev = entry;
                        if repeat {
                            continue;
                        }
                    }
                    None => latest.push(entry),
                }
            }
            let mut entry = entry.clone();
            entry.role = entry.leg.as_ref().and_then(|l| self.role_of(l));
            out.push(entry);
        }
        out
    }

    /// Whether entry `i` says again what the previous entry of the same leg said.
    fn repeats_previous(&self, i: usize) -> bool {
        let Some(entry) = self.entries.get(i) else {
            return false;
        };
        is_repeatable(entry)
            && self.entries[..i]
                .iter()
                .rev()
                .find(|e| e.leg == entry.leg)
                .is_some_and(|prev| same_fact(prev, entry))
    }

    /// Whether the entry at `i` changes what the timeline shows: `false` for a repeat of one
    /// fact (the same as the previous or the next entry of its leg).
    pub(super) fn is_news(&self, i: usize) -> bool {
        let Some(entry) = self.entries.get(i) else {
            return false;
        };
        if self.repeats_previous(i) {
            return false;
        }
        let next = self.entries[i + 1..]
            .iter()
            .position(|e| e.leg == entry.leg);
        !next.is_some_and(|j| self.repeats_previous(i + 1 + j))
    }

    /// Inserts an entry in time order: its index, or `None` if the same event is already
    /// there.
    pub(super) fn insert(&mut self, entry: TimelineEntry, limit: usize) -> Option<usize> {
        let key = (entry.at, kind_rank(&entry));
        let entries = &mut self.entries;
        let start = entries.partition_point(|e| e.at < entry.at);
        let duplicate = entries[start..]
            .iter()
            .take_while(|e| e.at == entry.at)
            .any(|e| e.leg == entry.leg && e.detail == entry.detail && e.event == entry.event);
        if duplicate {
            return None;
        }
        let mut pos = entries.partition_point(|e| (e.at, kind_rank(e)) <= key);
        entries.insert(pos, entry);
        while entries.len() > limit.max(1) {
            let oldest = entries.remove(0);
            pos = pos.saturating_sub(1);
            let base = self
                .base
                .get_or_insert_with(|| Box::new(Fold::new(&self.meta, self.first_seen)));
            base.step(&oldest, &self.legs);
            self.record.timeline_dropped = self.record.timeline_dropped.saturating_add(1);
        }
        Some(pos)
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

/// Whether two entries of one leg state the same fact (their times aside).
fn same_fact(a: &TimelineEntry, b: &TimelineEntry) -> bool {
    a.leg == b.leg && a.event == b.event && a.detail == b.detail && a.note == b.note
}

/// Whether an entry can be a repeat: call-level notes are each their own fact, and so is every
/// key press.
fn is_repeatable(entry: &TimelineEntry) -> bool {
    entry.leg.is_some() && !matches!(entry.detail, Some(LegEventKind::Dtmf { .. }))
}
