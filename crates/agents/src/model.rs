//! The machine's vocabulary: ids, codes, states, inputs and outputs.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};
use hookflash_provider::{CallId, TenantId};
use serde::{Deserialize, Serialize};

use crate::error::AgentsError;

/// An agent's id: the store's `agents.id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AgentId(uuid::Uuid);

impl AgentId {
    /// A fresh random agent id.
    pub fn new_random() -> Self {
        Self(uuid::Uuid::new_v4())
    }

    /// Wraps an existing UUID (the store's agent id).
    pub const fn from_uuid(uuid: uuid::Uuid) -> Self {
        Self(uuid)
    }

    /// The UUID inside.
    pub const fn as_uuid(&self) -> &uuid::Uuid {
        &self.0
    }
}

impl fmt::Display for AgentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

/// A queue's id (the store's or the ACD's), for [`crate::Agents::add_queue`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct QueueId(uuid::Uuid);

impl QueueId {
    /// A fresh random queue id.
    pub fn new_random() -> Self {
        Self(uuid::Uuid::new_v4())
    }

    /// Wraps an existing UUID.
    pub const fn from_uuid(uuid: uuid::Uuid) -> Self {
        Self(uuid)
    }

    /// The UUID inside.
    pub const fn as_uuid(&self) -> &uuid::Uuid {
        &self.0
    }
}

/// Checks a code: 1 to 64 of `a-z 0-9 _ - .` (lower case, so `Sales` and `sales` cannot be two
/// skills, and safe in a log line or a URL).
fn check_code(s: &str) -> Result<(), AgentsError> {
    let ok = !s.is_empty()
        && s.len() <= 64
        && s.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'-' | b'.')
        });
    if ok {
        Ok(())
    } else {
        Err(AgentsError::BadCode(s.to_owned()))
    }
}

/// A skill name (`sales`, `spanish`): checked by [`Skill::new`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Skill(String);

impl Skill {
    /// A skill.
    ///
    /// # Errors
    /// [`AgentsError::BadCode`] unless 1 to 64 of `a-z 0-9 _ - .`.
    pub fn new(name: impl Into<String>) -> Result<Self, AgentsError> {
        let name = name.into();
        check_code(&name)?;
        Ok(Self(name))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Skill {
    type Error = AgentsError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::new(s)
    }
}

impl From<Skill> for String {
    fn from(s: Skill) -> Self {
        s.0
    }
}

impl fmt::Display for Skill {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A pause reason code (`lunch`, `training`, the machine's own `missed`): checked by
/// [`ReasonCode::new`]; a pause request must name one of its tenant's list.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ReasonCode(String);

impl ReasonCode {
    /// A reason code.
    ///
    /// # Errors
    /// [`AgentsError::BadCode`] unless 1 to 64 of `a-z 0-9 _ - .`.
    pub fn new(code: impl Into<String>) -> Result<Self, AgentsError> {
        let code = code.into();
        check_code(&code)?;
        Ok(Self(code))
    }

    /// `missed`: the default reason of an agent who let an offer ring out.
    pub fn missed() -> Self {
        Self("missed".to_owned())
    }

    /// The code.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ReasonCode {
    type Error = AgentsError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::new(s)
    }
}

impl From<ReasonCode> for String {
    fn from(s: ReasonCode) -> Self {
        s.0
    }
}

impl fmt::Display for ReasonCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where an agent is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgentState {
    /// Not working: takes no calls and is not counted.
    LoggedOut,
    /// Free: the only state selection chooses from.
    Ready,
    /// An offer is being made: no other call may take this agent.
    Reserved,
    /// A leg on the agent's endpoint rings.
    Ringing,
    /// The agent talks on a call.
    OnCall,
    /// After-call work, until its time limit or the agent's `ready`.
    WrapUp,
    /// Not taking calls, for a reason code ([`AgentChange::pause_reason`]).
    Paused,
}

impl AgentState {
    /// The snake_case name (the store's column value).
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::LoggedOut => "logged_out",
            Self::Ready => "ready",
            Self::Reserved => "reserved",
            Self::Ringing => "ringing",
            Self::OnCall => "on_call",
            Self::WrapUp => "wrap_up",
            Self::Paused => "paused",
        }
    }

