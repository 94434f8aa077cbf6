use hookflash_calls::{CallRecord, CallUpdate, LegRecord, TimelineEntry, UpdateKind};
use hookflash_provider::TenantId;
use serde::Serialize;
use serde_json::{Value, json};

use crate::call_write::CallWrite;
use crate::calls::{CallRow, EventRow, LegRow};
use crate::error::StoreError;

/// Timeline entries written with an ordinary update: the newest few, so an update that added
/// more than one entry loses none (the rest are already stored; repeats are ignored).
const RECENT_ENTRIES: usize = 8;

/// A serde enum's snake_case name.
fn text<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}

fn int(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn leg_row(record: &CallRecord, tenant: TenantId, leg: &LegRecord) -> LegRow {
    LegRow {
        call_id: *record.call_id.as_uuid(),
        leg_id: leg.leg.as_str().to_owned(),
        tenant_id: *tenant.as_uuid(),
        role: text(&leg.role),
        channel: leg.channel.clone(),
        number: leg.number.clone(),
        state: text(&leg.state),
        created_at: leg.created_at,
        answered_at: leg.answered_at,
        ended_at: leg.ended_at,
        hangup_cause_code: leg.cause.as_ref().map(|c| i64::from(c.code)),
        hangup_cause_text: leg.cause.as_ref().map(|c| c.text.clone()),
    }
}

fn event_row(record: &CallRecord, tenant: TenantId, index: usize, e: &TimelineEntry) -> EventRow {
    // The timeline only grows at its end and drops at its start, so dropped + position is a
    // stable sequence number for an entry across snapshots.
    let seq = int(u64::from(record.timeline_dropped)).saturating_add(int(index as u64) + 1);
    EventRow {
        call_id: *record.call_id.as_uuid(),
        seq,
        tenant_id: *tenant.as_uuid(),
        at: e.at,
        kind: e.event.to_string(),
        leg_id: e.leg.as_ref().map(|l| l.as_str().to_owned()),
        payload: json!({
            "role": e.role.as_ref().map(text),
            "detail": e.detail,
            "note": e.note,
        }),
    }
}

fn call_row(record: &CallRecord, tenant: TenantId, provider: &str) -> CallRow {
    let mut row = CallRow::new(
        record.call_id,
        tenant,
        &text(&record.direction),
        provider,
        &text(&record.state),
        record.created_at,
    );
    row.version = int(record.seq);
    row.disposition = record.disposition.map(|d| d.as_str().to_owned());
    row.from_number = record.from.clone();
    row.to_number = record.to.clone();
    row.agent_leg_id = record.agent_leg.as_ref().map(|l| l.as_str().to_owned());
    row.customer_leg_id = record.customer_leg.as_ref().map(|l| l.as_str().to_owned());
    row.agent_channel = record.agent_channel.clone();
    row.customer_channel = record.customer_channel.clone();
    row.bridge_id = record.bridge_id.clone();
    row.linkedid = record.linkedid.clone();
    row.agent_answered_at = record.agent_answered_at;
    row.customer_ringing_at = record.customer_ringing_at;
    row.answered_at = record.answered_at;
    row.ended_at = record.ended_at;
    row.ring_seconds = Some(int(record.ring_secs));
    row.talk_seconds = Some(int(record.talk_secs));
    row.total_seconds = Some(int(record.duration_secs));
    row.hold_count = i64::from(record.hold_count);
    row.hold_seconds = int(record.hold_secs);
    row.is_on_hold = record.is_on_hold;
    row.is_muted = record.is_muted;
    row.hangup_cause_code = record.hangup_cause.as_ref().map(|c| i64::from(c.code));
    row.hangup_cause_text = record.hangup_cause.as_ref().map(|c| c.text.clone());
    row.hung_up_by = record.hung_up_by.map(|p| p.as_str().to_owned());
    row.recording_path = record.recordings.last().map(|r| r.name.clone());
    row.metadata = json!({
        "derived_id": record.derived_id,
        "end_reason": record.end_reason,
        "agent_endpoint": record.agent_endpoint,
        "agent_answered": record.agent_answered,
        "customer_dialed": record.customer_dialed,
        "bridged": record.bridged,
        "held_leg": record.held_leg.map(|p| p.as_str()),
        "mute": record.mute,
        "recordings": record.recordings,
        "transfers": record.transfers,
        "park": record.park,
        "dtmf_received": record.dtmf_received,
        "dtmf_sent": record.dtmf_sent,
        "offered_to": record.offered_to,
        "timeline_dropped": record.timeline_dropped,
    });
    row.updated_at = record.last_event_at;
    row
}

impl CallWrite {
    /// Maps a tracker record to a write: the call row, every leg and the whole (bounded)
    /// timeline. `tenant` is used when the record names none; `provider` names the source
    /// (`ami`, `ari`, `twilio`), which the record does not carry.
    pub fn from_record(record: &CallRecord, tenant: TenantId, provider: &str) -> Self {
        let tenant = record.tenant.unwrap_or(tenant);
        Self {
            call: call_row(record, tenant, provider),
            legs: record
                .legs
                .iter()
                .map(|l| leg_row(record, tenant, l))
                .collect(),
            events: record
                .timeline
                .iter()
                .enumerate()
                .map(|(i, e)| event_row(record, tenant, i, e))
                .collect(),
        }
    }

    /// Maps a tracker update: as [`CallWrite::from_record`], except that an ordinary update
    /// carries only the newest few timeline entries (a new or ended call carries all), so a
    /// long call does not rewrite its whole timeline on every change.
    pub fn from_update(update: &CallUpdate, tenant: TenantId, provider: &str) -> Self {
        let mut write = Self::from_record(&update.record, tenant, provider);
        if update.kind == UpdateKind::Updated {
            let keep = write.events.len().saturating_sub(RECENT_ENTRIES);
            write.events.drain(..keep);
        }
        write
    }
}

/// The record's own tenant is required; the provider is stored as `unknown` (use
/// [`CallWrite::from_record`] to name it).
impl TryFrom<&CallRecord> for CallWrite {
    type Error = StoreError;

    fn try_from(record: &CallRecord) -> Result<Self, Self::Error> {
        let tenant = record.tenant.ok_or(StoreError::InvalidInput {
            field: "tenant",
            reason: "the call record names no tenant",
        })?;
        Ok(Self::from_record(record, tenant, "unknown"))
    }
}

/// As `TryFrom<&CallRecord>`, with [`CallWrite::from_update`]'s choice of timeline entries.
impl TryFrom<&CallUpdate> for CallWrite {
    type Error = StoreError;

    fn try_from(update: &CallUpdate) -> Result<Self, Self::Error> {
        let tenant = update.record.tenant.ok_or(StoreError::InvalidInput {
            field: "tenant",
            reason: "the call record names no tenant",
        })?;
        Ok(Self::from_update(update, tenant, "unknown"))
    }
}
