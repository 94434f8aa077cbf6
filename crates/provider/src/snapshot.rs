use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::event::Correlation;
use crate::ids::LegId;

/// The coarse state of a live leg.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum LegState {
    /// Not yet ringing (being set up, or a channel created but not dialled).
    Down,
    /// Ringing.
    Ringing,
    /// Answered.
    Up,
}

/// A live leg as the provider lists it, for resync after a reconnect.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LegSnapshot {
    /// The provider's id of the leg.
    pub leg: LegId,
    /// The correlation keys the listing shows.
    pub keys: Correlation,
    /// The leg's state.
    pub state: LegState,
    /// The bridge it is in, if any.
    pub bridge: Option<String>,
    /// When the leg was created, if the listing says (AMI gives a duration).
    pub created_at: Option<DateTime<Utc>>,
}
