use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use hookflash_provider::{
    AttendedTransferRequest, BlindTransferRequest, CallId, CallProvider, Capabilities, Capability,
    Correlation, DtmfDirection, HangupCause, LegEvent, LegEventKind, LegEventStream, LegId,
    LegRole, LegSnapshot, LegState, MediaDirection, OriginateRequest, ParkRequest, ProviderError,
    ProviderEvent, RecordingFormat, RecordingRequest, TransferId, TransferKind, TransferOutcome,
};
use tokio::sync::broadcast;

use crate::api::{Form, TwilioApi};
use crate::config::{BridgeMode, TwilioConfig, is_sid};
use crate::error::TwilioError;
use crate::registry::{CallInfo, Registry};
use crate::replay::ReplayGuard;
use crate::twiml::{self, Element};
use crate::urls::{DialPlan, Urls};

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
    registry: Mutex<Registry>,
    pub(crate) replay: Mutex<ReplayGuard>,
    transfers: Mutex<HashMap<String, Transfer>>,
}

pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    match mutex.lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    }
}

impl Inner {
    pub(crate) fn registry(&self) -> MutexGuard<'_, Registry> {
        lock(&self.registry)
    }

    pub(crate) fn publish(&self, events: impl IntoIterator<Item = LegEvent>) {
        for event in events {
            tracing::debug!(leg = %event.leg, kind = event.kind.name(), "twilio leg event");
            // No subscriber is not an error: events are only for whoever listens now.
            let _ = self.events.send(ProviderEvent::Leg(event));
        }
    }

    fn publish_kind_at(&self, sid: &str, call_id: CallId, at: DateTime<Utc>, kind: LegEventKind) {
        let event = self.registry().event(sid, call_id, at, kind);
        self.publish(event);
    }

    /// The conference SID of a call: from its callbacks, else looked up by friendly name.
    async fn conference_sid(&self, call_id: CallId) -> Result<String, ProviderError> {
        if let Some(sid) = self
            .registry()
            .call(call_id)
            .and_then(|c| c.conference.clone())
        {
            return Ok(sid);
        }
        let found = self
            .api
            .list_conferences(&call_id.to_string(), "in-progress")
            .await?;
        let sid =
            found
                .into_iter()
                .next()
                .map(|c| c.sid)
                .ok_or_else(|| ProviderError::NotFound {
                    what: format!("in-progress conference {call_id}"),
                })?;
        self.registry().set_conference(call_id, &sid);
        Ok(sid)
    }

    /// Adds the customer to the call's conference (conference mode, once the agent answered).
    pub(crate) async fn add_customer(
        &self,
        call_id: CallId,
        agent_sid: Option<&str>,
        plan: &DialPlan,
    ) -> Result<String, TwilioError> {
        let from = plan
            .caller_id
            .clone()
            .or_else(|| self.config.agent_caller_id.clone())
            .unwrap_or_default();
        let mut form: Form = vec![
            ("From", from),
            ("To", plan.customer.clone()),
            ("Label", "customer".to_owned()),
            (
                "StatusCallback",
                match agent_sid {
                    Some(agent) => self
                        .urls
                        .participant_status(call_id, LegRole::Customer, agent),
                    None => self.urls.status(call_id, LegRole::Customer),
                },
            ),
            ("StatusCallbackMethod", "POST".to_owned()),
            ("StatusCallbackEvent", CALL_EVENTS.join(" ")),
            ("Timeout", plan.timeout_secs.to_string()),
            ("StartConferenceOnEnter", "true".to_owned()),
            ("EndConferenceOnExit", "true".to_owned()),
            ("Beep", "false".to_owned()),
        ];
        if let Some(amd) = plan.amd {
            form.push(("MachineDetection", amd.as_str().to_owned()));
            form.push(("AmdStatusCallback", self.urls.amd(call_id)));
            form.push(("AmdStatusCallbackMethod", "POST".to_owned()));
        }
        let participant = self
            .api
            .create_participant(&call_id.to_string(), &form)
            .await;
        match participant {
            Ok(p) => {
                let mut reg = self.registry();
                reg.set_leg(call_id, &p.call_sid, LegRole::Customer);
                reg.set_conference(call_id, &p.conference_sid);
                Ok(p.call_sid)
            }
            Err(err) => {
                tracing::warn!(%call_id, error = %err, "could not add the customer; ending the agent leg");
                if let Some(agent) = agent_sid {
                    let form: Form = vec![("Status", "completed".to_owned())];
                    let _ = self.api.update_call(agent, &form).await;
                }
                Err(err)
            }
        }
    }

    /// Ends the agent's leg of a conference call whose customer was not reached: nobody else
    /// will join the agent in the conference.
    pub(crate) async fn end_lonely_agent(&self, agent: &str) {
        let requested = self.registry().note_hangup_request(agent, Utc::now());
        self.publish(requested);
        let form: Form = vec![("Status", "completed".to_owned())];
        if let Err(err) = self.api.update_call(agent, &form).await {
            tracing::warn!(%agent, error = %err, "could not end the agent leg of an unanswered call");
        }
    }

    /// The `<Dial><Conference>` that puts a leg (back) into its call's conference.
    pub(crate) fn conference_dial(
        &self,
        call_id: CallId,
        role: LegRole,
        record: bool,
        end_on_exit: bool,
    ) -> Element {
        let conference = Element::new("Conference")
            .attr("statusCallback", self.urls.conference(call_id))
            .attr("statusCallbackMethod", "POST")
            .attr("statusCallbackEvent", "start end join leave mute hold")
            .attr("startConferenceOnEnter", "true")
            .attr(
                "endConferenceOnExit",
                if end_on_exit { "true" } else { "false" },
            )
            .attr("beep", "false");
        let conference = if record {
            conference
                .attr("record", "record-from-start")
                .attr("recordingStatusCallback", self.urls.recording(call_id))
                .attr("recordingStatusCallbackMethod", "POST")
                .attr(
                    "recordingStatusCallbackEvent",
                    "in-progress completed absent",
                )
        } else {
            conference
        };
        Element::new("Dial")
            .attr("action", self.urls.dial_action(call_id, role))
            .attr("method", "POST")
            .child(conference.text(call_id.to_string()))
    }

    /// The `<Dial>` of a destination, with status callbacks on the dialled leg.
    pub(crate) fn dial_destination(
        &self,
        call_id: CallId,
        dialler_role: LegRole,
        target: &DialTarget<'_>,
    ) -> Element {
        let mut noun = twiml::dial_noun(target.destination)
            .attr("statusCallback", self.urls.status(call_id, target.role))
            .attr("statusCallbackMethod", "POST")
            .attr("statusCallbackEvent", CALL_EVENTS.join(" "));
        if let Some(amd) = target.amd {
            noun = noun
                .attr("machineDetection", amd.as_str())
                .attr("amdStatusCallback", self.urls.amd(call_id))
                .attr("amdStatusCallbackMethod", "POST");
        }
        let mut dial = Element::new("Dial")
            .attr_opt("callerId", target.caller_id)
            .attr_opt("timeout", target.timeout_secs.map(|t| t.to_string()))
            .attr("action", self.urls.dial_action(call_id, dialler_role))
            .attr("method", "POST");
        if target.record {
            dial = dial
                .attr("record", "record-from-answer-dual")
                .attr("recordingStatusCallback", self.urls.recording(call_id))
                .attr("recordingStatusCallbackMethod", "POST")
                .attr(
                    "recordingStatusCallbackEvent",
                    "in-progress completed absent",
                );
        }
        dial.child(noun)
    }

    /// The TwiML the agent's leg runs once answered.
    pub(crate) fn agent_twiml(&self, call_id: CallId, plan: &DialPlan) -> String {
        match plan.bridge {
            BridgeMode::Dial => twiml::response([self.dial_destination(
                call_id,
                LegRole::Agent,
                &DialTarget {
                    role: LegRole::Customer,
                    destination: &plan.customer,
                    caller_id: plan.caller_id.as_deref(),
                    timeout_secs: Some(plan.timeout_secs),
                    record: plan.record,
                    amd: plan.amd,
                },
            )]),
            BridgeMode::Conference => {
                twiml::response([self.conference_dial(call_id, LegRole::Agent, plan.record, true)])
            }
        }
    }
}

