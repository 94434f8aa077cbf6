//! The one model of a call the API shows, on REST and on the WebSocket alike.
//!
//! Both surfaces go through the store's row of a call ([`CallRow`]): REST reads it from the
//! database; the WebSocket maps the tracker's live [`CallRecord`] with the same function the
//! pipeline stores it with ([`CallWrite::from_record`]). So a field has one name and one
//! meaning wherever a client meets it (`ring_seconds`, `to_number`, `hold_seconds`,
//! `recordings`, ...), and a test compares the two serialisations key by key.

use chrono::{DateTime, Utc};
use hookflash_calls::{CallRecord, ParkRecord, RecordingRecord, TransferRecord};
use hookflash_provider::TenantId;
use hookflash_store::{CallRow, CallWrite, EventRow, LegRow};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::config::PhoneValidation;
use crate::phone::normalize_e164_with;

/// A call as the API shows it (REST bodies and WebSocket `call_created` / `changes`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CallView {
    /// Id.
    pub id: String,
    /// Grows with every change the tracker makes to the call (the store keeps the highest).
    pub version: i64,
    /// `outbound` / `inbound`.
    pub direction: String,
    /// Provider kind (`ami`, `ari`, `twilio`); `null` on the WebSocket for a call the store
    /// has not written yet.
    pub provider: Option<String>,
    /// Configured server name.
    pub server: Option<String>,
    /// State (`created`, `agent_ringing`, `agent_answered`, `customer_ringing`, `connected`,
    /// `on_hold`, `transferring`, `parked`, `ended`).
    pub state: String,
    /// Final disposition (`answered`, `no_answer`, `busy`, `failed`, `cancelled`,
    /// `agent_no_answer`, `agent_busy`, `abandoned`); set exactly when `state` is `ended`.
    pub disposition: Option<String>,
    /// Agent id.
    pub agent_id: Option<String>,
    /// Campaign id.
    pub campaign_id: Option<String>,
    /// Contact id.
    pub contact_id: Option<String>,
    /// The calling number (outbound: our caller id; inbound: the caller).
    pub from_number: Option<String>,
    /// The called number (outbound: the customer; inbound: the DID), E.164.
    pub to_number: Option<String>,
    /// The tenant's DID the call came in on (inbound) or presented (outbound), E.164.
    pub did: Option<String>,
    /// Created (asked for, or first seen).
    pub created_at: DateTime<Utc>,
    /// The agent answered.
    pub agent_answered_at: Option<DateTime<Utc>>,
    /// The customer was dialled (inbound: started waiting).
    pub customer_ringing_at: Option<DateTime<Utc>>,
    /// Agent and customer were connected.
    pub answered_at: Option<DateTime<Utc>>,
    /// Ended.
    pub ended_at: Option<DateTime<Utc>>,
    /// Seconds the customer rang.
    pub ring_seconds: Option<i64>,
    /// Seconds connected (answer to end).
    pub talk_seconds: Option<i64>,
    /// Seconds from creation to end (or to the latest event while live).
    pub total_seconds: Option<i64>,
    /// How many times a party was put on hold.
    pub hold_count: i64,
    /// Seconds on hold in total.
    pub hold_seconds: i64,
    /// On hold now.
    pub is_on_hold: bool,
    /// Muted now.
    pub is_muted: bool,
    /// Q.850 hangup cause code.
    pub hangup_cause_code: Option<i64>,
    /// Hangup cause text.
    pub hangup_cause: Option<String>,
    /// Who ended a connected call (`agent`, `customer`, `second_agent`, `system`).
    pub hung_up_by: Option<String>,
    /// Why the tracker closed the call when its legs did not (`silent past max age`).
    pub end_reason: Option<String>,
    /// Recordings, in order of start.
    pub recordings: Vec<CallRecordingView>,
    /// Transfers, in order.
    pub transfers: Vec<CallTransferView>,
    /// The park, when the call was parked (the last one).
    pub park: Option<CallParkView>,
    /// Wrap-up code.
    pub wrapup_code: Option<String>,
    /// Wrap-up notes.
    pub wrapup_notes: Option<String>,
}

/// One recording of a call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CallRecordingView {
    /// The recording's name.
    pub name: String,
    /// The leg it was started on.
    pub leg_id: Option<String>,
    /// Started.
    pub started_at: DateTime<Utc>,
    /// Stopped.
    pub stopped_at: Option<DateTime<Utc>>,
    /// Paused now.
    pub paused: bool,
}

/// One transfer of a call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CallTransferView {
    /// `blind` / `attended`.
    pub kind: String,
    /// The destination.
    pub to: Option<String>,
    /// `pending`, `success`, `failed`, `cancelled`.
    pub result: String,
    /// When it was seen.
    pub at: DateTime<Utc>,
    /// Who transferred (`agent`, ...).
    pub by: Option<String>,
}

