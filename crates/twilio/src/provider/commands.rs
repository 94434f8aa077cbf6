//! [`CallProvider`] for [`TwilioProvider`]: the REST requests behind each neutral command.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use hookflash_provider::{
    AttendedTransferRequest, BlindTransferRequest, CallProvider, Capabilities, Capability,
    Correlation, DtmfDirection, HangupCause, LegEventKind, LegEventStream, LegId, LegRole,
    LegSnapshot, LegState, MediaDirection, OriginateRequest, ParkRequest, ProviderError,
    ProviderEvent, RecordingFormat, RecordingRequest, TransferId, TransferKind, TransferOutcome,
};
use tokio::sync::broadcast;

use crate::api::Form;
use crate::twiml::{self, Element};

use super::{
    CALL_EVENTS, DialTarget, Transfer, TwilioProvider, call_sid, check_text, invalid, lock,
};

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
        self.set_muted(leg, direction, true).await
    }

    async fn unmute(&self, leg: &LegId, direction: MediaDirection) -> Result<(), ProviderError> {
        self.set_muted(leg, direction, false).await
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