    /// Every state, in declaration order.
    pub const ALL: [Self; 7] = [
        Self::LoggedOut,
        Self::Ready,
        Self::Reserved,
        Self::Ringing,
        Self::OnCall,
        Self::WrapUp,
        Self::Paused,
    ];
}

impl fmt::Display for AgentState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What follows a wrap-up that ran to its time limit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum AfterWrapUp {
    /// The agent is ready again.
    Ready,
    /// The agent is paused with this reason (they must say `ready` themselves).
    Paused(ReasonCode),
}

/// The wrap-up of a queue or campaign: how long after-call work may take and what follows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WrapUpPolicy {
    /// The time limit (zero: no wrap-up, the agent goes straight to `then`).
    pub limit: Duration,
    /// What follows the limit.
    pub then: AfterWrapUp,
}

/// An offer of a call to an agent (what the ACD or dialer passes to [`crate::Agents::reserve`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Offer {
    /// The call offered.
    pub call: CallId,
    /// How long the offer may ring before it is timed out; `None`:
    /// [`crate::AgentsConfig::offer_timeout`].
    pub ring_timeout: Option<Duration>,
    /// The queue's or campaign's wrap-up; `None`: [`crate::AgentsConfig::default_wrap_up`].
    pub wrap_up: Option<WrapUpPolicy>,
}

impl Offer {
    /// An offer of `call` with the machine's default timeout and wrap-up.
    pub fn new(call: CallId) -> Self {
        Self {
            call,
            ring_timeout: None,
            wrap_up: None,
        }
    }

    /// Sets [`Offer::ring_timeout`].
    #[must_use]
    pub fn with_ring_timeout(mut self, timeout: Duration) -> Self {
        self.ring_timeout = Some(timeout);
        self
    }

    /// Sets [`Offer::wrap_up`].
    #[must_use]
    pub fn with_wrap_up(mut self, policy: WrapUpPolicy) -> Self {
        self.wrap_up = Some(policy);
        self
    }
}

/// How an offer ended, as the ACD saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OfferOutcome {
    /// The agent took the call (from the console, or the agent's leg was bridged).
    Accepted,
    /// The agent said no: the call goes to the next agent, the agent is ready again.
    Rejected,
    /// Nobody answered: the agent is paused `missed` (configurable), the call goes on.
    TimedOut,
}

/// An agent's own request.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Request {
    /// Start working (logged out → ready).
    LogIn,
    /// Stop working (from any state but an offer or a call: those end first).
    LogOut,
    /// Take calls (from paused or wrap-up).
    Ready,
    /// Stop taking calls, for a reason from the tenant's list (from ready or wrap-up).
    Pause(ReasonCode),
}

impl Request {
    pub(crate) fn action(&self) -> &'static str {
        match self {
            Self::LogIn => "log in",
            Self::LogOut => "log out",
            Self::Ready => "be ready",
            Self::Pause(_) => "pause",
        }
    }
}

/// Why a state changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Cause {
    /// The agent asked ([`Request`]).
    Request,
    /// A call was offered ([`crate::Agents::reserve`]).
    Reserved,
    /// The offer was accepted.
    OfferAccepted,
    /// The offer was rejected.
    OfferRejected,
    /// The offer rang out (its timer, or the offered leg ended unanswered).
    OfferTimedOut,
    /// The offer was withdrawn ([`crate::Agents::release`]: the caller hung up, another agent
    /// took the call).
    Released,
    /// A leg on the agent's endpoint rings.
    LegRinging,
    /// A leg on the agent's endpoint answered.
    LegAnswered,
    /// The agent's leg ended (or the call did).
    LegEnded,
    /// The wrap-up time limit passed.
    WrapUpEnded,
}

impl Cause {
    /// The snake_case name (the store's column value).
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Request => "request",
            Self::Reserved => "reserved",
            Self::OfferAccepted => "offer_accepted",
            Self::OfferRejected => "offer_rejected",
            Self::OfferTimedOut => "offer_timed_out",
            Self::Released => "released",
            Self::LegRinging => "leg_ringing",
            Self::LegAnswered => "leg_answered",
            Self::LegEnded => "leg_ended",
            Self::WrapUpEnded => "wrap_up_ended",
        }
    }
}