/// [`CallProvider`] over Twilio Programmable Voice.
///
/// Commands are REST requests; their effects arrive as status callbacks on the webhook router
/// ([`crate::webhook_router`] over [`TwilioProvider::webhook_state`]), which must be reachable
/// at [`TwilioConfig::public_base_url`]. Events are broadcast to every [`CallProvider::events`]
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
            registry: Mutex::new(Registry::new(MAX_CALLS)),
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

impl TwilioProvider {
    /// [`CallProvider::originate`] with the bridge mode of this one call instead of
    /// [`TwilioConfig::bridge`] (a conference allows hold, mute and transfers on Twilio).
    ///
    /// # Errors
    /// As [`CallProvider::originate`].
    pub async fn originate_with(
        &self,
        request: OriginateRequest,
        bridge: BridgeMode,
    ) -> Result<(), ProviderError> {
        check_text("agent_endpoint", &request.agent_endpoint)?;
        check_text("customer_number", &request.customer_number)?;
        if let Some(caller_id) = &request.caller_id {
            check_text("caller_id", caller_id)?;
        }
        let agent_from = self
            .inner
            .config
            .agent_caller_id
            .clone()
            .or_else(|| request.caller_id.clone())
            .ok_or_else(|| {
                invalid(
                    "caller_id",
                    "Twilio needs a From for the agent leg: set TwilioConfig::agent_caller_id or the request's caller_id",
                )
            })?;
        let plan = DialPlan {
            customer: request.customer_number.trim().to_owned(),
            caller_id: request
                .caller_id
                .clone()
                .or_else(|| self.inner.config.agent_caller_id.clone()),
            timeout_secs: timeout_secs(request.customer_ring_timeout),
            record: request.record,
            bridge,
            amd: self.inner.config.customer_machine_detection,
        };
        let call_id = request.call_id;
        self.inner.registry().register_call(
            call_id,
            CallInfo {
                bridge,
                caller_id: plan.caller_id.clone(),
                ..CallInfo::default()
            },
        );
        let urls = &self.inner.urls;
        let mut form: Form = vec![
            ("To", request.agent_endpoint.trim().to_owned()),
            ("From", agent_from),
            ("Url", urls.voice(call_id, &plan)),
            ("Method", "POST".to_owned()),
            ("StatusCallback", urls.status(call_id, LegRole::Agent)),
            ("StatusCallbackMethod", "POST".to_owned()),
        ];
        for event in CALL_EVENTS {
            form.push(("StatusCallbackEvent", event.to_owned()));
        }
        form.push((
            "Timeout",
            timeout_secs(request.agent_ring_timeout).to_string(),
        ));
        let call = match self.inner.api.create_call(&form).await {
            Ok(call) => call,
            Err(e) => {
                let e = ProviderError::from(e);
                // Twilio refused the call: a fact for the tracker, which ends the call from
                // it (no callback will ever come). An unknown outcome is left to callbacks.
                if !e.is_outcome_unknown()
                    && let Ok(leg) = LegId::new(format!("originate-{call_id}"))
                {
                    let kind = LegEventKind::OriginateResult {
                        outcome: hookflash_provider::OriginateOutcome::Failed {
                            failure: hookflash_provider::OriginateFailure::Refused,
                            message: Some(e.to_string()),
                        },
                    };
                    self.inner
                        .publish([LegEvent::new(leg, Utc::now(), kind).with_call_id(call_id)]);
                }
                return Err(e);
            }
        };
        tracing::info!(%call_id, agent_leg = %call.sid, "Twilio accepted the agent leg");
        self.inner.registry().set_agent_leg(call_id, &call.sid);
        Ok(())
    }
}

