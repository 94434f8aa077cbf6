use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{CallId, LegId};

/// Something that happened to one leg, as a provider saw it.
///
/// Providers translate their own events (AMI, ARI, Twilio callbacks) into these and nothing
/// more: deciding what they mean for the call is the tracker's job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LegEvent {
    /// The provider's id of the leg.
    pub leg: LegId,
    /// When it happened (the provider's timestamp where it has one).
    pub at: DateTime<Utc>,
    /// The keys that tie the leg to a call, as far as the provider knows them now.
    pub keys: Correlation,
    /// What happened.
    pub kind: LegEventKind,
}

impl LegEvent {
    /// An event with no correlation keys yet.
    pub fn new(leg: LegId, at: DateTime<Utc>, kind: LegEventKind) -> Self {
        Self {
            leg,
            at,
            keys: Correlation::default(),
            kind,
        }
    }

    /// Sets our call id.
    #[must_use]
    pub fn with_call_id(mut self, call_id: CallId) -> Self {
        self.keys.call_id = Some(call_id);
        self
    }

    /// Sets the provider's conversation id (Asterisk's linkedid, Twilio's parent call SID).
    #[must_use]
    pub fn with_linkedid(mut self, linkedid: impl Into<String>) -> Self {
        self.keys.linkedid = Some(linkedid.into());
        self
    }

    /// Sets the leg's channel name.
    #[must_use]
    pub fn with_channel(mut self, channel: impl Into<String>) -> Self {
        self.keys.channel = Some(channel.into());
        self
    }

    /// Sets the peer leg.
    #[must_use]
    pub fn with_peer(mut self, peer: LegId) -> Self {
        self.keys.peer = Some(peer);
        self
    }

    /// Marks the leg as one half of a pair of plumbing legs sharing `key`.
    #[must_use]
    pub fn with_local_pair(mut self, key: impl Into<String>) -> Self {
        self.keys.local_pair = Some(key.into());
        self
    }
}

/// The correlation keys a provider knows for a leg at the time of an event.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Correlation {
    /// Our call id, when the leg carries it (`HOOKFLASH_CALL_ID`, Twilio callback URL).
    pub call_id: Option<CallId>,
    /// The provider's conversation id: Asterisk's linkedid, Twilio's parent call SID. On
    /// Asterisk it can change mid-life (a park pickup takes the parked call's linkedid).
    pub linkedid: Option<String>,
    /// The leg's channel name (`PJSIP/agent1001-00000013`), where the provider has one.
    pub channel: Option<String>,
    /// The leg this one is talking to or dialling, when known.
    pub peer: Option<LegId>,
    /// For one half of a pair of plumbing legs that the platform joins back to back (an
    /// Asterisk Local channel `;1`/`;2`): a key both halves share, so the tracker keeps the
    /// pair in one call and never counts it as a party. The translator derives it; the
    /// tracker only compares it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_pair: Option<String>,
}

/// Which part a leg plays in a call, when the provider knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum LegRole {
    /// The agent's leg (the first leg of an agent-first originate; a queue member).
    Agent,
    /// The customer's leg (the number dialled; the caller of an inbound call).
    Customer,
    /// A transfer target or park retriever that joined the call.
    SecondAgent,
    /// One half of a Local channel pair (`;1`/`;2`): plumbing, not a party.
    Local,
}

