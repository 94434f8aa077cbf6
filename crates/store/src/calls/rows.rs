//! The rows and queries of the calls repository: a call, its legs and events, a listing's
//! filter, cursor and page, and statistics.

use chrono::{DateTime, Utc};
use hookflash_provider::{CallId, TenantId};
use uuid::Uuid;

use crate::error::StoreError;

/// A call as stored: one row per call, the tracker's latest snapshot of it.
///
/// Text columns hold the tracker's own names (`direction`, `state`, `disposition`, ...), so the
/// store does not have to change when the tracker learns a new state.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct CallRow {
    /// Our call id.
    pub id: Uuid,
    /// Its tenant.
    pub tenant_id: Uuid,
    /// The tracker's update counter for this call; an older snapshot never overwrites a newer
    /// one.
    pub version: i64,
    /// `inbound` / `outbound` / `internal`.
    pub direction: String,
    /// `ami`, `ari`, `twilio`.
    pub provider: String,
    /// Which PBX or account.
    pub server: Option<String>,
    /// Tracker state.
    pub state: String,
    /// Outcome, once known (`answered`, `no_answer`, `busy`, `failed`, `abandoned`, ...).
    pub disposition: Option<String>,
    /// The agent on the call.
    pub agent_id: Option<String>,
    /// The campaign that placed it.
    pub campaign_id: Option<String>,
    /// The contact called.
    pub contact_id: Option<String>,
    /// Calling number.
    pub from_number: Option<String>,
    /// Called number.
    pub to_number: Option<String>,
    /// Our DID involved (caller ID presented, or number dialed inbound).
    pub did: Option<String>,
    /// The agent leg's provider id.
    pub agent_leg_id: Option<String>,
    /// The customer leg's provider id.
    pub customer_leg_id: Option<String>,
    /// The agent leg's channel name.
    pub agent_channel: Option<String>,
    /// The customer leg's channel name.
    pub customer_channel: Option<String>,
    /// Bridge joining the legs.
    pub bridge_id: Option<String>,
    /// Asterisk linkedid.
    pub linkedid: Option<String>,
    /// The provider's id of the call (Twilio CallSid, ...).
    pub provider_call_id: Option<String>,
    /// When the call began.
    pub created_at: DateTime<Utc>,
    /// When the agent answered.
    pub agent_answered_at: Option<DateTime<Utc>>,
    /// When the customer's phone began ringing.
    pub customer_ringing_at: Option<DateTime<Utc>>,
    /// When the customer answered.
    pub answered_at: Option<DateTime<Utc>>,
    /// When the call ended.
    pub ended_at: Option<DateTime<Utc>>,
    /// Seconds of ringing.
    pub ring_seconds: Option<i64>,
    /// Seconds of talk (billsec).
    pub talk_seconds: Option<i64>,
    /// Seconds from start to end.
    pub total_seconds: Option<i64>,
    /// Times put on hold.
    pub hold_count: i64,
    /// Seconds on hold.
    pub hold_seconds: i64,
    /// On hold now.
    pub is_on_hold: bool,
    /// Muted now.
    pub is_muted: bool,
    /// Q.850 hangup cause.
    pub hangup_cause_code: Option<i64>,
    /// Its text.
    pub hangup_cause_text: Option<String>,
    /// `agent`, `customer`, `system`.
    pub hung_up_by: Option<String>,
    /// Recording file.
    pub recording_path: Option<String>,
    /// Wrap-up code set by the agent (kept when the tracker writes again).
    pub wrapup_code: Option<String>,
    /// Wrap-up notes (kept when the tracker writes again).
    pub wrapup_notes: Option<String>,
    /// Free-form metadata.
    #[sqlx(json)]
    pub metadata: serde_json::Value,
    /// Last written.
    pub updated_at: DateTime<Utc>,
}

impl CallRow {
    /// A row for a new call with every optional field empty.
    pub fn new(
        id: CallId,
        tenant: TenantId,
        direction: &str,
        provider: &str,
        state: &str,
        created_at: DateTime<Utc>,
    ) -> Self {
        Self {
            id: *id.as_uuid(),
            tenant_id: *tenant.as_uuid(),
            version: 0,
            direction: direction.to_owned(),
            provider: provider.to_owned(),
            server: None,
            state: state.to_owned(),
            disposition: None,
            agent_id: None,
            campaign_id: None,
            contact_id: None,
            from_number: None,
            to_number: None,
            did: None,
            agent_leg_id: None,
            customer_leg_id: None,
            agent_channel: None,
            customer_channel: None,
            bridge_id: None,
            linkedid: None,
            provider_call_id: None,
            created_at,
            agent_answered_at: None,
            customer_ringing_at: None,
            answered_at: None,
            ended_at: None,
            ring_seconds: None,
            talk_seconds: None,
            total_seconds: None,
            hold_count: 0,
            hold_seconds: 0,
            is_on_hold: false,
            is_muted: false,
            hangup_cause_code: None,
            hangup_cause_text: None,
            hung_up_by: None,
            recording_path: None,
            wrapup_code: None,
            wrapup_notes: None,
            metadata: serde_json::Value::Object(serde_json::Map::new()),
            updated_at: created_at,
        }
    }

    /// The id as the typed [`CallId`].
    pub fn call_id(&self) -> CallId {
        CallId::from_uuid(self.id)
    }

