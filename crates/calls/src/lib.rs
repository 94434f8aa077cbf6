//! The hookflash call tracker: provider [`LegEvent`](hookflash_provider::LegEvent)s in,
//! [`CallUpdate`]s out.
//!
//! Sans-IO and deterministic: no sockets, no clock of its own, no locks. Every method takes
//! `now` (the driver's clock, for timers); each event's own `at` orders it among its call's
//! events. One [`Tracker`] serves one provider connection.
//!
//! # Driving it
//! - [`Tracker::register_originate`] when hookflash asks for an agent-first call: the call
//!   exists at once (state `created`, direction outbound) and an originate failure that names
//!   no leg still lands on it.
//! - [`Tracker::apply`] for every leg event; [`Tracker::merge_snapshot`] with the provider's
//!   live legs after a reconnect (calls whose legs vanished are closed with the reason
//!   `ended while disconnected`, at the last time they were heard of).
//! - [`Tracker::expire`] whenever [`Tracker::poll_timeout`] has passed: it emits the final
//!   `ended` updates, announces orphan calls, closes silent calls (`silent past max age`) and
//!   evicts ended ones.
//!
//! # What an update means
//! - `created`: the first update of a call. `updated`: anything changed (the record is the
//!   whole call, every time). `ended`: the last update with a new outcome; exactly one per
//!   call. [`CallRecord::seq`] grows with every update of a call.
//! - A call whose legs have all hung up shows `state: ended` with its disposition at once;
//!   the `ended` update follows once [`TrackerConfig::reorder_window`] has passed (by `now`),
//!   so an event that arrives late but belongs before the end is still placed. Events after
//!   the `ended` update are added to the timeline (as `updated`) and change no outcome.
//!
//! # How legs become calls
//! A leg joins the call of our call id when it carries one (`HOOKFLASH_CALL_ID`), else the
//! call of its linkedid, else the call of its Local-pair twin (`;1`/`;2`), its peer, or a leg
//! the event names (dial target, park retriever). A leg whose linkedid changes to another
//! call's (a park pickup at its bridge) moves there with its events; `Unparked { by }` pulls
//! the retriever in even before its own events arrive. A leg with none of these starts an
//! inbound call (its id derived from the linkedid, [`CallRecord::derived_id`]), announced
//! once a second leg joins or after [`TrackerConfig::orphan_grace`], so a leg whose call id
//! arrives a moment later is merged silently. Roles: the first leg of an outbound call is the
//! agent's, the next the customer's, later ones second agents; an inbound call's first leg is
//! the customer's and the legs it dials are agents (`offered_to`); legs the translator marks
//! as a plumbing pair ([`hookflash_provider::Correlation::local_pair`]) are plumbing, never
//! parties; a provider's explicit role in `Created` wins. The tracker knows no platform: it
//! reads neutral events only (dial outcomes, originate failure kinds, cause classes).
//!
//! # Outcomes
//! Exactly one [`Disposition`] per ended call: `answered` when the customer was bridged with
//! an agent; else, when the customer was dialled, from the customer's dial outcome (or the
//! agent's [`hookflash_provider::LegEventKind::DialFailed`], as when the trunk is unreachable
//! and no customer leg exists) or its hangup cause's class; else from the agent's leg (busy,
//! no answer) or the originate failure.
//! `hung_up_by` (connected calls only) is the party whose leg got the first remote hangup
//! request after the last hand-off (transfer, park); `system` when none did.
//!
//! # Bounds
//! Ended calls are evicted after [`TrackerConfig::ended_linger`] and remembered as tombstones
//! (so their stray events start no phantom call); silent calls are closed after
//! [`TrackerConfig::max_silence`]; at most [`TrackerConfig::max_calls`] live calls; each
//! timeline holds at most [`TrackerConfig::timeline_limit`] entries (older ones are folded into
//! the record and counted in [`CallRecord::timeline_dropped`]).
//!
//! ```
//! use chrono::{DateTime, TimeDelta};
//! use hookflash_calls::{Disposition, Tracker, TrackerConfig, UpdateKind};
//! use hookflash_provider::{CallId, HangupCause, HangupSide, LegEvent, LegEventKind, LegId, TenantId};
//!
//! let mut tracker = Tracker::new(TrackerConfig::default());
//! let call = CallId::new_random();
//! let t0 = DateTime::from_timestamp(1_795_315_411, 0).unwrap();
//! tracker.register_originate(call, TenantId::new_random(), "PJSIP/agent1001", "5551204005", t0);
//! let agent = LegId::new("1795315411.4").unwrap();
//! let busy = LegEvent::new(
//!     agent,
//!     t0 + TimeDelta::milliseconds(3),
//!     LegEventKind::HungUp { cause: HangupCause::from_code(17), side: HangupSide::Remote },
//! )
//! .with_call_id(call);
//! tracker.apply(&busy, busy.at);
//! let updates = tracker.expire(busy.at + TimeDelta::seconds(5));
//! assert_eq!(updates[0].kind, UpdateKind::Ended);
//! assert_eq!(updates[0].record.disposition, Some(Disposition::AgentBusy));
//! ```
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
    MuteState, OfferRecord, OfferState, ParkOutcome, ParkRecord, Party, PartyDigits,
    RecordingRecord, TimelineEntry, TransferRecord, TransferResult, UpdateKind,
};
pub use tracker::Tracker;

/// Comparing records with `testdata/asterisk-22/expected.json` (feature `testing`).
#[cfg(feature = "testing")]
pub mod expect;