#[async_trait]
impl CallProvider for TwilioProvider {
    fn capabilities(&self) -> Capabilities {
        Self::capabilities_for(self.inner.config.bridge)
    }

    async fn originate(&self, request: OriginateRequest) -> Result<(), ProviderError> {
        self.originate_with(request, self.inner.config.bridge).await
    }

    async fn hangup(&self, leg: &LegId, _cause: Option<HangupCause>) -> Result<(), ProviderError> {
        let sid = call_sid("leg", leg)?;
        let (status, requested) = {
            let mut reg = self.inner.registry();
            let status = if reg.is_ringing(&sid) {
                "canceled"
            } else {
                "completed"
            };
            (status, reg.note_hangup_request(&sid, Utc::now()))
        };
        let form: Form = vec![("Status", status.to_owned())];
        self.inner.api.update_call(&sid, &form).await?;
        self.inner.publish(requested);
        Ok(())
    }

    async fn answer(&self, _leg: &LegId) -> Result<(), ProviderError> {
        Err(ProviderError::Unsupported {
            capability: Capability::Answer,
            why: "Twilio answers inbound calls through TwiML, not through the REST API".to_owned(),
        })
    }

    async fn blind_transfer(&self, request: BlindTransferRequest) -> Result<(), ProviderError> {
        let sid = call_sid("leg", &request.leg)?;
        check_text("destination", &request.destination)?;
        let call_id = request.call_id;
        let caller_id = self
            .inner
            .registry()
            .call(call_id)
            .and_then(|c| c.caller_id.clone())
            .or_else(|| self.inner.config.agent_caller_id.clone());
        let dial = self.inner.dial_destination(
            call_id,
            LegRole::Customer,
            &DialTarget {
                role: LegRole::SecondAgent,
                destination: request.destination.trim(),
                caller_id: caller_id.as_deref(),
                timeout_secs: None,
                record: false,
                amd: None,
            },
        );
        let twiml = twiml::response([dial]);
        let form: Form = vec![("Twiml", twiml)];
        // The transferer's <Dial> ends with the redirect and our action URL hangs it up.
        if let Some(transferer) = &request.transferer
            && let Ok(agent) = call_sid("transferer", transferer)
        {
            let requested = self
                .inner
                .registry()
                .note_hangup_request(&agent, Utc::now());
            self.inner.publish(requested);
        }
        // Stamped before the request: Twilio may report the effects before it answers.
        let at = Utc::now();
        self.inner.api.update_call(&sid, &form).await?;
        let left = self.inner.registry().unbridge(&sid, call_id, at);
        self.inner.publish(left);
        self.inner.publish_kind_at(
            &sid,
            call_id,
            at,
            LegEventKind::Transferred {
                kind: TransferKind::Blind,
                to: Some(request.destination.trim().to_owned()),
                target: None,
                outcome: TransferOutcome::Success,
            },
        );
        Ok(())
    }

