//! Merging the provider's live legs after a reconnect.

use std::borrow::Cow;
use std::collections::HashSet;

use chrono::{DateTime, Utc};
use hookflash_provider::{CallId, LegEvent, LegEventKind, LegId, LegSnapshot, LegState};

use crate::fold::{NOTE_VANISHED, REASON_DISCONNECTED};
use crate::record::{CallUpdate, LegStatus, TimelineEntry};

use super::{Phase, Tracker};

impl Tracker {
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
            // Plumbing legs too: a call held up by a vanished plumbing half must end.
            let vanished: Vec<LegId> = call
                .leg_states
                .iter()
                .filter(|(leg, _, state)| *state != LegStatus::HungUp && !live.contains(leg))
                .map(|(leg, ..)| leg.clone())
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

    /// Closes a live call that has no live leg (none was ever seen, or all hung up) as
    /// `ended while disconnected`, at the last time it was heard of. Reconcile's verdict on
    /// a call the store held open whose legs the PBX no longer shows and nobody saw (the
    /// pipeline or the link was down for its whole life): without this nothing would ever
    /// close it. A call with a live leg, or already final, is left as it is.
    pub fn close_disconnected(&mut self, id: &CallId, now: DateTime<Utc>) -> Vec<CallUpdate> {
        let mut out = Vec::new();
        let id = self.resolve(*id);
        let Some(call) = self.calls.get(&id) else {
            return out;
        };
        let live_leg = call
            .record
            .legs
            .iter()
            .any(|l| l.state != LegStatus::HungUp);
        if call.phase != Phase::Live || live_leg {
            return out;
        }
        self.close(id, REASON_DISCONNECTED, now, &mut out);
        out
    }

    /// Applies an event made up from a snapshot entry.
    pub(super) fn synth(
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
}

#[cfg(test)]
mod tests {
    use chrono::{TimeDelta, Utc};
    use hookflash_provider::{CallId, Correlation, LegEvent, LegEventKind, LegId, TenantId};

    use crate::record::{CallState, UpdateKind};
    use crate::{Tracker, TrackerConfig};

    #[test]
    fn a_call_nobody_saw_a_leg_of_is_closed_as_ended_while_disconnected() {
        let mut t = Tracker::new(TrackerConfig::default());
        let now = Utc::now();
        let id = CallId::new_random();
        t.register_originate(id, TenantId::new_random(), "PJSIP/a", "+12025550143", now);
        let later = now + TimeDelta::seconds(30);
        let out = t.close_disconnected(&id, later);
        assert!(out.iter().any(|u| u.call_id == id), "{out:?}");
        let mut all = out;
        all.extend(t.expire(later + TimeDelta::seconds(60)));
        let ended = all.iter().rev().find(|u| u.call_id == id).unwrap();
        assert_eq!(ended.record.state, CallState::Ended);
        assert!(all.iter().any(|u| u.kind == UpdateKind::Ended));
        assert_eq!(
            ended.record.end_reason.as_deref(),
            Some("ended while disconnected")
        );
        // Already final: nothing more.
        assert!(t.close_disconnected(&id, later).is_empty());
    }

    #[test]
    fn a_call_with_a_live_leg_is_left_open() {
        let mut t = Tracker::new(TrackerConfig::default());
        let now = Utc::now();
        let id = CallId::new_random();
        t.register_originate(id, TenantId::new_random(), "PJSIP/a", "+12025550143", now);
        let mut e = LegEvent::new(
            LegId::new("1.1".to_owned()).unwrap(),
            now,
            LegEventKind::Created {
                role: None,
                endpoint: None,
                caller_number: None,
                called_number: None,
            },
        );
        e.keys = Correlation {
            call_id: Some(id),
            ..Correlation::default()
        };
        t.apply(&e, now);
        assert!(t.close_disconnected(&id, now).is_empty());
        assert_ne!(t.call(&id).unwrap().state, CallState::Ended);
    }
}
