//! [`TwilioProvider`]: call control over Twilio Programmable Voice, its shared state and
//! the webhook router's handle to it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use hookflash_provider::{
    CallId, Capabilities, Capability, LegId, LegRole, ProviderError, ProviderEvent,
};
use tokio::sync::broadcast;

use crate::api::{Form, TwilioApi};
use crate::config::{BridgeMode, TwilioConfig, is_sid};
use crate::error::TwilioError;
use crate::registry::TwilioTranslator;
use crate::replay::ReplayGuard;
use crate::urls::Urls;

mod commands;
mod inner;
mod originate;

/// The call-progress events asked for on every leg.
pub(crate) const CALL_EVENTS: [&str; 4] = ["initiated", "ringing", "answered", "completed"];

/// How many calls the provider remembers (legs, conference SIDs) at most.
const MAX_CALLS: usize = 50_000;

/// Twilio's `Timeout` bounds, in seconds.
const MAX_TIMEOUT_SECS: u64 = 600;

/// Who a `<Dial>` dials, and how.
#[derive(Debug, Clone)]
pub(crate) struct DialTarget<'a> {
    pub(crate) role: LegRole,
    pub(crate) destination: &'a str,
    pub(crate) caller_id: Option<&'a str>,
    pub(crate) timeout_secs: Option<u64>,
    pub(crate) record: bool,
    pub(crate) amd: Option<crate::config::MachineDetection>,
}

#[derive(Debug, Clone)]
struct Transfer {
    call_id: CallId,
    transferer: String,
    transferee: Option<String>,
    target: String,
    destination: String,
}

/// State shared by the provider and its webhook router.
#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) config: TwilioConfig,
    pub(crate) api: TwilioApi,
    pub(crate) urls: Urls,
    events: broadcast::Sender<ProviderEvent>,
    registry: Mutex<TwilioTranslator>,
    pub(crate) replay: Mutex<ReplayGuard>,
    transfers: Mutex<HashMap<String, Transfer>>,
}

pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    match mutex.lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    }
}

/// [`CallProvider`](hookflash_provider::CallProvider) over Twilio Programmable Voice.
///
/// Commands are REST requests; their effects arrive as status callbacks on the webhook router
/// ([`crate::webhook_router`] over [`TwilioProvider::webhook_state`]), which must be reachable
/// at [`TwilioConfig::public_base_url`]. Events are broadcast to every
/// [`CallProvider::events`](hookflash_provider::CallProvider::events)
/// subscriber; one that falls more than [`TwilioConfig::event_capacity`] events behind gets
/// [`ProviderEvent::Lagged`].
#[derive(Debug, Clone)]
pub struct TwilioProvider {
    pub(crate) inner: Arc<Inner>,
}

/// The state the webhook router needs; get it from [`TwilioProvider::webhook_state`].
#[derive(Debug, Clone)]
pub struct WebhookState {
    pub(crate) inner: Arc<Inner>,
}

fn invalid(field: &str, reason: &str) -> ProviderError {
    ProviderError::InvalidRequest {
        field: field.to_owned(),
        reason: reason.to_owned(),
    }
}

fn check_text(field: &str, value: &str) -> Result<(), ProviderError> {
    if value.trim().is_empty() {
        return Err(invalid(field, "must not be empty"));
    }
    if value.chars().any(char::is_control) {
        return Err(invalid(field, "must not contain control characters"));
    }
    Ok(())
}

fn call_sid(field: &str, leg: &LegId) -> Result<String, ProviderError> {
    if is_sid(leg.as_str(), "CA") {
        Ok(leg.as_str().to_owned())
    } else {
        Err(invalid(field, "not a Twilio call SID (CA + 32 hex digits)"))
    }
}

fn timeout_secs(d: std::time::Duration) -> u64 {
    d.as_secs().clamp(5, MAX_TIMEOUT_SECS)
}

impl TwilioProvider {
    /// A provider for the configured account.
    ///
    /// # Errors
    /// [`TwilioError::Config`] for a bad configuration.
    pub fn new(config: TwilioConfig) -> Result<Self, TwilioError> {
        let api = TwilioApi::new(&config)?;
        let (events, _) = broadcast::channel(config.event_capacity);
        let inner = Inner {
            urls: Urls::new(&config.public_base_url),
            replay: Mutex::new(ReplayGuard::new(
                config.replay_window,
                config.replay_capacity,
            )),
            config,
            api,
            events,
            registry: Mutex::new(TwilioTranslator::new(MAX_CALLS)),
            transfers: Mutex::new(HashMap::new()),
        };
        Ok(Self {
            inner: Arc::new(inner),
        })
    }

    /// The state to build the webhook router from.
    pub fn webhook_state(&self) -> WebhookState {
        WebhookState {
            inner: Arc::clone(&self.inner),
        }
    }

    /// The REST client, for operations the trait does not cover.
    pub fn api(&self) -> &TwilioApi {
        &self.inner.api
    }

