use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};

use chrono::{DateTime, TimeDelta, Utc};
use hookflash_provider::{
    CallId, LegEvent, LegEventKind, LegId, LegRole, LegSnapshot, LegState, TenantId,
};

use crate::config::TrackerConfig;
use crate::fold::{
    CallMeta, Fold, LegInfo, NOTE_CLOSED, NOTE_MERGED, NOTE_ORIGINATE, NOTE_VANISHED,
    REASON_DISCONNECTED, REASON_FULL, REASON_SILENT, kind_rank,
};
use crate::ids::derived_call_id;
use crate::record::{
    CallRecord, CallState, CallUpdate, Direction, Disposition, LegStatus, TimelineEntry, UpdateKind,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Live, or ended within the reorder window (updates may still change the outcome).
    Live,
    /// `Ended` was emitted; the outcome is frozen until eviction.
    Final { evict_at: DateTime<Utc> },
}

#[derive(Debug)]
struct Call {
    meta: CallMeta,
    legs: Vec<LegInfo>,
    linkedids: Vec<String>,
    locals: Vec<String>,
    aliases: Vec<CallId>,
    base: Option<Box<Fold>>,
    record: CallRecord,
    confirmed: bool,
    phase: Phase,
    first_seen: DateTime<Utc>,
    touched: DateTime<Utc>,
    deadline: Option<DateTime<Utc>>,
    /// When (by the driver's clock) the call's legs were first all gone; the `ended` update
    /// is due a reorder window later. Driver time, so a skewed PBX clock cannot shorten it.
    ending_since: Option<DateTime<Utc>>,
}

