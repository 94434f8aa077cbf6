use std::borrow::Cow;

use chrono::{DateTime, Utc};
use hookflash_provider::{
    CallId, HangupCause, HangupSide, LegEventKind, LegId, LegRole, TenantId, TransferKind,
};
use serde::{Deserialize, Serialize};

/// Who placed the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// We placed it (agent-first originate).
    Outbound,
    /// A caller reached us (a DID, a queue).
    Inbound,
}

/// Where a call is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallState {
    /// Asked for (or first seen); nothing rings yet.
    Created,
    /// The agent's phone rings.
    AgentRinging,
    /// The agent answered; the customer is not dialled yet.
    AgentAnswered,
    /// The customer is being dialled or rings (inbound: the call waits for an agent).
    CustomerRinging,
    /// Agent and customer talk.
    Connected,
    /// A party is on hold.
    OnHold,
    /// A transfer is under way.
    Transferring,
    /// The customer waits in a parking lot.
    Parked,
    /// Over; [`CallRecord::disposition`] says how.
    Ended,
}

impl CallState {
    /// Whether the call is over.
    pub fn is_terminal(&self) -> bool {
        matches!(self, Self::Ended)
    }
}

/// How a call ended: exactly one per ended call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Disposition {
    /// Agent and customer were connected.
    Answered,
    /// The customer did not answer.
    NoAnswer,
    /// The customer was busy.
    Busy,
    /// The customer could not be reached (unavailable, congestion, invalid number, no route).
    Failed,
    /// We gave up before anyone answered (hangup of a ringing call).
    Cancelled,
    /// The agent did not answer, so the customer was never dialled.
    AgentNoAnswer,
    /// The agent was busy (or rejected), so the customer was never dialled.
    AgentBusy,
    /// The customer answered (or called in) and no agent joined.
    Abandoned,
}

impl Disposition {
    /// The snake_case name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Answered => "answered",
            Self::NoAnswer => "no_answer",
            Self::Busy => "busy",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
            Self::AgentNoAnswer => "agent_no_answer",
            Self::AgentBusy => "agent_busy",
            Self::Abandoned => "abandoned",
        }
    }
}

/// A party of a call, for attribution (who hung up, who was held).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Party {
    /// The agent.
    Agent,
    /// The customer.
    Customer,
    /// A transfer target or park retriever.
    SecondAgent,
    /// A supervisor (a hangup a supervisor asked for through the API).
    Supervisor,
    /// The PBX or hookflash (a timeout, a hangup the system asked for through the API).
    System,
    /// Both ends in the same instant (kept for compatibility with expected.json; the tracker
    /// itself always decides).
    Either,
}

impl Party {
    /// The snake_case name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Agent => "agent",
            Self::Customer => "customer",
            Self::SecondAgent => "second_agent",
            Self::Supervisor => "supervisor",
            Self::System => "system",
            Self::Either => "either",
        }
    }
}

/// The coarse state of one leg of a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LegStatus {
    /// Exists, not ringing yet.
    Created,
    /// Ringing.
    Ringing,
    /// Answered.
    Up,
    /// Gone.
    HungUp,
}

/// One leg of a call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LegRecord {
    /// The provider's id of the leg.
    pub leg: LegId,
    /// The part it plays.
    pub role: LegRole,
    /// Its channel name (the latest, after renames).
    pub channel: Option<String>,
    /// The number it is for: the number dialled (the customer of an outbound call, in the
    /// E.164 form hookflash asked for; an agent's extension), or the caller's number for the
    /// customer of an inbound call. `None` when the provider did not say.
    #[serde(default)]
    pub number: Option<String>,
    /// Its state.
    pub state: LegStatus,
    /// When it was first seen.
    pub created_at: DateTime<Utc>,
    /// When it was answered.
    pub answered_at: Option<DateTime<Utc>>,
    /// When it hung up.
    pub ended_at: Option<DateTime<Utc>>,
    /// Its Q.850 hangup cause.
    pub cause: Option<HangupCause>,
    /// Who asked for it to end (its own party: `remote`; the PBX or us: `local`).
    pub hangup_side: Option<HangupSide>,
}

/// The outcome of a transfer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TransferResult {
    /// Under way (an attended transfer's consultation).
    Pending,
    /// The call went to the target.
    Success,
    /// It failed; the call stayed.
    Failed,
    /// The transferer cancelled it.
    Cancelled,
}

/// One transfer of a call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransferRecord {
    /// Blind or attended.
    pub kind: TransferKind,
    /// The destination (extension, number, endpoint).
    pub to: Option<String>,
    /// How it went.
    pub result: TransferResult,
    /// When it was seen.
    pub at: DateTime<Utc>,
    /// Who transferred.
    pub by: Option<Party>,
}

