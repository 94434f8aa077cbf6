//! Reconcile: the calls the store holds open that this pipeline's tracker never saw (the
//! listener was killed or restarted, an api-server placed a call whose events nobody read, a
//! client went away between the insert and the Originate) are handed to the tracker as
//! neutral events of what the store knows, and then the PBX's live legs are merged: the
//! tracker closes every call whose legs are gone as `ended while disconnected`, and a leg
//! still live stays with the call it belongs to (never a new inbound call).
//!
//! It runs when a source's task starts and before every `Resynced` merge. When the PBX
//! cannot be listed (down at start), the calls are adopted and the next resync closes them.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use hookflash_calls::{CallUpdate, Tracker};
use hookflash_provider::{CallId, Correlation, LegEvent, LegEventKind, LegId, LegRole, TenantId};
use hookflash_store::{LegRow, OpenCall};

/// Most open calls adopted per reconcile (oldest first); the rest wait for the next one.
pub(super) const MAX_ADOPTED: i64 = 100_000;

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
