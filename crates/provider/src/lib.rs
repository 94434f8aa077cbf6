//! The provider-neutral vocabulary of hookflash.
//!
//! A *provider* is anything that can place and control calls: an Asterisk reached over AMI or
//! ARI, or Twilio. Every provider implements [`CallProvider`] and reports what happens to the
//! legs of a call as a stream of [`LegEvent`]s. The call tracker (`hookflash-calls`) turns those
//! events into call records; it is the one place where call state is decided, so commands such
//! as [`CallProvider::hold`] return once the provider accepted the request, and their effect
//! arrives later as events.
//!
//! This crate holds types and the trait only: no I/O.
//!
//! # Conventions
//! - A leg is one channel (Asterisk) or one call SID (Twilio), identified by a [`LegId`] that is
//!   unique within its provider.
//! - Our own call id ([`CallId`]) travels with the legs where the provider can carry it (the
//!   `HOOKFLASH_CALL_ID` channel variable on Asterisk, the callback URL on Twilio).
//! - Times are UTC wall-clock times taken from the provider's own event where it has one.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod capabilities;
mod cdr;
mod error;
mod event;
mod ids;
mod park;
mod probe;
mod provider;
mod recording;
mod request;
mod snapshot;
pub mod variables;

pub use capabilities::{Capabilities, Capability, Support};
pub use cdr::CdrRecord;
pub use error::ProviderError;
pub use event::{
    CauseClass, Correlation, DialOutcome, DtmfDirection, HangupCause, HangupRequester, HangupSide,
    LegEvent, LegEventKind, LegRole, MediaDirection, OriginateFailure, OriginateOutcome,
    TransferKind, TransferOutcome, UnparkReason,
};
pub use ids::{CallId, IdError, LegId, TenantId};
pub use park::{ParkedCall, PickupRequest};
pub use probe::{ProbeReport, ServerProbe, elapsed_ms as probe_elapsed_ms};
pub use provider::{CallProvider, LegEventStream, ProviderEvent};
pub use recording::{RecordingFormat, RecordingId, UnknownFormat};
pub use request::{
    AttendedTransferRequest, BlindTransferRequest, OriginateRequest, ParkRequest, RecordingRequest,
    TransferId,
};
pub use snapshot::{LegSnapshot, LegState};
pub use variables::{ChannelVariables, VariableError, VariableName};

/// The channel variable that carries our call id on every leg of an Asterisk call.
pub const CALL_ID_VARIABLE: &str = "HOOKFLASH_CALL_ID";