/// How a park ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ParkOutcome {
    /// Somebody picked the call up.
    Retrieved,
    /// Nobody did; it was sent back.
    TimedOut,
    /// The parked party hung up.
    GaveUp,
}

/// The park of a call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParkRecord {
    /// The parking space.
    pub slot: String,
    /// The parking lot, when known.
    pub lot: Option<String>,
    /// When the call was parked.
    pub parked_at: DateTime<Utc>,
    /// When it left the lot.
    pub unparked_at: Option<DateTime<Utc>>,
    /// How it left; `None` while parked.
    pub outcome: Option<ParkOutcome>,
    /// The channel (or leg id) that picked it up.
    pub retrieved_by: Option<String>,
}

/// One recording of a call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordingRecord {
    /// The file or recording name (`hookflash-<call id>.wav`, an ARI recording name).
    pub name: String,
    /// The leg it was started on.
    pub leg: Option<LegId>,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// When it stopped.
    pub stopped_at: Option<DateTime<Utc>>,
    /// Whether it is paused now.
    pub paused: bool,
}

/// Where an offer of an inbound call to one agent stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OfferState {
    /// The agent's phone rings with the call.
    Offered,
    /// This agent took the call.
    Answered,
    /// The offer is gone: another agent answered, the agent's leg stopped ringing, or the
    /// caller hung up.
    Withdrawn,
}

/// The offer of an inbound call to one agent (one ringing agent leg): what a console shows
/// as "incoming call", decided by the tracker alone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfferRecord {
    /// The agent leg that rang.
    pub leg: LegId,
    /// Its channel name.
    pub channel: Option<String>,
    /// The endpoint it rang (`PJSIP/agent1001`), when the provider said.
    pub endpoint: Option<String>,
    /// Where the offer stands.
    pub state: OfferState,
    /// When the leg started ringing.
    pub offered_at: DateTime<Utc>,
    /// When this agent answered.
    pub answered_at: Option<DateTime<Utc>>,
    /// When the offer was withdrawn.
    pub withdrawn_at: Option<DateTime<Utc>>,
}

/// Mute flags of one party.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MuteFlags {
    /// Audio from the party (their microphone) is muted.
    #[serde(rename = "in")]
    pub inbound: bool,
    /// Audio to the party is muted.
    #[serde(rename = "out")]
    pub outbound: bool,
}

impl MuteFlags {
    /// Whether anything is muted.
    pub fn any(&self) -> bool {
        self.inbound || self.outbound
    }
}

/// The mute state of the two parties.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MuteState {
    /// The agent's leg.
    pub agent: MuteFlags,
    /// The customer's leg.
    pub customer: MuteFlags,
}

/// DTMF digits per party, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PartyDigits {
    /// The agent's leg.
    pub agent: String,
    /// The customer's leg.
    pub customer: String,
    /// A transfer target's or retriever's leg.
    pub second_agent: String,
}

impl PartyDigits {
    /// The digits of one party (`None` for [`Party::Supervisor`], [`Party::System`] and
    /// [`Party::Either`]).
    pub fn of(&self, party: Party) -> Option<&str> {
        match party {
            Party::Agent => Some(&self.agent),
            Party::Customer => Some(&self.customer),
            Party::SecondAgent => Some(&self.second_agent),
            Party::Supervisor | Party::System | Party::Either => None,
        }
    }
}

/// One entry of a call's timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimelineEntry {
    /// When it happened (the provider's time for leg events).
    pub at: DateTime<Utc>,
    /// The leg it happened to, for leg events.
    pub leg: Option<LegId>,
    /// That leg's role, when known.
    pub role: Option<LegRole>,
    /// The event's name (`created`, `hung_up`, ... as [`LegEventKind::name`]; `originate_requested`,
    /// `closed` for the tracker's own entries).
    pub event: Cow<'static, str>,
    /// The leg event itself, as JSON `{"type": ..., ...}`.
    pub detail: Option<LegEventKind>,
    /// The tracker's words, for its own entries (`silent past max age`).
    pub note: Option<String>,
}