    async fn start_attended_transfer(
        &self,
        request: AttendedTransferRequest,
    ) -> Result<TransferId, ProviderError> {
        let transferer = call_sid("transferer", &request.transferer)?;
        check_text("destination", &request.destination)?;
        let call_id = self.conference_call(&transferer, Capability::AttendedTransfer)?;
        let transferee = match &request.transferee {
            Some(leg) => Some(call_sid("transferee", leg)?),
            None => self
                .inner
                .registry()
                .call(call_id)
                .and_then(|c| c.customer.clone()),
        };
        let conference = self.inner.conference_sid(call_id).await?;
        if let Some(customer) = &transferee {
            let form: Form = vec![("Hold", "true".to_owned())];
            self.inner
                .api
                .update_participant(&conference, customer, &form)
                .await?;
        }
        let from = self
            .inner
            .registry()
            .call(call_id)
            .and_then(|c| c.caller_id.clone())
            .or_else(|| self.inner.config.agent_caller_id.clone())
            .unwrap_or_default();
        let form: Form = vec![
            ("From", from),
            ("To", request.destination.trim().to_owned()),
            ("Label", "transfer".to_owned()),
            (
                "StatusCallback",
                self.inner.urls.status(call_id, LegRole::SecondAgent),
            ),
            ("StatusCallbackMethod", "POST".to_owned()),
            ("StatusCallbackEvent", CALL_EVENTS.join(" ")),
            ("StartConferenceOnEnter", "true".to_owned()),
            ("EndConferenceOnExit", "false".to_owned()),
            ("Beep", "false".to_owned()),
        ];
        let participant = match self
            .inner
            .api
            .create_participant(&call_id.to_string(), &form)
            .await
        {
            Ok(p) => p,
            Err(err) => {
                // The destination could not be dialled: give the customer back to the agent.
                if let Some(customer) = &transferee {
                    let form: Form = vec![("Hold", "false".to_owned())];
                    let _ = self
                        .inner
                        .api
                        .update_participant(&conference, customer, &form)
                        .await;
                }
                return Err(err.into());
            }
        };
        self.inner
            .registry()
            .set_leg(call_id, &participant.call_sid, LegRole::SecondAgent);
        let id = TransferId(format!("{call_id}/{}", participant.call_sid));
        lock(&self.inner.transfers).insert(
            id.0.clone(),
            Transfer {
                call_id,
                transferer,
                transferee,
                target: participant.call_sid,
                destination: request.destination.trim().to_owned(),
            },
        );
        Ok(id)
    }

