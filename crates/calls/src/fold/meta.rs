//! What the fold knows besides the events: the call's and legs' keys, the names of the
//! tracker's own timeline entries, and the canonical order of simultaneous entries.

use chrono::{DateTime, Utc};
use hookflash_provider::{CallId, LegEventKind, LegId, TenantId};

use crate::record::{Direction, TimelineEntry};

/// Timeline names of the tracker's own entries.
pub(crate) const NOTE_ORIGINATE: &str = "originate_requested";
pub(crate) const NOTE_CLOSED: &str = "closed";
pub(crate) const NOTE_VANISHED: &str = "leg_vanished";
pub(crate) const NOTE_MERGED: &str = "merged";

pub(crate) const REASON_DISCONNECTED: &str = "ended while disconnected";
pub(crate) const REASON_SILENT: &str = "silent past max age";
pub(crate) const REASON_FULL: &str = "evicted: tracker full";

/// What the tracker knows about a call besides its events.
#[derive(Debug, Clone)]
pub(crate) struct CallMeta {
    pub(crate) call_id: CallId,
    pub(crate) derived: bool,
    pub(crate) tenant: Option<TenantId>,
    pub(crate) direction: Direction,
    pub(crate) registered_at: Option<DateTime<Utc>>,
    pub(crate) agent_endpoint: Option<String>,
    pub(crate) customer_number: Option<String>,
    pub(crate) linkedid: Option<String>,
}

/// Per-leg facts that travel in the event keys rather than in the event kinds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LegInfo {
    pub(crate) leg: LegId,
    /// Whether the leg's events carry a call id (on some platforms only the agent's leg does).
    pub(crate) carries_id: bool,
    pub(crate) channel: Option<String>,
    pub(crate) linkedid: Option<String>,
    /// The plumbing-pair key the translator gave the leg, when it is one half of a pair.
    pub(crate) local_pair: Option<String>,
}

/// A canonical order for events that share a timestamp: a leg's life in its natural order.
pub(crate) fn kind_rank(entry: &TimelineEntry) -> u8 {
    let Some(kind) = &entry.detail else {
        return match entry.event.as_ref() {
            NOTE_ORIGINATE => 0,
            NOTE_VANISHED => 90,
            _ => 99,
        };
    };
    match kind {
        LegEventKind::Created { .. } => 1,
        LegEventKind::Renamed { .. } => 2,
        LegEventKind::VariableSet { .. } => 3,
        LegEventKind::Dialing { .. } => 4,
        LegEventKind::Ringing => 5,
        LegEventKind::Answered => 6,
        LegEventKind::OriginateResult { .. } => 7,
        LegEventKind::DialResult { .. } | LegEventKind::DialFailed { .. } => 8,
        LegEventKind::Unparked { .. } => 9,
        LegEventKind::Bridged { .. } => 10,
        LegEventKind::Held => 11,
        LegEventKind::Unheld => 12,
        LegEventKind::Muted { .. } => 13,
        LegEventKind::Unmuted { .. } => 14,
        LegEventKind::Dtmf { .. } => 15,
        LegEventKind::RecordingStarted { .. } => 16,
        LegEventKind::RecordingPaused => 17,
        LegEventKind::RecordingResumed => 18,
        LegEventKind::RecordingStopped { .. } => 19,
        LegEventKind::Transferred { .. } => 20,
        LegEventKind::Parked { .. } => 21,
        LegEventKind::Unbridged { .. } => 22,
        LegEventKind::HangupOrdered { .. } => 23,
        LegEventKind::HangupRequested { .. } => 24,
        LegEventKind::HungUp { .. } => 25,
        _ => 50,
    }
}