    fn leg_call(&self, sid: &str) -> Result<(CallId, LegRole), ProviderError> {
        self.inner
            .registry()
            .leg(sid)
            .ok_or_else(|| ProviderError::NotFound {
                what: format!("leg {sid} (not a leg of a call this provider placed)"),
            })
    }

    fn conference_call(&self, sid: &str, capability: Capability) -> Result<CallId, ProviderError> {
        let (call_id, _) = self.leg_call(sid)?;
        let bridge = self.inner.registry().call(call_id).map(|c| c.bridge);
        if bridge != Some(BridgeMode::Conference) {
            return Err(ProviderError::Unsupported {
                capability,
                why: format!(
                    "call {call_id} is bridged with <Dial>; this needs a conference \
                     (originate it with TwilioProvider::originate_with and BridgeMode::Conference, \
                     or set TwilioConfig::bridge)"
                ),
            });
        }
        Ok(call_id)
    }

    async fn update_participant(
        &self,
        sid: &str,
        capability: Capability,
        form: Form,
    ) -> Result<(), ProviderError> {
        let call_id = self.conference_call(sid, capability)?;
        let conference = self.inner.conference_sid(call_id).await?;
        self.inner
            .api
            .update_participant(&conference, sid, &form)
            .await?;
        Ok(())
    }

    /// Mute and unmute are one participant update: Twilio mutes a participant's own audio
    /// (what the leg sends), so only that direction can be honoured.
    async fn set_muted(
        &self,
        leg: &LegId,
        direction: hookflash_provider::MediaDirection,
        muted: bool,
    ) -> Result<(), ProviderError> {
        let sid = call_sid("leg", leg)?;
        if direction != hookflash_provider::MediaDirection::In {
            return Err(ProviderError::Unsupported {
                capability: Capability::Mute,
                why: "Twilio mutes a participant's own audio only (direction `in`)".to_owned(),
            });
        }
        self.update_participant(&sid, Capability::Mute, vec![("Muted", muted.to_string())])
            .await
    }

    async fn update_recording(
        &self,
        leg: &LegId,
        recording: &str,
        status: &str,
    ) -> Result<(), ProviderError> {
        let sid = call_sid("leg", leg)?;
        if !(is_sid(recording, "RE") || recording == "Twilio.CURRENT") {
            return Err(invalid(
                "recording",
                "not a recording SID (RE + 32 hex digits)",
            ));
        }
        self.inner
            .api
            .update_call_recording(&sid, recording, status)
            .await?;
        Ok(())
    }

    fn capabilities_for(bridge: BridgeMode) -> Capabilities {
        let conference_note = match bridge {
            BridgeMode::Conference => "every call is placed in a per-call conference",
            BridgeMode::Dial => {
                "only on calls placed in conference mode (HOOKFLASH_TWILIO_BRIDGE=conference); \
                 <Dial>-bridged calls answer Unsupported"
            }
        };
        Capabilities::new()
            .native(
                Capability::Originate,
                "CreateCall to the agent; its voice webhook <Dial>s the customer \
                 (or joins a per-call <Conference> and adds the customer as a participant)",
            )
            .native(
                Capability::Hangup,
                "UpdateCall Status=completed (canceled while ringing); the Q.850 cause is ignored",
            )
            .unsupported(
                Capability::Answer,
                "Twilio answers inbound calls through TwiML, not through the REST API",
            )
            .emulated(
                Capability::BlindTransfer,
                "UpdateCall of the transferee with new TwiML <Dial>ing the destination; the \
                 agent's <Dial> ends and the agent leg is hung up",
            )
            .emulated(
                Capability::AttendedTransfer,
                format!(
                    "through the call's conference: customer held (UpdateParticipant Hold), \
                     destination added (CreateParticipant), agent removed on completion; {conference_note}"
                ),
            )
            .unsupported(
                Capability::Park,
                "Twilio has no parking lot; use hold in a conference call",
            )
            .emulated(
                Capability::Hold,
                format!("UpdateParticipant Hold=true/false in the call's conference; {conference_note}"),
            )
            .emulated(
                Capability::Mute,
                format!(
                    "UpdateParticipant Muted: only the leg's own audio (direction `in`); {conference_note}"
                ),
            )
            .emulated(
                Capability::Dtmf,
                format!(
                    "UpdateCall replaces the leg's TwiML with <Play digits> followed by a \
                     <Dial><Conference> back into the call: the leg leaves the conference \
                     while the digits play; {conference_note}"
                ),
            )
            .native(
                Capability::Recording,
                "CreateCallRecording / UpdateCallRecording Status=stopped (Recordings API)",
            )
            .native(
                Capability::RecordingPause,
                "UpdateCallRecording Status=paused / in-progress; Twilio sends no callback for \
                 these, so the events are emitted when Twilio accepts the request",
            )
            .native(
                Capability::Snapshot,
                "ListCall Status=queued, ringing and in-progress",
            )
            .unsupported(
                Capability::InboundCalls,
                "the webhooks serve only calls this provider placed (the call id rides in each \
                 callback URL): a call into a Twilio number needs that number's voice URL and \
                 a queue in TwiML, which this provider does not serve",
            )
    }
}