/// The park of a call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CallParkView {
    /// The parking space.
    pub slot: String,
    /// The parking lot.
    pub lot: Option<String>,
    /// Parked.
    pub parked_at: DateTime<Utc>,
    /// Left the lot.
    pub unparked_at: Option<DateTime<Utc>>,
    /// `retrieved`, `timed_out`, `gave_up`; `null` while parked.
    pub outcome: Option<String>,
    /// The channel that picked it up.
    pub retrieved_by: Option<String>,
}

/// A serde enum's snake_case name.
fn name<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}

/// A part of the row's metadata; an absent or unreadable part reads as `T::default()` (rows
/// written before the part existed).
fn meta<T: DeserializeOwned + Default>(row: &CallRow, key: &str) -> T {
    row.metadata
        .get(key)
        .and_then(|v| serde_json::from_value(v.clone()).ok())
        .unwrap_or_default()
}

impl From<RecordingRecord> for CallRecordingView {
    fn from(r: RecordingRecord) -> Self {
        Self {
            name: r.name,
            leg_id: r.leg.map(|l| l.as_str().to_owned()),
            started_at: r.started_at,
            stopped_at: r.stopped_at,
            paused: r.paused,
        }
    }
}

impl From<TransferRecord> for CallTransferView {
    fn from(t: TransferRecord) -> Self {
        Self {
            kind: name(&t.kind),
            to: t.to,
            result: name(&t.result),
            at: t.at,
            by: t.by.map(|p| p.as_str().to_owned()),
        }
    }
}

impl From<ParkRecord> for CallParkView {
    fn from(p: ParkRecord) -> Self {
        Self {
            slot: p.slot,
            lot: p.lot,
            parked_at: p.parked_at,
            unparked_at: p.unparked_at,
            outcome: p.outcome.as_ref().map(name),
            retrieved_by: p.retrieved_by,
        }
    }
}

impl From<CallRow> for CallView {
    fn from(r: CallRow) -> Self {
        let recordings: Vec<RecordingRecord> = meta(&r, "recordings");
        let transfers: Vec<TransferRecord> = meta(&r, "transfers");
        let park: Option<ParkRecord> = meta(&r, "park");
        let end_reason: Option<String> = meta(&r, "end_reason");
        Self {
            id: r.id.to_string(),
            version: r.version,
            direction: r.direction,
            provider: Some(r.provider).filter(|p| !p.is_empty() && p != "unknown"),
            server: r.server,
            state: r.state,
            disposition: r.disposition,
            agent_id: r.agent_id,
            campaign_id: r.campaign_id,
            contact_id: r.contact_id,
            from_number: r.from_number,
            to_number: r.to_number,
            did: r.did,
            created_at: r.created_at,
            agent_answered_at: r.agent_answered_at,
            customer_ringing_at: r.customer_ringing_at,
            answered_at: r.answered_at,
            ended_at: r.ended_at,
            ring_seconds: r.ring_seconds,
            talk_seconds: r.talk_seconds,
            total_seconds: r.total_seconds,
            hold_count: r.hold_count,
            hold_seconds: r.hold_seconds,
            is_on_hold: r.is_on_hold,
            is_muted: r.is_muted,
            hangup_cause_code: r.hangup_cause_code,
            hangup_cause: r.hangup_cause_text,
            hung_up_by: r.hung_up_by,
            end_reason,
            recordings: recordings.into_iter().map(Into::into).collect(),
            transfers: transfers.into_iter().map(Into::into).collect(),
            park: park.map(Into::into),
            wrapup_code: r.wrapup_code,
            wrapup_notes: r.wrapup_notes,
        }
    }
}

/// How numbers a PBX reports are read into E.164: the API's `default_region` and
/// `phone_validation`, so stored, listed and pushed numbers are the form requests use.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct NumberReading {
    /// The region of numbers without a country code (`US`).
    pub region: String,
    /// How strictly a number is checked.
    pub validation: PhoneValidation,
}

impl Default for NumberReading {
    fn default() -> Self {
        Self {
            region: "US".to_owned(),
            validation: PhoneValidation::default(),
        }
    }
}

impl NumberReading {
    /// Reads numbers with `region` and `validation`.
    pub fn new(region: impl Into<String>, validation: PhoneValidation) -> Self {
        Self {
            region: region.into(),
            validation,
        }
    }

    /// An inbound call's called number is the DID it came in on: written in E.164 as both
    /// `to_number` and `did` (a PBX reports it as its dialplan saw it, `5551204000`). A number
    /// that does not read as one (an internal extension) is kept as it is, with no DID.
    pub(crate) fn read_inbound(&self, row: &mut CallRow) {
        if row.direction != "inbound" {
            return;
        }
        if let Some(e164) = row.to_number.as_deref().and_then(|to| self.e164(to)) {
            row.to_number = Some(e164.clone());
            if row.did.is_none() {
                row.did = Some(e164);
            }
        }
    }

    /// `number` in E.164, when it reads as a phone number.
    pub(crate) fn e164(&self, number: &str) -> Option<String> {
        normalize_e164_with("to_number", number, &self.region, self.validation).ok()
    }
}

