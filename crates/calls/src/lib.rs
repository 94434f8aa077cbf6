//! The hookflash call tracker: provider [`LegEvent`](hookflash_provider::LegEvent)s in,
//! [`CallUpdate`]s out.
//!
//! Sans-IO: no sockets, no clock of its own. Every method takes `now`; a driver calls
//! [`Tracker::expire`] when [`Tracker::poll_timeout`] says.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod config;
mod error;
mod fold;
mod ids;
mod record;
mod tracker;

pub use config::TrackerConfig;
pub use error::CallsError;
pub use record::{
    CallRecord, CallState, CallUpdate, Direction, Disposition, LegRecord, LegStatus, MuteFlags,
    MuteState, ParkOutcome, ParkRecord, Party, PartyDigits, RecordingRecord, TimelineEntry,
    TransferRecord, TransferResult, UpdateKind,
};
pub use tracker::Tracker;

/// Comparing records with `testdata/asterisk-22/expected.json` (feature `testing`).
#[cfg(feature = "testing")]
pub mod expect;