/// What happened to a leg.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum LegEventKind {
    /// The leg exists.
    Created {
        /// The part it plays, when the provider knows it at creation.
        role: Option<LegRole>,
        /// The endpoint or number it belongs to (`PJSIP/agent1001`, `+15551230001`).
        endpoint: Option<String>,
        /// The calling number presented on it.
        caller_number: Option<String>,
        /// The number or extension it is for.
        called_number: Option<String>,
    },
    /// The leg started dialling another one (`keys.peer`) or a destination.
    Dialing {
        /// The leg being dialled, once it exists.
        target: Option<LegId>,
        /// The dial string or number.
        destination: Option<String>,
    },
    /// The leg is ringing (for a dialled leg: the far end is alerting).
    Ringing,
    /// The leg was answered.
    Answered,
    /// The outcome of a dial attempt towards this leg.
    DialResult {
        /// The dial status.
        status: DialOutcome,
        /// The leg that dialled this one, when there was one.
        caller: Option<LegId>,
    },
    /// The dial this leg placed ended without reaching the far end, and no leg of the far end
    /// told so itself (an unreachable trunk creates no channel to carry a
    /// [`LegEventKind::DialResult`]).
    DialFailed {
        /// Why the dial ended.
        status: DialOutcome,
    },
    /// The outcome of an originate request, for the leg it created (or tried to).
    OriginateResult {
        /// Whether the originated leg was answered.
        outcome: OriginateOutcome,
    },
    /// The leg entered a bridge (a conference, on Twilio).
    Bridged {
        /// The bridge's id.
        bridge: String,
        /// Another leg already in the bridge, when known.
        with: Option<LegId>,
    },
    /// The leg left a bridge.
    Unbridged {
        /// The bridge's id.
        bridge: String,
    },
    /// The party on this leg was put on hold.
    Held,
    /// The party on this leg was taken off hold.
    Unheld,
    /// Audio on the leg was muted.
    Muted {
        /// Which audio.
        direction: MediaDirection,
    },
    /// Audio on the leg was unmuted.
    Unmuted {
        /// Which audio.
        direction: MediaDirection,
    },
    /// A DTMF digit.
    Dtmf {
        /// The digit (`0`-`9`, `*`, `#`, `A`-`D`).
        digit: char,
        /// Whether the PBX received it from this leg or sent it towards it.
        direction: DtmfDirection,
        /// How long the key was pressed, when known.
        duration_ms: Option<u32>,
    },
    /// A recording of this leg (or its bridge) started.
    RecordingStarted {
        /// The file or recording name, when known.
        file: Option<String>,
    },
    /// A recording stopped.
    RecordingStopped {
        /// The file or recording name, when known.
        file: Option<String>,
    },
    /// A recording was paused.
    RecordingPaused,
    /// A recording was resumed.
    RecordingResumed,
    /// The leg was transferred (it is the transferee, or the transferer for attended).
    Transferred {
        /// Blind or attended.
        kind: TransferKind,
        /// Where to (extension, number or target leg's endpoint).
        to: Option<String>,
        /// The leg that now takes the transferer's place, when known.
        target: Option<LegId>,
        /// Whether it worked.
        outcome: TransferOutcome,
    },
    /// The leg was parked.
    Parked {
        /// The parking space.
        slot: String,
        /// The parking lot, when known.
        lot: Option<String>,
        /// Seconds until the park times out, when known.
        timeout_secs: Option<u32>,
    },
    /// The leg left the parking lot.
    Unparked {
        /// Why.
        reason: UnparkReason,
        /// The leg that picked it up, for [`UnparkReason::Retrieved`].
        by: Option<LegId>,
    },
    /// Somebody asked for the leg to be hung up; [`HangupSide`] says who.
    HangupRequested {
        /// Who asked.
        side: HangupSide,
        /// The cause given with the request, when any.
        cause: Option<HangupCause>,
    },
    /// Hookflash was asked (through its API) to hang this leg up on behalf of `by`: the
    /// provider stamps who asked on the leg right before the hangup, and its translator reads
    /// the stamp back, so the tracker can tell who ended the call.
    HangupOrdered {
        /// Who asked.
        by: HangupRequester,
    },
    /// The leg is gone.
    HungUp {
        /// The Q.850 cause.
        cause: HangupCause,
        /// Who ended it, when the provider knows.
        side: HangupSide,
    },
    /// A channel variable was set on the leg.
    VariableSet {
        /// The variable's name.
        name: String,
        /// Its new value.
        value: String,
    },
    /// The leg's channel was renamed (Asterisk masquerades).
    Renamed {
        /// The new channel name.
        new_name: String,
    },
}

impl LegEventKind {
    /// A short stable name for logs and timelines (`created`, `hung_up`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            Self::Created { .. } => "created",
            Self::Dialing { .. } => "dialing",
            Self::Ringing => "ringing",
            Self::Answered => "answered",
            Self::DialResult { .. } => "dial_result",
            Self::DialFailed { .. } => "dial_failed",
            Self::OriginateResult { .. } => "originate_result",
            Self::Bridged { .. } => "bridged",
            Self::Unbridged { .. } => "unbridged",
            Self::Held => "held",
            Self::Unheld => "unheld",
            Self::Muted { .. } => "muted",
            Self::Unmuted { .. } => "unmuted",
            Self::Dtmf { .. } => "dtmf",
            Self::RecordingStarted { .. } => "recording_started",
            Self::RecordingStopped { .. } => "recording_stopped",
            Self::RecordingPaused => "recording_paused",
            Self::RecordingResumed => "recording_resumed",
            Self::Transferred { .. } => "transferred",
            Self::Parked { .. } => "parked",
            Self::Unparked { .. } => "unparked",
            Self::HangupRequested { .. } => "hangup_requested",
            Self::HangupOrdered { .. } => "hangup_ordered",
            Self::HungUp { .. } => "hung_up",
            Self::VariableSet { .. } => "variable_set",
            Self::Renamed { .. } => "renamed",
        }
    }
}