    async fn complete_attended_transfer(&self, transfer: &TransferId) -> Result<(), ProviderError> {
        let t = lock(&self.inner.transfers)
            .get(&transfer.0)
            .cloned()
            .ok_or_else(|| ProviderError::NotFound {
                what: format!("transfer {transfer}"),
            })?;
        let at = Utc::now();
        let conference = self.inner.conference_sid(t.call_id).await?;
        let api = &self.inner.api;
        // The target now ends the call when it leaves; the agent no longer does.
        api.update_participant(
            &conference,
            &t.target,
            &vec![("EndConferenceOnExit", "true".to_owned())],
        )
        .await?;
        api.update_participant(
            &conference,
            &t.transferer,
            &vec![("EndConferenceOnExit", "false".to_owned())],
        )
        .await?;
        if let Some(customer) = &t.transferee {
            api.update_participant(&conference, customer, &vec![("Hold", "false".to_owned())])
                .await?;
        }
        let requested = self
            .inner
            .registry()
            .note_hangup_request(&t.transferer, Utc::now());
        api.update_call(&t.transferer, &vec![("Status", "completed".to_owned())])
            .await?;
        self.inner.publish(requested);
        lock(&self.inner.transfers).remove(&transfer.0);
        self.inner.registry().set_second(t.call_id, &t.target);
        if let Some(customer) = &t.transferee {
            self.inner.publish_kind_at(
                customer,
                t.call_id,
                at,
                LegEventKind::Transferred {
                    kind: TransferKind::Attended,
                    to: Some(t.destination.clone()),
                    target: LegId::new(t.target.clone()).ok(),
                    outcome: TransferOutcome::Success,
                },
            );
        }
        Ok(())
    }

