//! Which call a leg event belongs to: call ids, linkedids, plumbing pairs, peers and the legs
//! an event names; moving legs and merging calls when the events show they belong together.

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use hookflash_provider::{CallId, LegEvent, LegEventKind, LegId};

use crate::fold::{LegInfo, NOTE_MERGED};
use crate::record::{CallState, CallUpdate, Disposition, TimelineEntry, UpdateKind};

use super::{Phase, Tracker};

impl Tracker {
    /// Finds (or starts) the call an event belongs to; moves legs between calls when the
    /// event shows they moved. `None`: the event is for an evicted call, or cannot be placed.
    pub(super) fn route(
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
    pub(super) fn note_keys(&mut self, id: CallId, ev: &LegEvent) {
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
    pub(super) fn tie_legs(
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
    pub(super) fn move_leg(
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
        src.entries.retain(|e| {
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
    pub(super) fn absorb(
        &mut self,
        from: CallId,
        to: CallId,
        now: DateTime<Utc>,
        out: &mut Vec<CallUpdate>,
    ) {
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
    pub(super) fn retire(
        &mut self,
        from: CallId,
        to: CallId,
        now: DateTime<Utc>,
        out: &mut Vec<CallUpdate>,
    ) {
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