/// The result of a dial attempt, in neutral names (translators map the platform's statuses:
/// Asterisk's `DIALSTATUS`, Twilio's call status).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[non_exhaustive]
pub enum DialOutcome {
    /// Answered.
    Answer,
    /// The far end was busy.
    Busy,
    /// Nobody answered in time.
    NoAnswer,
    /// The destination could not be reached.
    ChanUnavail,
    /// The network was congested.
    Congestion,
    /// The caller gave up (or another member answered first).
    Cancel,
    /// The dialled number was not valid.
    InvalidArgs,
}

impl DialOutcome {
    /// Parses Asterisk's `DIALSTATUS` / `DialOutcome` text (case-insensitive). Transitional
    /// statuses (`RINGING`, `PROCEEDING`, `PROGRESS`, empty) are not results and give `None`.
    pub fn parse(text: &str) -> Option<Self> {
        let status = match text.trim().to_ascii_uppercase().as_str() {
            "ANSWER" | "ANSWERED" => Self::Answer,
            "BUSY" => Self::Busy,
            "NOANSWER" | "NO ANSWER" | "NO_ANSWER" => Self::NoAnswer,
            "CHANUNAVAIL" => Self::ChanUnavail,
            "CONGESTION" => Self::Congestion,
            "CANCEL" => Self::Cancel,
            "INVALIDARGS" => Self::InvalidArgs,
            _ => return None,
        };
        Some(status)
    }

    /// Asterisk's spelling.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Answer => "ANSWER",
            Self::Busy => "BUSY",
            Self::NoAnswer => "NOANSWER",
            Self::ChanUnavail => "CHANUNAVAIL",
            Self::Congestion => "CONGESTION",
            Self::Cancel => "CANCEL",
            Self::InvalidArgs => "INVALIDARGS",
        }
    }
}

impl fmt::Display for DialOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether an originated leg was answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
#[non_exhaustive]
pub enum OriginateOutcome {
    /// The leg was answered and continues in the dialplan / application.
    Answered,
    /// The leg was not answered.
    Failed {
        /// Why, in neutral terms (the translator maps the platform's codes to it).
        failure: OriginateFailure,
        /// The provider's words, when any.
        message: Option<String>,
    },
}

/// Why an originate did not give an answered leg, as the translator understood the platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum OriginateFailure {
    /// The endpoint was busy.
    Busy,
    /// It rang and nobody answered in time.
    NoAnswer,
    /// The endpoint or route could not be reached (congestion, rejected, offline).
    Unreachable,
    /// The platform refused the request before placing anything (bad endpoint, no
    /// permission): no leg was created.
    Refused,
    /// The platform did not say why.
    Unknown,
}

/// A Q.850 hangup cause.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HangupCause {
    /// The cause code (16 normal clearing, 17 user busy, 19 no answer, ...).
    pub code: u16,
    /// The provider's text for it (`Normal Clearing`).
    pub text: String,
}

impl HangupCause {
    /// A cause with the standard text for its code.
    pub fn from_code(code: u16) -> Self {
        Self {
            code,
            text: Self::standard_text(code).to_owned(),
        }
    }

    /// The Q.850 name Asterisk uses for a code.
    pub fn standard_text(code: u16) -> &'static str {
        match code {
            0 => "Unknown",
            1 => "Unallocated (unassigned) number",
            3 => "No route to destination",
            16 => "Normal Clearing",
            17 => "User busy",
            18 => "No user responding",
            19 => "User alerting, no answer",
            21 => "Call Rejected",
            26 => "Answered elsewhere",
            27 => "Destination out of order",
            28 => "Invalid number format (incomplete number)",
            31 => "Normal, unspecified",
            34 => "Circuit/channel congestion",
            38 => "Network out of order",
            41 => "Temporary failure",
            42 => "Switching equipment congestion",
            127 => "Interworking, unspecified",
            _ => "Unknown",
        }
    }
}

/// What a hangup cause means for a call, in named classes (so deciding a call's disposition
/// needs no cause numbers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum CauseClass {
    /// A normal end of a call (normal clearing, normal unspecified).
    Normal,
    /// The party was busy.
    Busy,
    /// The party rejected the call.
    Rejected,
    /// Nobody answered.
    NoAnswer,
    /// The destination or route could not be reached (unallocated number, no route,
    /// subscriber absent, out of order, bad format, congestion, network failure).
    Unreachable,
    /// No cause given (`0`).
    Unknown,
    /// Any other cause (answered elsewhere, ...).
    Other,
}