impl CallView {
    /// The view of a live tracker record and its timeline, mapped exactly as the pipeline
    /// stores it. What only the store knows (provider, server, agent, campaign, contact,
    /// wrap-up) is empty here; [`CallView::fill_from_store`] adds it.
    pub(crate) fn from_record(
        record: &CallRecord,
        tenant: TenantId,
        numbers: &NumberReading,
    ) -> (Self, Vec<EventView>) {
        let mut write = CallWrite::from_record(record, tenant, "");
        numbers.read_inbound(&mut write.call);
        let events = write.events.into_iter().map(EventView::from).collect();
        (Self::from(write.call), events)
    }

    /// Takes the fields the tracker does not know from the stored row of the same call.
    pub(crate) fn fill_from_store(&mut self, row: &CallRow) {
        let stored = Self::from(row.clone());
        self.carry_store_fields(&stored);
    }

    /// Keeps the store-only fields an earlier view of the same call had (set where this
    /// view has none).
    pub(crate) fn carry_store_fields(&mut self, earlier: &CallView) {
        fn keep(mine: &mut Option<String>, earlier: &Option<String>) {
            if mine.is_none() {
                mine.clone_from(earlier);
            }
        }
        keep(&mut self.provider, &earlier.provider);
        keep(&mut self.server, &earlier.server);
        keep(&mut self.agent_id, &earlier.agent_id);
        keep(&mut self.campaign_id, &earlier.campaign_id);
        keep(&mut self.contact_id, &earlier.contact_id);
        keep(&mut self.did, &earlier.did);
        keep(&mut self.wrapup_code, &earlier.wrapup_code);
        keep(&mut self.wrapup_notes, &earlier.wrapup_notes);
    }
}

/// One leg of a call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct LegView {
    /// Leg id.
    pub leg_id: String,
    /// Role (`agent`, `customer`, ...).
    pub role: String,
    /// Channel name.
    pub channel: Option<String>,
    /// Number.
    pub number: Option<String>,
    /// State.
    pub state: String,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Answered.
    pub answered_at: Option<DateTime<Utc>>,
    /// Ended.
    pub ended_at: Option<DateTime<Utc>>,
}

impl From<LegRow> for LegView {
    fn from(l: LegRow) -> Self {
        Self {
            leg_id: l.leg_id,
            role: l.role,
            channel: l.channel,
            number: l.number,
            state: l.state,
            created_at: l.created_at,
            answered_at: l.answered_at,
            ended_at: l.ended_at,
        }
    }
}

/// One timeline entry (REST `events` and WebSocket `events`: the same entries, the same
/// `seq`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct EventView {
    /// Sequence within the call (stable: an entry keeps its number).
    pub seq: i64,
    /// When.
    pub at: DateTime<Utc>,
    /// What.
    pub kind: String,
    /// Which leg.
    pub leg_id: Option<String>,
    /// Details.
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
}

impl From<EventRow> for EventView {
    fn from(e: EventRow) -> Self {
        Self {
            seq: e.seq,
            at: e.at,
            kind: e.kind,
            leg_id: e.leg_id,
            payload: e.payload,
        }
    }
}

/// `GET /api/v1/calls/{id}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CallDetailView {
    /// The call.
    pub call: CallView,
    /// Its legs.
    pub legs: Vec<LegView>,
    /// Its event timeline, in order.
    pub events: Vec<EventView>,
}

/// A page of calls.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CallPage {
    /// The calls, newest first.
    pub items: Vec<CallView>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use hookflash_provider::CallId;

    fn row(direction: &str, to: &str) -> CallRow {
        let mut r = CallRow::new(
            CallId::new_random(),
            TenantId::from_uuid(uuid::Uuid::nil()),
            direction,
            "ami",
            "created",
            DateTime::<Utc>::UNIX_EPOCH,
        );
        r.to_number = Some(to.to_owned());
        r
    }

    #[test]
    fn only_an_inbound_called_number_becomes_its_e164_did() {
        let numbers = NumberReading::new("US", PhoneValidation::Possible);
        let mut inbound = row("inbound", "5551204000");
        numbers.read_inbound(&mut inbound);
        assert_eq!(inbound.to_number.as_deref(), Some("+15551204000"));
        assert_eq!(inbound.did.as_deref(), Some("+15551204000"));
        // An extension is no number: kept, no DID.
        let mut ext = row("inbound", "1001");
        numbers.read_inbound(&mut ext);
        assert_eq!(ext.to_number.as_deref(), Some("1001"));
        assert_eq!(ext.did, None);
        // Outbound numbers are the API's own (already E.164); the DID is what the API chose.
        let mut outbound = row("outbound", "5551204000");
        numbers.read_inbound(&mut outbound);
        assert_eq!(outbound.to_number.as_deref(), Some("5551204000"));
        assert_eq!(outbound.did, None);
    }
}
