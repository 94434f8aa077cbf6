//! Timers and bounds: the `ended` update after the reorder window, orphan announcement,
//! silence, eviction, capacity.

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use hookflash_provider::{CallId, LegRole};

use crate::fold::{NOTE_CLOSED, REASON_FULL, REASON_SILENT};
use crate::record::{CallState, CallUpdate, TimelineEntry, UpdateKind};

use super::tombstones::Tomb;
use super::{Phase, Tracker, after, delta};

impl Tracker {
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
    pub(super) fn close(
        &mut self,
        id: CallId,
        reason: &str,
        now: DateTime<Utc>,
        out: &mut Vec<CallUpdate>,
    ) {
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
    pub(super) fn after_change(
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

    pub(super) fn reset_timer(&mut self, id: CallId) {
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

    pub(super) fn evict(&mut self, id: CallId) {
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

    pub(super) fn enforce_capacity(&mut self, out: &mut Vec<CallUpdate>) {
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
}