/// The state of one call: a full snapshot, sent with every [`CallUpdate`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallRecord {
    /// Our id of the call; for calls that did not carry one (inbound), derived from the
    /// provider's conversation id (see [`CallRecord::derived_id`]).
    pub call_id: CallId,
    /// Whether `call_id` was derived by the tracker rather than carried by the legs.
    pub derived_id: bool,
    /// Whose call it is, when known.
    pub tenant: Option<TenantId>,
    /// Outbound or inbound.
    pub direction: Direction,
    /// Where the call is now.
    pub state: CallState,
    /// How it ended; set exactly when `state` is [`CallState::Ended`].
    pub disposition: Option<Disposition>,
    /// Why the tracker closed it, when not by the legs' own hangups
    /// (`ended while disconnected`, `silent past max age`).
    pub end_reason: Option<String>,
    /// The agent's leg.
    pub agent_leg: Option<LegId>,
    /// The agent's channel name.
    pub agent_channel: Option<String>,
    /// The customer's leg.
    pub customer_leg: Option<LegId>,
    /// The customer's channel name.
    pub customer_channel: Option<String>,
    /// Whether the agent answered.
    pub agent_answered: bool,
    /// Whether the customer was dialled (outbound) or called in (inbound).
    pub customer_dialed: bool,
    /// Whether agent and customer were ever bridged.
    pub bridged: bool,
    /// The bridge they were (last) in.
    pub bridge_id: Option<String>,
    /// The provider's conversation id (its linkedid or parent call id), the latest seen.
    pub linkedid: Option<String>,
    /// Every party's leg seen, in order of appearance. Plumbing legs (the halves of a
    /// platform's back-to-back pair, such as Asterisk's Local `;1`/`;2`) are not parties and
    /// are not listed; their events stay in the timeline.
    pub legs: Vec<LegRecord>,
    /// When the call was asked for or first seen.
    pub created_at: DateTime<Utc>,
    /// When the agent answered.
    pub agent_answered_at: Option<DateTime<Utc>>,
    /// When the customer was dialled (or the inbound caller started waiting).
    pub customer_ringing_at: Option<DateTime<Utc>>,
    /// When agent and customer were connected.
    pub answered_at: Option<DateTime<Utc>>,
    /// When the call ended.
    pub ended_at: Option<DateTime<Utc>>,
    /// Seconds the customer rang (to answer, or to the end when never answered).
    pub ring_secs: u64,
    /// Seconds connected (billsec): answer to end.
    pub talk_secs: u64,
    /// Seconds from creation to end (or to the latest event while live).
    pub duration_secs: u64,
    /// How many times a party was put on hold.
    pub hold_count: u32,
    /// Seconds spent on hold in total.
    pub hold_secs: u64,
    /// The party held (the last one).
    pub held_leg: Option<Party>,
    /// Whether a party is on hold now.
    pub is_on_hold: bool,
    /// Whether any audio is muted now.
    pub is_muted: bool,
    /// Mute flags per party and direction.
    pub mute: MuteState,
    /// Recordings, in order of start.
    pub recordings: Vec<RecordingRecord>,
    /// Transfers, in order.
    pub transfers: Vec<TransferRecord>,
    /// The park, when the call was parked (the last one).
    pub park: Option<ParkRecord>,
    /// DTMF digits the PBX received from each party.
    pub dtmf_received: PartyDigits,
    /// DTMF digits the PBX sent towards each party.
    pub dtmf_sent: PartyDigits,
    /// The call's Q.850 cause: the customer leg's, else the agent leg's.
    pub hangup_cause: Option<HangupCause>,
    /// Who ended a connected call; `None` for calls that never connected.
    pub hung_up_by: Option<Party>,
    /// The calling number (outbound: our caller ID when known; inbound: the caller).
    pub from: Option<String>,
    /// The called number (outbound: the customer; inbound: the DID).
    pub to: Option<String>,
    /// The agent endpoint asked for (outbound) when known.
    pub agent_endpoint: Option<String>,
    /// Inbound: the agent channels the call was offered to, in order.
    pub offered_to: Vec<String>,
    /// Inbound: each offer (one per agent leg that rang), in order, with where it stands.
    #[serde(default)]
    pub offers: Vec<OfferRecord>,
    /// The ordered event timeline (bounded: the oldest entries are dropped past the limit).
    pub timeline: Vec<TimelineEntry>,
    /// How many timeline entries were dropped for the bound.
    pub timeline_dropped: u32,
    /// The time of the latest event applied.
    pub last_event_at: DateTime<Utc>,
    /// Increases with every update of this call: a store keeps the highest.
    pub seq: u64,
}

impl CallRecord {
    /// Whether the call is over.
    pub fn is_ended(&self) -> bool {
        self.state.is_terminal()
    }

    /// The leg record of a leg.
    pub fn leg(&self, leg: &LegId) -> Option<&LegRecord> {
        self.legs.iter().find(|l| &l.leg == leg)
    }
}

/// What an update says about the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UpdateKind {
    /// The call is new.
    Created,
    /// Something changed.
    Updated,
    /// The call is over: the record is final (the last update with a new outcome).
    Ended,
}

/// A change to one call: what the tracker emits for the store and the API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallUpdate {
    /// The call.
    pub call_id: CallId,
    /// Created, updated or ended.
    pub kind: UpdateKind,
    /// The whole record after the change.
    pub record: CallRecord,
    /// The timeline entry that caused it, when one did.
    pub event: Option<TimelineEntry>,
}