impl Call {
    fn new(meta: CallMeta, now: DateTime<Utc>) -> Self {
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

    fn refold(&mut self) {
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
    fn insert(&mut self, entry: TimelineEntry, limit: usize) -> bool {
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

    fn has_leg(&self, leg: &LegId) -> bool {
        self.legs.iter().any(|l| &l.leg == leg)
    }

    fn emit(&mut self, kind: UpdateKind, event: Option<TimelineEntry>) -> CallUpdate {
        self.record.seq += 1;
        CallUpdate {
            call_id: self.meta.call_id,
            kind,
            record: self.record.clone(),
            event,
        }
    }
}

/// Keys of evicted calls, remembered for a while so that their stray late events are dropped.
#[derive(Debug, Default)]
struct Tombstones {
    order: VecDeque<Tomb>,
    legs: HashSet<LegId>,
    linkedids: HashSet<String>,
    calls: HashSet<CallId>,
}

#[derive(Debug)]
enum Tomb {
    Leg(LegId),
    Linkedid(String),
    Call(CallId),
}

impl Tombstones {
    fn add(&mut self, tomb: Tomb, cap: usize) {
        let fresh = match &tomb {
            Tomb::Leg(l) => self.legs.insert(l.clone()),
            Tomb::Linkedid(l) => self.linkedids.insert(l.clone()),
            Tomb::Call(c) => self.calls.insert(*c),
        };
        if fresh {
            self.order.push_back(tomb);
        }
        while self.order.len() > cap {
            match self.order.pop_front() {
                Some(Tomb::Leg(l)) => {
                    self.legs.remove(&l);
                }
                Some(Tomb::Linkedid(l)) => {
                    self.linkedids.remove(&l);
                }
                Some(Tomb::Call(c)) => {
                    self.calls.remove(&c);
                }
                None => break,
            }
        }
    }
}

/// The call tracker: turns leg events into call records.
///
/// Sans-IO and deterministic: it owns no clock and no socket. Feed it every [`LegEvent`] of one
/// provider with [`Tracker::apply`], the provider's live legs after a reconnect with
/// [`Tracker::merge_snapshot`], and call [`Tracker::expire`] at [`Tracker::poll_timeout`].
///
/// # Behaviour
/// - Legs join calls by our call id when the leg carries it, else by the provider's linkedid
///   (following a leg whose linkedid changes, such as a park pickup), Local channel pairs,
///   the peer leg, and the legs an event names (a dial target, a park retriever).
/// - Each call's events are kept in time order and the record is refolded from them, so events
///   arriving out of order (within [`TrackerConfig::reorder_window`]) and duplicates give the
///   same record as the ordered stream.
/// - A call ends when all its legs have hung up. Its record then says `ended` at once (in an
///   `updated` update); the `ended` update, after which the outcome never changes, follows
///   once `reorder_window` has passed. Closed calls (silence, resync) end at once.
/// - Memory is bounded: ended calls are evicted after [`TrackerConfig::ended_linger`], silent
///   calls are closed, the number of calls and each timeline are capped.
#[derive(Debug)]
pub struct Tracker {
    config: TrackerConfig,
    // Boxed: a call is about a kilobyte, and the map keeps spare slots.
    calls: HashMap<CallId, Box<Call>>,
    by_leg: HashMap<LegId, CallId>,
    by_linkedid: HashMap<String, CallId>,
    by_local: HashMap<String, CallId>,
    alias: HashMap<CallId, CallId>,
    timers: BTreeSet<(DateTime<Utc>, CallId)>,
    tombstones: Tombstones,
    /// Legs an event tied to a call before the leg itself was seen (a park retriever named by
    /// `Unparked` ahead of its own events): they join that call when they appear.
    pending_ties: HashMap<LegId, CallId>,
    live: usize,
}

fn delta(d: std::time::Duration) -> TimeDelta {
    TimeDelta::from_std(d).unwrap_or(TimeDelta::MAX)
}

/// `t + d`, saturating at the last representable time: a configured `Duration::MAX` (no
/// limit) or an event time from the far future must not panic (chrono's `+` does).
fn after(t: DateTime<Utc>, d: TimeDelta) -> DateTime<Utc> {
    t.checked_add_signed(d).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

impl Tracker {
    /// A tracker with no calls.
    pub fn new(config: TrackerConfig) -> Self {
        Self {
            config,
            calls: HashMap::new(),
            by_leg: HashMap::new(),
            by_linkedid: HashMap::new(),
            by_local: HashMap::new(),
            alias: HashMap::new(),
            timers: BTreeSet::new(),
            tombstones: Tombstones::default(),
            pending_ties: HashMap::new(),
            live: 0,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &TrackerConfig {
        &self.config
    }

    /// A call's record (also under the id of a call that was merged into it).
    pub fn call(&self, id: &CallId) -> Option<&CallRecord> {
        self.calls.get(&self.resolve(*id)).map(|c| &c.record)
    }

    /// The calls not yet ended (including those whose `ended` update is still pending).
    pub fn live_calls(&self) -> impl Iterator<Item = &CallRecord> {
        self.calls
            .values()
            .filter(|c| c.phase == Phase::Live)
            .map(|c| &c.record)
    }

    /// Every call held: live ones and ended ones not yet evicted.
    pub fn calls(&self) -> impl Iterator<Item = &CallRecord> {
        self.calls.values().map(|c| &c.record)
    }

    /// How many calls are held (live and lingering).
    pub fn len(&self) -> usize {
        self.calls.len()
    }

    /// Whether no call is held.
    pub fn is_empty(&self) -> bool {
        self.calls.is_empty()
    }

    /// How many calls are live.
    pub fn live_len(&self) -> usize {
        self.live
    }

    /// The next time [`Tracker::expire`] has something to do.
    pub fn poll_timeout(&self) -> Option<DateTime<Utc>> {
        self.timers.first().map(|(t, _)| *t)
    }

    fn resolve(&self, id: CallId) -> CallId {
        let mut id = id;
        // Aliases are one hop in practice; the bound guards against a cycle.
        for _ in 0..8 {
            match self.alias.get(&id) {
                Some(next) if *next != id => id = *next,
                _ => break,
            }
        }
        id
    }

    /// Announces a call we are about to originate, so it exists (state `created`, outbound)
    /// before any leg does, and so an originate failure without any leg lands on it.
    pub fn register_originate(
        &mut self,
        call_id: CallId,
        tenant: TenantId,
        agent_endpoint: impl Into<String>,
        customer_number: impl Into<String>,
        now: DateTime<Utc>,
    ) -> Vec<CallUpdate> {
        let mut out = Vec::new();
        let id = self.resolve(call_id);
        if !self.calls.contains_key(&id) && self.tombstones.calls.contains(&id) {
            return out;
        }
        let id = self.ensure_keyed(id, now);
        let limit = self.config.timeline_limit;
        let Some(call) = self.calls.get_mut(&id) else {
            return out;
        };
        call.meta.tenant = Some(tenant);
        call.meta.agent_endpoint = Some(agent_endpoint.into());
        call.meta.customer_number = Some(customer_number.into());
        call.meta.registered_at = Some(call.meta.registered_at.map_or(now, |r| r.min(now)));
        let entry = TimelineEntry {
            at: now,
            leg: None,
            role: None,
            event: Cow::Borrowed(NOTE_ORIGINATE),
            detail: None,
            note: None,
        };
        call.insert(entry.clone(), limit);
        if call.phase == Phase::Live {
            self.after_change(id, now, Some(entry), &mut out);
        }
        self.enforce_capacity(&mut out);
        out
    }

    /// Applies one leg event. `now` is the driver's clock (for timers); the event's own time
    /// orders it among the call's events.
    pub fn apply(&mut self, event: &LegEvent, now: DateTime<Utc>) -> Vec<CallUpdate> {
        let mut out = Vec::new();
        let Some(id) = self.route(event, now, &mut out) else {
            return out;
        };
        self.note_keys(id, event);
        self.tie_legs(id, event, now, &mut out);
        let entry = TimelineEntry {
            at: event.at,
            leg: Some(event.leg.clone()),
            role: None,
            event: Cow::Borrowed(event.kind.name()),
            detail: Some(event.kind.clone()),
            note: None,
        };
        let limit = self.config.timeline_limit;
        let Some(call) = self.calls.get_mut(&id) else {
            return out;
        };
        call.touched = now;
        if !call.insert(entry.clone(), limit) {
            self.reset_timer(id);
            return out;
        }
        if let Phase::Final { .. } = call.phase {
            // After the end: recorded, never changes the outcome.
            let mut entry = entry;
            entry.role = event_role(&call.record, &event.leg);
            if let Some(e) = call
                .record
                .timeline
                .iter_mut()
                .find(|e| e.at == entry.at && e.leg == entry.leg && e.detail == entry.detail)
            {
                e.role = entry.role;
            }
            out.push(call.emit(UpdateKind::Updated, Some(entry)));
            return out;
        }
        self.after_change(id, now, Some(entry), &mut out);
        self.enforce_capacity(&mut out);
        out
    }

    /// Merges the provider's live legs after a reconnect: calls whose legs are all gone are
    /// closed with the reason `ended while disconnected` at the last time they were heard
    /// of; live legs we did not know are added (with the state the listing shows).
    pub fn merge_snapshot(&mut self, legs: &[LegSnapshot], now: DateTime<Utc>) -> Vec<CallUpdate> {
        let mut out = Vec::new();
        let live: HashSet<&LegId> = legs.iter().map(|l| &l.leg).collect();
        let mut ids: Vec<CallId> = self
            .calls
            .iter()
            .filter(|(_, c)| c.phase == Phase::Live)
            .map(|(id, _)| *id)
            .collect();
        ids.sort_unstable();
        let limit = self.config.timeline_limit;
        for id in ids {
            let Some(call) = self.calls.get_mut(&id) else {
                continue;
            };
            let vanished: Vec<LegId> = call
                .record
                .legs
                .iter()
                .filter(|l| l.state != LegStatus::HungUp && !live.contains(&l.leg))
                .map(|l| l.leg.clone())
                .collect();
            if vanished.is_empty() {
                continue;
            }
            let at = call.record.last_event_at;
            let mut last = None;
            for leg in vanished {
                let entry = TimelineEntry {
                    at,
                    leg: Some(leg),
                    role: None,
                    event: Cow::Borrowed(NOTE_VANISHED),
                    detail: None,
                    note: Some(REASON_DISCONNECTED.to_owned()),
                };
                call.insert(entry.clone(), limit);
                last = Some(entry);
            }
            self.after_change(id, now, last, &mut out);
        }
        for snap in legs {
            match self.by_leg.get(&snap.leg).copied() {
                Some(id) => {
                    let Some(call) = self.calls.get(&id) else {
                        continue;
                    };
                    let state = call.record.leg(&snap.leg).map(|l| l.state);
                    let bridged = call.record.bridged;
                    if snap.state == LegState::Up
                        && state.is_some_and(|s| !matches!(s, LegStatus::Up | LegStatus::HungUp))
                    {
                        self.synth(snap, LegEventKind::Answered, now, now, &mut out);
                    }
                    if let (Some(bridge), false) = (&snap.bridge, bridged) {
                        let kind = LegEventKind::Bridged {
                            bridge: bridge.clone(),
                            with: None,
                        };
                        self.synth(snap, kind, now, now, &mut out);
                    }
                }
                None => {
                    let created = LegEventKind::Created {
                        role: None,
                        endpoint: None,
                        caller_number: None,
                        called_number: None,
                    };
                    let at = snap.created_at.unwrap_or(now);
                    self.synth(snap, created, at, now, &mut out);
                    match snap.state {
                        LegState::Ringing => {
                            self.synth(snap, LegEventKind::Ringing, now, now, &mut out)
                        }
                        LegState::Up => {
                            self.synth(snap, LegEventKind::Answered, now, now, &mut out)
                        }
                        _ => {}
                    }
                    if let Some(bridge) = &snap.bridge {
                        let kind = LegEventKind::Bridged {
                            bridge: bridge.clone(),
                            with: None,
                        };
                        self.synth(snap, kind, now, now, &mut out);
                    }
                }
            }
        }
        out
    }

    /// Applies an event made up from a snapshot entry.
    fn synth(
        &mut self,
        snap: &LegSnapshot,
        kind: LegEventKind,
        at: DateTime<Utc>,
        now: DateTime<Utc>,
        out: &mut Vec<CallUpdate>,
    ) {
        let ev = LegEvent {
            leg: snap.leg.clone(),
            at,
            keys: snap.keys.clone(),
            kind,
        };
        out.extend(self.apply(&ev, now));
    }

    /// Runs the timers due by `now`: announces orphan calls, emits `ended` for calls whose
    /// reorder window passed, closes calls silent past [`TrackerConfig::max_silence`], and
    /// evicts ended calls after [`TrackerConfig::ended_linger`].
    pub fn expire(&mut self, now: DateTime<Utc>) -> Vec<CallUpdate> {
        let mut out = Vec::new();
        while let Some(&(at, id)) = self.timers.first() {
            if at > now {
                break;
            }
            self.timers.pop_first();
            let Some(call) = self.calls.get_mut(&id) else {
                continue;
            };
            call.deadline = None;
            match call.phase {
                Phase::Final { evict_at } => {
                    if now >= evict_at {
                        self.evict(id);
                    } else {
                        self.reset_timer(id);
                    }
                }
                Phase::Live => {
                    let silent = now >= after(call.touched, delta(self.config.max_silence))
                        && call.record.state != CallState::Ended;
                    if silent {
                        self.close(id, REASON_SILENT, now, &mut out);
                    } else {
                        self.after_change(id, now, None, &mut out);
                    }
                }
            }
        }
        out
    }

    /// Closes a live call now, with a reason, at its last known time.
    fn close(&mut self, id: CallId, reason: &str, now: DateTime<Utc>, out: &mut Vec<CallUpdate>) {
        let limit = self.config.timeline_limit;
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        let entry = TimelineEntry {
            at: call.record.last_event_at,
            leg: None,
            role: None,
            event: Cow::Borrowed(NOTE_CLOSED),
            detail: None,
            note: Some(reason.to_owned()),
        };
        call.insert(entry.clone(), limit);
        self.after_change(id, now, Some(entry), out);
    }

    /// Refolds a call after a change and emits what its new state calls for.
    fn after_change(
        &mut self,
        id: CallId,
        now: DateTime<Utc>,
        event: Option<TimelineEntry>,
        out: &mut Vec<CallUpdate>,
    ) {
        let window = delta(self.config.reorder_window);
        let grace = delta(self.config.orphan_grace);
        let linger = delta(self.config.ended_linger);
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        if call.phase != Phase::Live {
            return;
        }
        call.refold();
        let ended = call.record.state == CallState::Ended;
        let mut announced = false;
        if !call.confirmed {
            let parties = call
                .record
                .legs
                .iter()
                .filter(|l| l.role != LegRole::Local)
                .count();
            let confirm =
                !call.meta.derived || ended || parties >= 2 || now >= after(call.first_seen, grace);
            if !confirm {
                self.reset_timer(id);
                return;
            }
            call.confirmed = true;
            announced = true;
            out.push(call.emit(UpdateKind::Created, event.clone()));
        }
        if !ended {
            call.ending_since = None;
        } else if call.ending_since.is_none() {
            call.ending_since = Some(now);
        }
        let final_now = ended
            && (call.record.end_reason.is_some()
                || call
                    .ending_since
                    .is_none_or(|since| now >= after(since, window)));
        if final_now {
            call.phase = Phase::Final {
                evict_at: after(now, linger),
            };
            self.live = self.live.saturating_sub(1);
            out.push(call.emit(UpdateKind::Ended, if announced { None } else { event }));
        } else if !announced && event.is_some() {
            out.push(call.emit(UpdateKind::Updated, event));
        }
        self.reset_timer(id);
    }

    fn reset_timer(&mut self, id: CallId) {
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        if let Some(old) = call.deadline.take() {
            self.timers.remove(&(old, id));
        }
        let next = match call.phase {
            Phase::Final { evict_at } => Some(evict_at),
            // An ending call waits only for its reorder window (never re-armed in the past).
            Phase::Live => match call.ending_since {
                Some(since) => Some(after(since, delta(self.config.reorder_window))),
                None => {
                    let mut next = after(call.touched, delta(self.config.max_silence));
                    if !call.confirmed {
                        next = next.min(after(call.first_seen, delta(self.config.orphan_grace)));
                    }
                    Some(next)
                }
            },
        };
        call.deadline = next;
        if let Some(t) = next {
            self.timers.insert((t, id));
        }
    }

    fn evict(&mut self, id: CallId) {
        let Some(call) = self.calls.remove(&id) else {
            return;
        };
        if let Some(t) = call.deadline {
            self.timers.remove(&(t, id));
        }
        if call.phase == Phase::Live {
            self.live = self.live.saturating_sub(1);
        }
        if !self.pending_ties.is_empty() {
            self.pending_ties.retain(|_, c| *c != id);
        }
        let cap = self.config.tombstones;
        for info in &call.legs {
            if self.by_leg.get(&info.leg) == Some(&id) {
                self.by_leg.remove(&info.leg);
            }
            self.tombstones.add(Tomb::Leg(info.leg.clone()), cap);
        }
        for l in &call.linkedids {
            if self.by_linkedid.get(l) == Some(&id) {
                self.by_linkedid.remove(l);
            }
            self.tombstones.add(Tomb::Linkedid(l.clone()), cap);
        }
        for l in &call.locals {
            if self.by_local.get(l) == Some(&id) {
                self.by_local.remove(l);
            }
        }
        for a in &call.aliases {
            self.alias.remove(a);
            self.tombstones.add(Tomb::Call(*a), cap);
        }
        self.tombstones.add(Tomb::Call(id), cap);
    }

    fn enforce_capacity(&mut self, out: &mut Vec<CallUpdate>) {
        while self.live > self.config.max_calls {
            let victim = self
                .calls
                .iter()
                .filter(|(_, c)| c.phase == Phase::Live)
                .min_by_key(|(id, c)| (c.touched, **id))
                .map(|(id, c)| (*id, c.touched));
            let Some((id, touched)) = victim else { break };
            self.close(id, REASON_FULL, touched, out);
        }
    }

    fn new_call(&mut self, meta: CallMeta, now: DateTime<Utc>) -> CallId {
        let id = meta.call_id;
        self.calls.insert(id, Box::new(Call::new(meta, now)));
        self.live += 1;
        id
    }

    fn ensure_keyed(&mut self, id: CallId, now: DateTime<Utc>) -> CallId {
        if self.calls.contains_key(&id) {
            return id;
        }
        let meta = CallMeta {
            call_id: id,
            derived: false,
            tenant: None,
            direction: Direction::Outbound,
            registered_at: None,
            agent_endpoint: None,
            customer_number: None,
            linkedid: None,
        };
        self.new_call(meta, now)
    }

    fn ensure_derived(&mut self, key: &str, now: DateTime<Utc>) -> CallId {
        let id = derived_call_id(key);
        if self.calls.contains_key(&id) {
            return id;
        }
        let meta = CallMeta {
            call_id: id,
            derived: true,
            tenant: None,
            direction: Direction::Inbound,
            registered_at: None,
            agent_endpoint: None,
            customer_number: None,
            linkedid: None,
        };
        self.new_call(meta, now)
    }

    /// Finds (or starts) the call an event belongs to; moves legs between calls when the
    /// event shows they moved. `None`: the event is for an evicted call, or cannot be placed.
    fn route(
        &mut self,
        ev: &LegEvent,
        now: DateTime<Utc>,
        out: &mut Vec<CallUpdate>,
    ) -> Option<CallId> {
        if let Some(&current) = self.by_leg.get(&ev.leg) {
            let mut id = current;
            if let Some(l) = &ev.keys.linkedid {
                let known = self
                    .calls
                    .get(&id)
                    .and_then(|c| c.legs.iter().find(|i| i.leg == ev.leg))
                    .and_then(|i| i.linkedid.as_deref());
                if known.is_some_and(|k| k != l)
                    && let Some(&other) = self.by_linkedid.get(l)
                    && other != id
                    && self.calls.contains_key(&other)
                {
                    self.move_leg(&ev.leg, id, other, now, out);
                    id = other;
                }
            }
            if let Some(key) = ev.keys.call_id {
                let key = self.resolve(key);
                let derived = self.calls.get(&id).is_some_and(|c| c.meta.derived);
                if key != id && derived && !self.tombstones.calls.contains(&key) {
                    let target = self.ensure_keyed(key, now);
                    self.absorb(id, target, now, out);
                    id = target;
                } else if key != id
                    && self
                        .calls
                        .get(&key)
                        .is_some_and(|c| c.legs.is_empty() && c.phase == Phase::Live)
                {
                    // The leg of a call we registered already joined another call (a park
                    // pickup tied in before its call id was seen): the empty call goes there.
                    self.retire(key, id, now, out);
                }
            }
            return Some(id);
        }
        if self.tombstones.legs.contains(&ev.leg) {
            return None;
        }
        if let Some(tied) = self.pending_ties.remove(&ev.leg) {
            let tied = self.resolve(tied);
            if self.calls.contains_key(&tied) {
                if let Some(key) = ev.keys.call_id {
                    let key = self.resolve(key);
                    if key != tied
                        && self
                            .calls
                            .get(&key)
                            .is_some_and(|c| c.legs.is_empty() && c.phase == Phase::Live)
                    {
                        self.retire(key, tied, now, out);
                    }
                }
                return Some(tied);
            }
        }
        if let Some(key) = ev.keys.call_id {
            let key = self.resolve(key);
            if !self.calls.contains_key(&key) && self.tombstones.calls.contains(&key) {
                return None;
            }
            let id = self.ensure_keyed(key, now);
            // Legs seen before this one under the same linkedid (without our call id, so
            // grouped on their own) belong to this call.
            if let Some(l) = &ev.keys.linkedid
                && let Some(&other) = self.by_linkedid.get(l)
            {
                let derived = self.calls.get(&other).is_some_and(|c| c.meta.derived);
                if other != id && derived {
                    self.absorb(other, id, now, out);
                }
            }
            return Some(id);
        }
        if matches!(ev.kind, LegEventKind::OriginateResult { .. }) {
            // Call-level, and without our call id there is no call to put it on.
            return None;
        }
        if let Some(l) = &ev.keys.linkedid {
            if let Some(&id) = self.by_linkedid.get(l) {
                return Some(id);
            }
            if self.tombstones.linkedids.contains(l) {
                return None;
            }
        }
        if let Some(pair) = &ev.keys.local_pair
            && let Some(&id) = self.by_local.get(pair)
        {
            return Some(id);
        }
        if let Some(peer) = &ev.keys.peer
            && let Some(&id) = self.by_leg.get(peer)
        {
            return Some(id);
        }
        for tied in tied_legs(&ev.kind) {
            if let Some(&id) = self.by_leg.get(tied) {
                return Some(id);
            }
        }
        let key = ev
            .keys
            .linkedid
            .clone()
            .unwrap_or_else(|| ev.leg.to_string());
        Some(self.ensure_derived(&key, now))
    }

    /// Records the leg's channel and linkedid, and indexes them.
    fn note_keys(&mut self, id: CallId, ev: &LegEvent) {
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        if matches!(ev.kind, LegEventKind::OriginateResult { .. }) && !call.has_leg(&ev.leg) {
            // A failed originate names a dial string, not a leg.
            return;
        }
        let pos = match call.legs.iter().position(|l| l.leg == ev.leg) {
            Some(p) => p,
            None => {
                call.legs.reserve_exact(1);
                call.legs.push(LegInfo {
                    leg: ev.leg.clone(),
                    carries_id: false,
                    channel: None,
                    linkedid: None,
                    local_pair: None,
                });
                self.by_leg.insert(ev.leg.clone(), id);
                call.legs.len() - 1
            }
        };
        let info = &mut call.legs[pos];
        if ev.keys.call_id.is_some() {
            info.carries_id = true;
        }
        if info.channel.is_none()
            && let Some(ch) = &ev.keys.channel
        {
            info.channel = Some(ch.clone());
        }
        if info.local_pair.is_none()
            && let Some(pair) = &ev.keys.local_pair
        {
            info.local_pair = Some(pair.clone());
            if !call.locals.iter().any(|p| p == pair) {
                call.locals.push(pair.clone());
            }
            self.by_local.entry(pair.clone()).or_insert(id);
        }
        if let Some(l) = &ev.keys.linkedid {
            if info.linkedid.as_ref() != Some(l) {
                info.linkedid = Some(l.clone());
            }
            if call.meta.linkedid.is_none() {
                call.meta.linkedid = Some(l.clone());
            }
            if !call.linkedids.iter().any(|x| x == l) {
                call.linkedids.reserve_exact(1);
                call.linkedids.push(l.clone());
            }
            self.by_linkedid.entry(l.clone()).or_insert(id);
        }
    }

    /// Pulls in the legs an event ties to this call (a park retriever; a dial target or
    /// caller still sitting in an unannounced call of its own).
    fn tie_legs(
        &mut self,
        id: CallId,
        ev: &LegEvent,
        now: DateTime<Utc>,
        out: &mut Vec<CallUpdate>,
    ) {
        let forced = match &ev.kind {
            LegEventKind::Unparked { by: Some(by), .. } => Some(by),
            _ => None,
        };
        for tied in tied_legs(&ev.kind) {
            let Some(&other) = self.by_leg.get(tied) else {
                if Some(tied) == forced && self.pending_ties.len() < self.config.max_calls {
                    self.pending_ties.insert(tied.clone(), id);
                }
                continue;
            };
            if other == id {
                continue;
            }
            let movable = Some(tied) == forced
                || self
                    .calls
                    .get(&other)
                    .is_some_and(|c| c.meta.derived && !c.confirmed);
            if movable {
                self.move_leg(tied, other, id, now, out);
            }
        }
    }

    /// Moves one leg (its events too) from one call to another.
    fn move_leg(
        &mut self,
        leg: &LegId,
        from: CallId,
        to: CallId,
        now: DateTime<Utc>,
        out: &mut Vec<CallUpdate>,
    ) {
        if from == to || !self.calls.contains_key(&to) {
            return;
        }
        let Some(src) = self.calls.get_mut(&from) else {
            return;
        };
        let Some(pos) = src.legs.iter().position(|l| &l.leg == leg) else {
            return;
        };
        let info = src.legs.remove(pos);
        let mut moved = Vec::new();
        src.record.timeline.retain(|e| {
            if e.leg.as_ref() == Some(leg) {
                moved.push(e.clone());
                false
            } else {
                true
            }
        });
        let empty = src.legs.is_empty();
        self.by_leg.insert(leg.clone(), to);
        let limit = self.config.timeline_limit;
        if let Some(dst) = self.calls.get_mut(&to) {
            dst.legs.push(info);
            for e in moved {
                dst.insert(e, limit);
            }
        }
        if empty {
            self.retire(from, to, now, out);
        } else {
            self.after_change(from, now, None, out);
        }
    }

    /// Merges a whole call into another (a leg-less call, or an unannounced one whose legs
    /// turned out to carry a call id).
    fn absorb(&mut self, from: CallId, to: CallId, now: DateTime<Utc>, out: &mut Vec<CallUpdate>) {
        if from == to {
            return;
        }
        let legs: Vec<LegId> = self
            .calls
            .get(&from)
            .map(|c| c.legs.iter().map(|l| l.leg.clone()).collect())
            .unwrap_or_default();
        if legs.is_empty() {
            self.retire(from, to, now, out);
        }
        for leg in legs {
            self.move_leg(&leg, from, to, now, out);
        }
    }

    /// Removes a call whose legs all moved to `to`; its keys now lead there.
    fn retire(&mut self, from: CallId, to: CallId, now: DateTime<Utc>, out: &mut Vec<CallUpdate>) {
        let Some(mut call) = self.calls.remove(&from) else {
            return;
        };
        if let Some(t) = call.deadline.take() {
            self.timers.remove(&(t, from));
        }
        if call.phase == Phase::Live {
            self.live = self.live.saturating_sub(1);
            if call.confirmed {
                // It was announced: tell its listeners where it went.
                let rec = &mut call.record;
                rec.state = CallState::Ended;
                rec.disposition = Some(if rec.agent_answered {
                    Disposition::Answered
                } else {
                    Disposition::Cancelled
                });
                rec.end_reason = Some(format!("merged into call {to}"));
                rec.ended_at = Some(rec.last_event_at);
                let entry = TimelineEntry {
                    at: rec.last_event_at,
                    leg: None,
                    role: None,
                    event: Cow::Borrowed(NOTE_MERGED),
                    detail: None,
                    note: rec.end_reason.clone(),
                };
                rec.timeline.push(entry.clone());
                out.push(call.emit(UpdateKind::Ended, Some(entry)));
            }
        }
        let _ = now;
        for l in &call.linkedids {
            if self.by_linkedid.get(l) == Some(&from) {
                self.by_linkedid.insert(l.clone(), to);
            }
        }
        for l in &call.locals {
            if self.by_local.get(l) == Some(&from) {
                self.by_local.insert(l.clone(), to);
            }
        }
        for info in &call.legs {
            self.by_leg.insert(info.leg.clone(), to);
        }
        self.alias.insert(from, to);
        if let Some(dst) = self.calls.get_mut(&to) {
            dst.aliases.push(from);
            dst.aliases.append(&mut call.aliases);
            for l in call.linkedids {
                if !dst.linkedids.contains(&l) {
                    dst.linkedids.push(l);
                }
            }
            for l in call.locals {
                if !dst.locals.contains(&l) {
                    dst.locals.push(l);
                }
            }
            if dst.meta.tenant.is_none() {
                dst.meta.tenant = call.meta.tenant;
            }
        }
    }
}

fn event_role(rec: &CallRecord, leg: &LegId) -> Option<LegRole> {
    rec.leg(leg).map(|l| l.role)
}

/// Legs an event names besides its own.
fn tied_legs(kind: &LegEventKind) -> impl Iterator<Item = &LegId> {
    let (a, b) = match kind {
        LegEventKind::Unparked { by, .. } => (by.as_ref(), None),
        LegEventKind::Dialing { target, .. } => (target.as_ref(), None),
        LegEventKind::DialResult { caller, .. } => (caller.as_ref(), None),
        LegEventKind::Transferred { target, .. } => (target.as_ref(), None),
        LegEventKind::Bridged { with, .. } => (None, with.as_ref()),
        _ => (None, None),
    };
    a.into_iter().chain(b)
}