/// One state change: a row of the store's agent-state log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentChange {
    /// The agent.
    pub agent: AgentId,
    /// Its tenant.
    pub tenant: TenantId,
    /// The state left.
    pub from: AgentState,
    /// The state entered.
    pub to: AgentState,
    /// Why.
    pub cause: Cause,
    /// The pause reason, when `to` is [`AgentState::Paused`].
    pub pause_reason: Option<ReasonCode>,
    /// The pause reason of the state left, when `from` is [`AgentState::Paused`]: with `at`
    /// and `time_in_previous` the row is a whole stretch (pause time per reason needs no
    /// look-back).
    pub from_pause_reason: Option<ReasonCode>,
    /// When (never before the previous change of this agent: an input with an older `now`
    /// takes effect at the previous change's time).
    pub at: DateTime<Utc>,
    /// How long the agent was in `from`; the sum over an agent's changes is the time since
    /// it was registered.
    pub time_in_previous: Duration,
    /// The call the new state is about (reserved, ringing, on call, wrap-up), else the call
    /// the old state was about.
    pub call: Option<CallId>,
}

/// Why a call needs another agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Redistribute {
    /// The agent rejected the offer.
    Rejected,
    /// The offer rang out.
    NoAnswer,
    /// Another call took the agent's phone while the offer was pending.
    AgentBusy,
}

/// What the machine says after an input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum AgentUpdate {
    /// An agent changed state.
    Changed(AgentChange),
    /// An offered call did not reach its agent: offer it to the next one.
    NextAgent {
        /// The call.
        call: CallId,
        /// The agent who did not take it.
        agent: AgentId,
        /// Why.
        why: Redistribute,
    },
}

impl AgentUpdate {
    /// The state change, when this is one.
    pub fn change(&self) -> Option<&AgentChange> {
        match self {
            Self::Changed(c) => Some(c),
            Self::NextAgent { .. } => None,
        }
    }
}

/// An agent to register: who, whose, where to ring and what they can do.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AgentSpec {
    /// The agent's id.
    pub id: AgentId,
    /// Its tenant.
    pub tenant: TenantId,
    /// Where the agent's phone is (`PJSIP/agent1001`): a call leg whose channel is this, or
    /// this followed by `-` and the platform's sequence (`PJSIP/agent1001-00000013`), is the
    /// agent's.
    pub endpoint: String,
    /// Skills with their levels (`sales: 5`).
    pub skills: BTreeMap<Skill, u8>,
}

impl AgentSpec {
    /// An agent with no skills.
    pub fn new(id: AgentId, tenant: TenantId, endpoint: impl Into<String>) -> Self {
        Self {
            id,
            tenant,
            endpoint: endpoint.into(),
            skills: BTreeMap::new(),
        }
    }

    /// Adds a skill at a level.
    #[must_use]
    pub fn with_skill(mut self, skill: Skill, level: u8) -> Self {
        self.skills.insert(skill, level);
        self
    }
}

/// How a queue orders the eligible ready agents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Strategy {
    /// The agent ready the longest (since their last call, wrap-up or pause).
    LongestIdle,
    /// The agent offered a call the longest ago (never offered: first), whatever their calls
    /// lasted: offers go round.
    RoundRobin,
    /// The agent with the fewest answered calls since registration; ties: longest idle.
    FewestCalls,
}

/// What a queue asks of an agent: skills with minimum levels, and how to choose among those
/// who have them.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Requirement {
    /// The tenant whose agents may take the call.
    pub tenant: TenantId,
    /// Each skill at this level or above.
    pub skills: BTreeMap<Skill, u8>,
    /// The order among eligible agents.
    pub strategy: Strategy,
}

impl Requirement {
    /// Any ready agent of the tenant, by `strategy`.
    pub fn new(tenant: TenantId, strategy: Strategy) -> Self {
        Self {
            tenant,
            skills: BTreeMap::new(),
            strategy,
        }
    }

    /// Requires a skill at `min_level` or above.
    #[must_use]
    pub fn with_skill(mut self, skill: Skill, min_level: u8) -> Self {
        self.skills.insert(skill, min_level);
        self
    }
}