    async fn cancel_attended_transfer(&self, transfer: &TransferId) -> Result<(), ProviderError> {
        let t = lock(&self.inner.transfers)
            .get(&transfer.0)
            .cloned()
            .ok_or_else(|| ProviderError::NotFound {
                what: format!("transfer {transfer}"),
            })?;
        let at = Utc::now();
        let requested = self
            .inner
            .registry()
            .note_hangup_request(&t.target, Utc::now());
        let status = if self.inner.registry().is_ringing(&t.target) {
            "canceled"
        } else {
            "completed"
        };
        self.inner
            .api
            .update_call(&t.target, &vec![("Status", status.to_owned())])
            .await?;
        self.inner.publish(requested);
        if let Some(customer) = &t.transferee {
            let conference = self.inner.conference_sid(t.call_id).await?;
            self.inner
                .api
                .update_participant(&conference, customer, &vec![("Hold", "false".to_owned())])
                .await?;
            self.inner.publish_kind_at(
                customer,
                t.call_id,
                at,
                LegEventKind::Transferred {
                    kind: TransferKind::Attended,
                    to: Some(t.destination.clone()),
                    target: LegId::new(t.target.clone()).ok(),
                    outcome: TransferOutcome::Cancelled,
                },
            );
        }
        lock(&self.inner.transfers).remove(&transfer.0);
        Ok(())
    }

    async fn park(&self, _request: ParkRequest) -> Result<(), ProviderError> {
        Err(ProviderError::Unsupported {
            capability: Capability::Park,
            why: "Twilio has no parking lot; use hold in a conference call".to_owned(),
        })
    }

    async fn hold(&self, leg: &LegId) -> Result<(), ProviderError> {
        let sid = call_sid("leg", leg)?;
        self.update_participant(&sid, Capability::Hold, vec![("Hold", "true".to_owned())])
            .await
    }

    async fn unhold(&self, leg: &LegId) -> Result<(), ProviderError> {
        let sid = call_sid("leg", leg)?;
        self.update_participant(&sid, Capability::Hold, vec![("Hold", "false".to_owned())])
            .await
    }

    async fn mute(&self, leg: &LegId, direction: MediaDirection) -> Result<(), ProviderError> {
        let sid = call_sid("leg", leg)?;
        if direction != MediaDirection::In {
            return Err(ProviderError::Unsupported {
                capability: Capability::Mute,
                why: "Twilio mutes a participant's own audio only (direction `in`)".to_owned(),
            });
        }
        self.update_participant(&sid, Capability::Mute, vec![("Muted", "true".to_owned())])
            .await
    }

    async fn unmute(&self, leg: &LegId, direction: MediaDirection) -> Result<(), ProviderError> {
        let sid = call_sid("leg", leg)?;
        if direction != MediaDirection::In {
            return Err(ProviderError::Unsupported {
                capability: Capability::Mute,
                why: "Twilio mutes a participant's own audio only (direction `in`)".to_owned(),
            });
        }
        self.update_participant(&sid, Capability::Mute, vec![("Muted", "false".to_owned())])
            .await
    }

    async fn send_dtmf(&self, leg: &LegId, digits: &str) -> Result<(), ProviderError> {
        let sid = call_sid("leg", leg)?;
        if digits.is_empty()
            || !digits
                .chars()
                .all(|c| c.is_ascii_digit() || matches!(c, '*' | '#' | 'w' | 'W'))
        {
            return Err(invalid(
                "digits",
                "only 0-9, *, # and w/W (pause) are allowed",
            ));
        }
        let call_id = self.conference_call(&sid, Capability::Dtmf)?;
        let role = self.leg_call(&sid)?.1;
        let conference = self.inner.conference_sid(call_id).await?;
        let ends_call = matches!(role, LegRole::Agent | LegRole::Customer);
        if ends_call {
            // Leaving for the redirect must not end the conference for the others.
            self.inner
                .api
                .update_participant(
                    &conference,
                    &sid,
                    &vec![("EndConferenceOnExit", "false".to_owned())],
                )
                .await?;
        }
        let at = Utc::now();
        let twiml = twiml::response([
            Element::new("Play").attr("digits", digits),
            self.inner.conference_dial(call_id, role, false, ends_call),
        ]);
        self.inner
            .api
            .update_call(&sid, &vec![("Twiml", twiml)])
            .await?;
        for digit in digits.chars().filter(|c| !matches!(c, 'w' | 'W')) {
            self.inner.publish_kind_at(
                &sid,
                call_id,
                at,
                LegEventKind::Dtmf {
                    digit,
                    direction: DtmfDirection::Sent,
                    duration_ms: None,
                },
            );
        }
        Ok(())
    }