impl HangupCause {
    /// The cause's class.
    pub fn class(&self) -> CauseClass {
        match self.code {
            0 => CauseClass::Unknown,
            16 | 31 => CauseClass::Normal,
            17 => CauseClass::Busy,
            21 => CauseClass::Rejected,
            18 | 19 => CauseClass::NoAnswer,
            1 | 2 | 3 | 20 | 22 | 27 | 28 | 34 | 38 | 41 | 42 | 127 => CauseClass::Unreachable,
            _ => CauseClass::Other,
        }
    }
}

/// Who asked hookflash to hang a call up, as its API request says: the call's agent, a
/// supervisor, or the system (an integration, a timeout, hookflash itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum HangupRequester {
    /// The agent on the call.
    Agent,
    /// A supervisor.
    Supervisor,
    /// No person: an integration, a rule, hookflash itself.
    System,
}

impl HangupRequester {
    /// The snake_case name (what a provider stamps on the leg).
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Agent => "agent",
            Self::Supervisor => "supervisor",
            Self::System => "system",
        }
    }

    /// Reads a name written by [`HangupRequester::as_str`].
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "agent" => Some(Self::Agent),
            "supervisor" => Some(Self::Supervisor),
            "system" => Some(Self::System),
            _ => None,
        }
    }
}

/// Who ended (or asked to end) a leg.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum HangupSide {
    /// The party on this leg hung up (AMI `HangupRequest`, a SIP BYE from that phone).
    Remote,
    /// The PBX or our application ended the leg (AMI `SoftHangupRequest`, a REST hangup).
    Local,
    /// Not known.
    Unknown,
}

/// Which audio a mute applies to, seen from the leg.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum MediaDirection {
    /// Audio coming from the leg's party (their microphone).
    In,
    /// Audio going to the leg's party.
    Out,
    /// Both.
    Both,
}

impl MediaDirection {
    /// AMI `MuteAudio` / ARI mute spelling: `in`, `out`, `all` (AMI) or `both` (ARI).
    pub fn as_ari(&self) -> &'static str {
        match self {
            Self::In => "in",
            Self::Out => "out",
            Self::Both => "both",
        }
    }
}

/// The direction of a DTMF digit, seen from the PBX.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum DtmfDirection {
    /// The PBX received the digit from this leg's party.
    Received,
    /// The PBX sent the digit towards this leg's party.
    Sent,
}

/// Blind or attended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum TransferKind {
    /// Sent straight to the destination.
    Blind,
    /// The transferer talked to the target first.
    Attended,
}

/// How a transfer ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum TransferOutcome {
    /// The call went to the target.
    Success,
    /// The transfer failed; the call stays where it was.
    Failed,
    /// The transferer cancelled it.
    Cancelled,
}

/// Why a parked leg left the lot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum UnparkReason {
    /// Somebody picked it up.
    Retrieved,
    /// Nobody did in time; it was sent back.
    TimedOut,
    /// The parked party hung up.
    GaveUp,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dial_status_parses_results_and_ignores_transitions() {
        assert_eq!(DialOutcome::parse("BUSY"), Some(DialOutcome::Busy));
        assert_eq!(DialOutcome::parse("noanswer"), Some(DialOutcome::NoAnswer));
        assert_eq!(DialOutcome::parse("RINGING"), None);
        assert_eq!(DialOutcome::parse(""), None);
        for s in [
            DialOutcome::Answer,
            DialOutcome::Busy,
            DialOutcome::NoAnswer,
            DialOutcome::ChanUnavail,
            DialOutcome::Congestion,
            DialOutcome::Cancel,
            DialOutcome::InvalidArgs,
        ] {
            assert_eq!(DialOutcome::parse(s.as_str()), Some(s));
        }
    }

    #[test]
    fn leg_event_serialises_with_a_type_tag() {
        let ev = LegEvent::new(
            LegId::new("1.2").unwrap(),
            DateTime::from_timestamp(1_795_315_431, 0).unwrap(),
            LegEventKind::HungUp {
                cause: HangupCause::from_code(17),
                side: HangupSide::Remote,
            },
        )
        .with_linkedid("1.2");
        let json = serde_json::to_value(&ev).unwrap();
        assert_eq!(json["kind"]["type"], "hung_up");
        assert_eq!(json["kind"]["cause"]["text"], "User busy");
        let back: LegEvent = serde_json::from_value(json).unwrap();
        assert_eq!(back, ev);
    }
}
