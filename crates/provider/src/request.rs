use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::ids::{CallId, LegId, TenantId};
use crate::recording::{RecordingFormat, RecordingId};
use crate::variables::ChannelVariables;

/// An agent-first call: ring the agent, and once the agent answers, dial the customer.
///
/// The customer never hears ringing from a machine with nobody behind it: if the agent does not
/// answer, the customer is never dialled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OriginateRequest {
    /// Our id of the call; every leg carries it.
    pub call_id: CallId,
    /// Whose call it is.
    pub tenant: TenantId,
    /// The agent's endpoint: `PJSIP/agent1001`, a phone number, `client:alice`, a SIP URI.
    pub agent_endpoint: String,
    /// The customer's number, E.164 (`+15559870001`) or as the trunk expects it.
    pub customer_number: String,
    /// The caller ID the customer sees.
    pub caller_id: Option<String>,
    /// The caller name the customer sees, where the trunk passes it.
    pub caller_name: Option<String>,
    /// How long the agent's phone rings before the call is given up.
    pub agent_ring_timeout: Duration,
    /// How long the customer's phone rings before the call is given up.
    pub customer_ring_timeout: Duration,
    /// Extra channel variables for the legs, checked by [`ChannelVariables`] (no reserved
    /// names, no function syntax, no value Asterisk would split).
    pub variables: ChannelVariables,
    /// The trunk the customer is dialled through, when not the provider's default. Comes from
    /// configuration, never from a caller (Asterisk: `HOOKFLASH_TRUNK` over AMI, the endpoint's
    /// `@trunk` over ARI; Twilio has no trunks and ignores it).
    pub trunk: Option<String>,
    /// Record the call from the moment the customer is dialled.
    pub record: bool,
}

impl OriginateRequest {
    /// A request with the usual ring timeouts (agent 20 s, customer 30 s), no caller ID,
    /// no variables and no recording.
    pub fn new(
        call_id: CallId,
        tenant: TenantId,
        agent_endpoint: impl Into<String>,
        customer_number: impl Into<String>,
    ) -> Self {
        Self {
            call_id,
            tenant,
            agent_endpoint: agent_endpoint.into(),
            customer_number: customer_number.into(),
            caller_id: None,
            caller_name: None,
            agent_ring_timeout: Duration::from_secs(20),
            customer_ring_timeout: Duration::from_secs(30),
            variables: ChannelVariables::new(),
            trunk: None,
            record: false,
        }
    }
}

/// Send a leg straight to a destination.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlindTransferRequest {
    /// The call.
    pub call_id: CallId,
    /// The leg that goes to the destination (usually the customer's).
    pub leg: LegId,
    /// The leg that hands the call over (usually the agent's), when it matters to the provider.
    pub transferer: Option<LegId>,
    /// An extension (`1002`), a number or an endpoint. Where it is looked up (an Asterisk
    /// dialplan context) is the provider's configuration, never the request's: a caller must not
    /// be able to send a customer into any part of the dialplan.
    pub destination: String,
}

/// Consult a destination while the customer waits, then hand the call over (or not).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttendedTransferRequest {
    /// The call.
    pub call_id: CallId,
    /// The agent's leg, who consults the destination.
    pub transferer: LegId,
    /// The customer's leg, who waits.
    pub transferee: Option<LegId>,
    /// An extension, a number or an endpoint, looked up where the provider's configuration
    /// says (see [`BlindTransferRequest::destination`]).
    pub destination: String,
}

/// A provider's handle of an attended transfer in progress, to complete or cancel it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TransferId(pub String);

impl fmt::Display for TransferId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Park a leg so that anybody can pick it up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParkRequest {
    /// The call.
    pub call_id: CallId,
    /// The leg to park (usually the customer's).
    pub leg: LegId,
    /// The leg that parks it and is called back on timeout (usually the agent's).
    pub parker: Option<LegId>,
    /// The parking lot, when not the default.
    pub lot: Option<String>,
    /// How long before the parked leg is sent back.
    pub timeout: Option<Duration>,
}

/// Record a leg (with whatever it is bridged to).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordingRequest {
    /// The call.
    pub call_id: CallId,
    /// The leg to record.
    pub leg: LegId,
    /// Our id of the recording: the file or platform name is built from it
    /// ([`Self::file_stem`]), never from caller text.
    pub id: RecordingId,
    /// The format; the provider's default when `None`.
    pub format: Option<RecordingFormat>,
}

impl RecordingRequest {
    /// A request for a new recording of `leg` (a fresh id, the provider's format).
    pub fn new(call_id: CallId, leg: LegId) -> Self {
        Self {
            call_id,
            leg,
            id: RecordingId::new_random(),
            format: None,
        }
    }

    /// The name every provider gives the recording's file (without directory or extension):
    /// `hookflash-<call id>-<recording id>`, hex digits and dashes only, so it is never a
    /// path and never the name of another recording.
    pub fn file_stem(&self) -> String {
        format!("hookflash-{}-{}", self.call_id, self.id)
    }
}