    /// Twilio names the recording itself (its `RE…` SID, returned); it records WAV (also
    /// served as MP3), so another format is refused.
    async fn start_recording(&self, request: RecordingRequest) -> Result<String, ProviderError> {
        let sid = call_sid("leg", &request.leg)?;
        if request.format.is_some_and(|f| f != RecordingFormat::Wav) {
            return Err(invalid("format", "Twilio records wav only"));
        }
        let form: Form = vec![
            (
                "RecordingStatusCallback",
                self.inner.urls.recording(request.call_id),
            ),
            ("RecordingStatusCallbackMethod", "POST".to_owned()),
            (
                "RecordingStatusCallbackEvent",
                "in-progress completed absent".to_owned(),
            ),
            ("RecordingChannels", "dual".to_owned()),
        ];
        let recording = self.inner.api.create_call_recording(&sid, &form).await?;
        Ok(recording.sid)
    }

    async fn stop_recording(&self, leg: &LegId, recording: &str) -> Result<(), ProviderError> {
        self.update_recording(leg, recording, "stopped").await
    }

    async fn pause_recording(&self, leg: &LegId, recording: &str) -> Result<(), ProviderError> {
        let at = Utc::now();
        self.update_recording(leg, recording, "paused").await?;
        let known = self.inner.registry().leg(leg.as_str());
        if let Some((call_id, _)) = known {
            self.inner
                .publish_kind_at(leg.as_str(), call_id, at, LegEventKind::RecordingPaused);
        }
        Ok(())
    }

    async fn resume_recording(&self, leg: &LegId, recording: &str) -> Result<(), ProviderError> {
        let at = Utc::now();
        self.update_recording(leg, recording, "in-progress").await?;
        let known = self.inner.registry().leg(leg.as_str());
        if let Some((call_id, _)) = known {
            self.inner
                .publish_kind_at(leg.as_str(), call_id, at, LegEventKind::RecordingResumed);
        }
        Ok(())
    }

    fn events(&self) -> LegEventStream {
        let rx = self.inner.events.subscribe();
        Box::pin(futures::stream::unfold(rx, |mut rx| async move {
            match rx.recv().await {
                Ok(event) => Some((event, rx)),
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    Some((ProviderEvent::Lagged { missed }, rx))
                }
                Err(broadcast::error::RecvError::Closed) => None,
            }
        }))
    }

    async fn snapshot(&self) -> Result<Vec<LegSnapshot>, ProviderError> {
        let mut legs = Vec::new();
        for status in ["queued", "ringing", "in-progress"] {
            for call in self.inner.api.list_calls(status, 50).await? {
                let Ok(leg) = LegId::new(call.sid.clone()) else {
                    continue;
                };
                let reg = self.inner.registry();
                let known = reg.leg(&call.sid);
                let info = known.and_then(|(id, _)| reg.call(id).cloned());
                let keys = Correlation {
                    call_id: known.map(|(id, _)| id),
                    linkedid: info
                        .as_ref()
                        .and_then(|c| c.agent.clone())
                        .or_else(|| call.parent_call_sid.clone())
                        .or_else(|| Some(call.sid.clone())),
                    channel: None,
                    peer: None,
                    local_pair: None,
                };
                let state = match status {
                    "in-progress" => LegState::Up,
                    "ringing" => LegState::Ringing,
                    _ => LegState::Down,
                };
                legs.push(LegSnapshot {
                    leg,
                    keys,
                    state,
                    bridge: info.and_then(|c| c.conference),
                    created_at: call
                        .start_time
                        .as_deref()
                        .or(call.date_created.as_deref())
                        .and_then(|t| DateTime::parse_from_rfc2822(t).ok())
                        .map(|t| t.with_timezone(&Utc)),
                });
            }
        }
        Ok(legs)
    }
}