    /// The tenant as the typed [`TenantId`].
    pub fn tenant(&self) -> TenantId {
        TenantId::from_uuid(self.tenant_id)
    }
}

/// One leg (channel) of a call.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct LegRow {
    /// The call.
    pub call_id: Uuid,
    /// The provider's leg id (uniqueid, channel id, CallSid).
    pub leg_id: String,
    /// The call's tenant.
    pub tenant_id: Uuid,
    /// `agent`, `customer`, `other`.
    pub role: String,
    /// Channel name.
    pub channel: Option<String>,
    /// Number at the far end.
    pub number: Option<String>,
    /// Leg state.
    pub state: String,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Answered.
    pub answered_at: Option<DateTime<Utc>>,
    /// Hung up.
    pub ended_at: Option<DateTime<Utc>>,
    /// Q.850 cause.
    pub hangup_cause_code: Option<i64>,
    /// Its text.
    pub hangup_cause_text: Option<String>,
}

/// One entry of a call's timeline.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct EventRow {
    /// The call.
    pub call_id: Uuid,
    /// Position in the call's timeline; with `call_id` the event's identity, so writing the
    /// same event twice stores it once.
    pub seq: i64,
    /// The call's tenant.
    pub tenant_id: Uuid,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// What happened (`ringing`, `answered`, `hold`, ...).
    pub kind: String,
    /// The leg it concerns.
    pub leg_id: Option<String>,
    /// Details.
    #[sqlx(json)]
    pub payload: serde_json::Value,
}

/// A call with its legs and timeline.
#[derive(Debug, Clone, PartialEq)]
pub struct CallDetail {
    /// The call.
    pub call: CallRow,
    /// Its legs, by creation.
    pub legs: Vec<LegRow>,
    /// Its timeline, by `seq`.
    pub events: Vec<EventRow>,
}

/// Where a page of calls ends: the keyset `(created_at, id)` of its last row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallCursor {
    /// The last row's creation time.
    pub created_at: DateTime<Utc>,
    /// The last row's id.
    pub id: Uuid,
}

impl CallCursor {
    /// An opaque text form for clients: `<seconds>_<nanoseconds>.<uuid>` (nanoseconds: SQLite
    /// keeps whatever precision was written, and the cursor must compare equal to the row).
    pub fn encode(&self) -> String {
        format!(
            "{}_{}.{}",
            self.created_at.timestamp(),
            self.created_at.timestamp_subsec_nanos(),
            self.id.simple()
        )
    }

    /// Parses [`CallCursor::encode`]'s text.
    ///
    /// # Errors
    /// [`StoreError::InvalidCursor`].
    pub fn decode(text: &str) -> Result<Self, StoreError> {
        let (time, id) = text.split_once('.').ok_or(StoreError::InvalidCursor)?;
        let (secs, nanos) = time.split_once('_').ok_or(StoreError::InvalidCursor)?;
        let secs: i64 = secs.parse().map_err(|_| StoreError::InvalidCursor)?;
        let nanos: u32 = nanos.parse().map_err(|_| StoreError::InvalidCursor)?;
        let created_at =
            DateTime::<Utc>::from_timestamp(secs, nanos).ok_or(StoreError::InvalidCursor)?;
        let id = Uuid::parse_str(id).map_err(|_| StoreError::InvalidCursor)?;
        Ok(Self { created_at, id })
    }
}

/// Filters for [`Calls::list`]; every field set narrows the result.
#[derive(Debug, Clone, Default)]
pub struct CallFilter {
    /// In this state.
    pub state: Option<String>,
    /// With this disposition.
    pub disposition: Option<String>,
    /// In this direction.
    pub direction: Option<String>,
    /// Handled by this agent.
    pub agent_id: Option<String>,
    /// Placed by this campaign.
    pub campaign_id: Option<String>,
    /// From, to or via this number.
    pub number: Option<String>,
    /// Created at or after.
    pub since: Option<DateTime<Utc>>,
    /// Created before.
    pub until: Option<DateTime<Utc>>,
}

/// One page of a listing, newest first.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// The rows.
    pub items: Vec<T>,
    /// Pass this back for the next page; None on the last page.
    pub next: Option<CallCursor>,
}

/// Call statistics over a time range.
#[derive(Debug, Clone, PartialEq)]
pub struct CallStats {
    /// Calls created in the range.
    pub total: i64,
    /// Of those, answered by the customer.
    pub answered: i64,
    /// Of those, with disposition `abandoned` (answered, but no agent was connected).
    pub abandoned: i64,
    /// `answered / total` (0 when there are no calls).
    pub answer_rate: f64,
    /// `abandoned / (calls answered or abandoned)` (0 when there are none).
    pub abandon_rate: f64,
    /// Mean ring time over calls with one.
    pub avg_ring_seconds: Option<f64>,
    /// Mean talk time over answered calls.
    pub avg_talk_seconds: Option<f64>,
    /// Calls per disposition (None, not ended yet, first), by disposition.
    pub by_disposition: Vec<(Option<String>, i64)>,
}

/// The range and scope of [`Calls::stats`].
#[derive(Debug, Clone)]
pub struct StatsQuery {
    /// Created at or after.
    pub since: DateTime<Utc>,
    /// Created before.
    pub until: DateTime<Utc>,
    /// Only this campaign's calls.
    pub campaign_id: Option<String>,
    /// Only this agent's calls.
    pub agent_id: Option<String>,
}
