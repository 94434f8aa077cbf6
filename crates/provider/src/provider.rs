use std::pin::Pin;

use async_trait::async_trait;
use futures::Stream;

use crate::capabilities::Capabilities;
use crate::error::ProviderError;
use crate::event::{HangupCause, HangupRequester, LegEvent, MediaDirection};
use crate::ids::LegId;
use crate::park::{ParkedCall, PickupRequest};
use crate::request::{
    AttendedTransferRequest, BlindTransferRequest, OriginateRequest, ParkRequest, RecordingRequest,
    TransferId,
};
use crate::snapshot::LegSnapshot;

/// What a provider's event stream carries: leg events, and what a consumer needs to stay right
/// across a lost connection.
///
/// Nearly every item is a `Leg`: boxing it would allocate once per event on the pipeline's hot
/// path to shrink the rare link-state items, hence the allowed size difference.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
#[allow(clippy::large_enum_variant)]
pub enum ProviderEvent {
    /// Something happened to a leg.
    Leg(LegEvent),
    /// The link to the platform dropped; events may be missed until [`ProviderEvent::Resynced`].
    Disconnected {
        /// Why, in the transport's words.
        reason: String,
    },
    /// The link is back and these are the legs live now; the consumer merges them
    /// (the tracker's `merge_snapshot`) to close calls that ended while it was down.
    Resynced {
        /// The live legs.
        legs: Vec<LegSnapshot>,
    },
    /// The consumer fell behind and this many events were dropped for it.
    Lagged {
        /// How many.
        missed: u64,
    },
    /// The platform's billing record of a leg that ended (Asterisk's CDR over AMI); the
    /// pipeline stores it beside the call. Boxed: rare and large.
    Cdr(Box<crate::CdrRecord>),
}

/// The stream returned by [`CallProvider::events`].
pub type LegEventStream = Pin<Box<dyn Stream<Item = ProviderEvent> + Send + 'static>>;

/// Call control over one platform (an Asterisk over AMI or ARI, Twilio).
///
/// Commands return once the platform accepted them; what they cause arrives as events on
/// [`CallProvider::events`]. Every method that the platform cannot do returns
/// [`ProviderError::Unsupported`], as [`CallProvider::capabilities`] says beforehand.
#[async_trait]
pub trait CallProvider: Send + Sync {
    /// What this provider can do, and how.
    fn capabilities(&self) -> Capabilities;

    /// Places an agent-first call: rings the agent, then dials the customer once the agent
    /// answers. Returns when the platform accepted the request.
    async fn originate(&self, request: OriginateRequest) -> Result<(), ProviderError>;

    /// Hangs a leg up, with a Q.850 cause where the platform takes one.
    async fn hangup(&self, leg: &LegId, cause: Option<HangupCause>) -> Result<(), ProviderError>;

    /// Hangs a leg up on behalf of `by` (who asked, as the API request says). A provider
    /// that can stamps `by` on the leg right before the hangup, so that its events report a
    /// [`crate::LegEventKind::HangupOrdered`] and the tracker knows who ended the call; the
    /// default hangs up without the stamp (the call then reads as ended by the system).
    async fn hangup_for(
        &self,
        leg: &LegId,
        cause: Option<HangupCause>,
        by: HangupRequester,
    ) -> Result<(), ProviderError> {
        let _ = by;
        self.hangup(leg, cause).await
    }

    /// Answers a ringing leg.
    async fn answer(&self, leg: &LegId) -> Result<(), ProviderError>;

    /// Sends a leg to a destination without consulting it.
    async fn blind_transfer(&self, request: BlindTransferRequest) -> Result<(), ProviderError>;

    /// Starts an attended transfer: the transferer consults the destination while the
    /// transferee waits.
    async fn start_attended_transfer(
        &self,
        request: AttendedTransferRequest,
    ) -> Result<TransferId, ProviderError>;

    /// Completes an attended transfer: the transferee and the destination are connected.
    async fn complete_attended_transfer(&self, transfer: &TransferId) -> Result<(), ProviderError>;

    /// Cancels an attended transfer: the transferer returns to the transferee.
    async fn cancel_attended_transfer(&self, transfer: &TransferId) -> Result<(), ProviderError>;

    /// Parks a leg.
    async fn park(&self, request: ParkRequest) -> Result<(), ProviderError>;

    /// The legs waiting in the parking lot now, the ones parked by others included (they carry
    /// no call id). The default: parking is not supported.
    async fn parked_calls(&self) -> Result<Vec<ParkedCall>, ProviderError> {
        Err(ProviderError::Unsupported {
            capability: crate::Capability::Park,
            why: "this provider has no parking lot".to_owned(),
        })
    }

    /// Picks a parked leg up: rings the agent's endpoint and connects it to the leg in the
    /// slot once it answers; the new leg is the call's agent leg. Returns once the platform
    /// accepted the request (the pick-up arrives as `Unparked { reason: Retrieved }`). The
    /// default: parking is not supported.
    async fn pickup_parked(&self, request: PickupRequest) -> Result<(), ProviderError> {
        let _ = request;
        Err(ProviderError::Unsupported {
            capability: crate::Capability::Park,
            why: "this provider has no parking lot".to_owned(),
        })
    }

    /// Puts a leg on hold (its party hears music on hold).
    async fn hold(&self, leg: &LegId) -> Result<(), ProviderError>;

    /// Takes a leg off hold.
    async fn unhold(&self, leg: &LegId) -> Result<(), ProviderError>;

    /// Mutes a leg's audio in one direction.
    async fn mute(&self, leg: &LegId, direction: MediaDirection) -> Result<(), ProviderError>;

    /// Unmutes a leg's audio in one direction.
    async fn unmute(&self, leg: &LegId, direction: MediaDirection) -> Result<(), ProviderError>;

    /// Sends DTMF digits towards a leg's party.
    async fn send_dtmf(&self, leg: &LegId, digits: &str) -> Result<(), ProviderError>;

    /// Starts recording; returns the recording's name (file name or platform id).
    async fn start_recording(&self, request: RecordingRequest) -> Result<String, ProviderError>;

    /// Stops a recording.
    async fn stop_recording(&self, leg: &LegId, recording: &str) -> Result<(), ProviderError>;

    /// Pauses a recording (silence is recorded, or nothing, as the platform does).
    async fn pause_recording(&self, leg: &LegId, recording: &str) -> Result<(), ProviderError>;

    /// Resumes a paused recording.
    async fn resume_recording(&self, leg: &LegId, recording: &str) -> Result<(), ProviderError>;

    /// The provider's events from now on. Each call returns a new subscription, bounded: one
    /// that falls behind gets [`ProviderEvent::Lagged`] and should resync
    /// ([`CallProvider::snapshot`]).
    fn events(&self) -> LegEventStream;

    /// A subscription for a consumer that must see every event (the event pipeline).
    ///
    /// A provider that can hold its source back overrides this with a stream that never lags:
    /// when the consumer is behind, the provider stops reading the platform (AMI: its socket,
    /// so the PBX's TCP buffer is the queue). The consumer must keep reading it while it waits
    /// for anything of the same provider. The default is [`CallProvider::events`], which may
    /// lag (its sources push events the provider cannot hold back: webhooks, a WebSocket).
    fn pipeline_events(&self) -> LegEventStream {
        self.events()
    }

    /// The legs live on the platform now.
    async fn snapshot(&self) -> Result<Vec<LegSnapshot>, ProviderError>;
}
