//! Reconcile: the calls the store holds open that this pipeline's tracker never saw (the
//! listener was killed or restarted, an api-server placed a call whose events nobody read, a
//! client went away between the insert and the Originate) are handed to the tracker as
//! neutral events of what the store knows, and then the PBX's live legs are merged: the
//! tracker closes every call whose legs are gone as `ended while disconnected`, and a leg
//! still live stays with the call it belongs to (never a new inbound call).
//!
//! It runs when a source's task starts and before every `Resynced` merge. When the PBX
//! cannot be listed (down at start), the calls are adopted and the next resync closes them.
//!
//! A call the store holds open that has no leg at all (the API wrote it, and its whole life,
//! or its Originate's failure, went by while nobody listened) is closed the same way when,
//! [`LEGLESS_GRACE`] after the PBX's live legs were merged, it still has none: a live channel
//! of it would have been listed (with its call id) or seen since, and an Originate the PBX
//! accepted shows its first channel well within that. A call younger than the grace then is
//! looked at again once it is past it.

use std::collections::HashMap;

use chrono::{DateTime, TimeDelta, Utc};
use hookflash_calls::{CallUpdate, Tracker};
use hookflash_provider::{CallId, Correlation, LegEvent, LegEventKind, LegId, LegRole, TenantId};
use hookflash_store::{LegRow, OpenCall};

/// Most open calls adopted per reconcile (oldest first); the rest wait for the next one.
pub(super) const MAX_ADOPTED: i64 = 100_000;

/// How long a call may have no leg at all before reconcile takes the PBX's word that it is
/// not there (see the module docs).
pub(super) const LEGLESS_GRACE: TimeDelta = TimeDelta::seconds(10);

/// When to look at the calls with no leg after a merge at `now`, if there are any.
pub(super) fn legless_recheck(tracker: &Tracker, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    tracker
        .live_calls()
        .any(|c| c.legs.is_empty())
        .then(|| now.checked_add_signed(LEGLESS_GRACE).unwrap_or(now))
}

/// Closes the tracker's live calls that have no leg and were created more than
/// [`LEGLESS_GRACE`] before `now` as `ended while disconnected`
/// ([`Tracker::close_disconnected`]). Call it only while the link is up, a grace after a
/// merge. Returns the updates and when the youngest legless call left will be
/// past the grace, if any.
pub(super) fn close_legless(
    tracker: &mut Tracker,
    now: DateTime<Utc>,
) -> (Vec<CallUpdate>, Option<DateTime<Utc>>) {
    let before = now.checked_sub_signed(LEGLESS_GRACE).unwrap_or(now);
    let mut due = Vec::new();
    let mut next: Option<DateTime<Utc>> = None;
    for call in tracker.live_calls().filter(|c| c.legs.is_empty()) {
        if call.created_at <= before {
            due.push(call.call_id);
        } else {
            let at = call
                .created_at
                .checked_add_signed(LEGLESS_GRACE)
                .unwrap_or(call.created_at);
            next = Some(next.map_or(at, |n| n.min(at)));
        }
    }
    let mut out = Vec::new();
    for id in due {
        out.extend(tracker.close_disconnected(&id, now));
    }
    (out, next)
}

