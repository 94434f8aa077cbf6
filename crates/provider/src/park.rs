//! The parking lot as a provider sees it, and a pick-up request.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{CallId, LegId};

/// A leg waiting in a parking lot, as [`CallProvider::parked_calls`](crate::CallProvider::parked_calls)
/// lists it: enough for an agent to choose one and pick it up by its slot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ParkedCall {
    /// The parking space (`701`): what a pick-up names.
    pub slot: String,
    /// The parking lot, when not the default.
    pub lot: Option<String>,
    /// The parked leg.
    pub leg: LegId,
    /// Our call id of the parked leg, when it carries one (a call parked by a phone on its own
    /// has none, and belongs to no tenant).
    pub call_id: Option<CallId>,
    /// When it was parked, where the platform says.
    pub parked_at: Option<DateTime<Utc>>,
    /// How long it waits in all before it is sent back to its parker.
    pub timeout: Option<Duration>,
    /// Who parked it (the parker's endpoint, `PJSIP/agent1001`), where known.
    pub parker: Option<String>,
}

impl ParkedCall {
    /// A parked leg in `slot` with nothing else known.
    pub fn new(slot: impl Into<String>, leg: LegId) -> Self {
        Self {
            slot: slot.into(),
            lot: None,
            leg,
            call_id: None,
            parked_at: None,
            timeout: None,
            parker: None,
        }
    }
}

/// Pick a parked leg up: ring `endpoint`, and connect it to the leg in `slot` once it answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PickupRequest {
    /// The parked call (the picking-up leg is stamped with it: it is that call's agent leg).
    pub call_id: CallId,
    /// The parking space.
    pub slot: String,
    /// The parking lot, when not the default.
    pub lot: Option<String>,
    /// The endpoint of the agent who picks up (`PJSIP/agent1002`), from the agent's own
    /// configuration, never from request text.
    pub endpoint: String,
    /// How long the agent's phone rings before the pick-up is given up (the leg stays parked).
    pub ring_timeout: Duration,
}

impl PickupRequest {
    /// A pick-up of `slot` for `call_id` by `endpoint`, ringing 20 s.
    pub fn new(call_id: CallId, slot: impl Into<String>, endpoint: impl Into<String>) -> Self {
        Self {
            call_id,
            slot: slot.into(),
            lot: None,
            endpoint: endpoint.into(),
            ring_timeout: Duration::from_secs(20),
        }
    }
}