/// Hands the stored open calls the tracker does not know to it. Returns the tracker's
/// updates and, per adopted call, the stored row's version: the tracker counts its own
/// versions from zero, so the writer adds this base (a stored snapshot is never overwritten
/// by an older version).
pub(super) fn adopt(
    tracker: &mut Tracker,
    open: &[OpenCall],
    now: DateTime<Utc>,
) -> (Vec<CallUpdate>, HashMap<CallId, i64>) {
    let mut out = Vec::new();
    let mut bases = HashMap::new();
    for oc in open {
        let row = &oc.call;
        let id = CallId::from_uuid(row.id);
        if tracker.call(&id).is_some() {
            continue;
        }
        let inbound = row.direction == "inbound";
        if inbound && row.linkedid.is_none() {
            // No key the PBX's legs could be matched on: left for the silence timer of a
            // later sighting, never guessed.
            continue;
        }
        bases.insert(id, row.version.saturating_add(1));
        let endpoint = row
            .metadata
            .get("agent_endpoint")
            .and_then(|v| v.as_str())
            .map(str::to_owned);
        if !inbound && let (Some(endpoint), Some(to)) = (endpoint, row.to_number.clone()) {
            let tenant = TenantId::from_uuid(row.tenant_id);
            out.extend(tracker.register_originate(id, tenant, endpoint, to, row.created_at));
        }
        let keys = Correlation {
            // Inbound ids are derived from the linkedid by the tracker itself.
            call_id: (!inbound).then_some(id),
            linkedid: row.linkedid.clone(),
            ..Correlation::default()
        };
        let live: Vec<&LegRow> = oc
            .legs
            .iter()
            .filter(|l| l.ended_at.is_none() && l.state != "hung_up")
            .collect();
        for leg in &live {
            let Ok(leg_id) = LegId::new(leg.leg_id.clone()) else {
                continue;
            };
            let mut keys = keys.clone();
            keys.channel = leg.channel.clone();
            let role =
                serde_json::from_value::<LegRole>(serde_json::Value::String(leg.role.clone())).ok();
            let created = LegEventKind::Created {
                role,
                endpoint: None,
                caller_number: None,
                called_number: leg.number.clone(),
            };
            let mut events = vec![event(&leg_id, &keys, leg.created_at, created)];
            if leg.state == "ringing" {
                events.push(event(&leg_id, &keys, leg.created_at, LegEventKind::Ringing));
            }
            if let Some(at) = leg.answered_at {
                events.push(event(&leg_id, &keys, at, LegEventKind::Answered));
            }
            if let (Some(bridge), Some(at)) = (&row.bridge_id, row.answered_at) {
                let kind = LegEventKind::Bridged {
                    bridge: bridge.clone(),
                    with: None,
                };
                events.push(event(&leg_id, &keys, at, kind));
            }
            for e in &events {
                out.extend(tracker.apply(e, now));
            }
        }
    }
    (out, bases)
}

fn event(leg: &LegId, keys: &Correlation, at: DateTime<Utc>, kind: LegEventKind) -> LegEvent {
    let mut e = LegEvent::new(leg.clone(), at, kind);
    e.keys = keys.clone();
    e
}

#[cfg(test)]
mod tests {
    use hookflash_calls::{CallState, TrackerConfig};

    use super::*;

    #[test]
    fn calls_with_no_leg_are_closed_past_the_grace_and_younger_ones_looked_at_later() {
        let mut t = Tracker::new(TrackerConfig::default());
        let tenant = TenantId::new_random();
        let now = Utc::now();
        let (old, young) = (CallId::new_random(), CallId::new_random());
        let young_at = now - TimeDelta::seconds(2);
        t.register_originate(
            old,
            tenant,
            "PJSIP/a",
            "+12025550143",
            now - TimeDelta::seconds(60),
        );
        t.register_originate(young, tenant, "PJSIP/a", "+12025550143", young_at);
        assert_eq!(legless_recheck(&t, now), Some(now + LEGLESS_GRACE));

        let (out, next) = close_legless(&mut t, now);
        assert!(out.iter().any(|u| u.call_id == old), "{out:?}");
        let closed = t.call(&old).unwrap();
        assert_eq!(closed.state, CallState::Ended);
        assert_eq!(
            closed.end_reason.as_deref(),
            Some("ended while disconnected")
        );
        // The young one keeps its grace: its first channel may be on the way.
        assert_ne!(t.call(&young).unwrap().state, CallState::Ended);
        assert_eq!(next, Some(young_at + LEGLESS_GRACE));
    }

    #[test]
    fn no_call_without_a_leg_means_nothing_to_look_at() {
        let t = Tracker::new(TrackerConfig::default());
        assert_eq!(legless_recheck(&t, Utc::now()), None);
    }
}
