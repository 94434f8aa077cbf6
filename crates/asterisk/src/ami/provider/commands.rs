//! [`CallProvider`] for [`AmiProvider`]: the AMI actions behind each neutral command.

use async_trait::async_trait;
use chrono::Utc;
use hookflash_provider::{
    AttendedTransferRequest, BlindTransferRequest, CallId, CallProvider, Capabilities, Capability,
    DtmfDirection, HangupCause, HangupRequester, LegEventKind, LegEventStream, LegId, LegSnapshot,
    MediaDirection, OriginateRequest, ParkRequest, ParkedCall, PickupRequest, ProviderError,
    RecordingRequest, TransferId,
};

use crate::facts::HANGUP_BY_VARIABLE;

use super::super::translate::OriginateKind;
use super::super::{actions, park};
use super::{AmiProvider, check_digit, lock};

#[async_trait]
impl CallProvider for AmiProvider {
    fn capabilities(&self) -> Capabilities {
        let hold_gap = self.hold_gap();
        let caps = Capabilities::new()
            .native(
                Capability::Originate,
                "Async Originate of the agent's endpoint into the outbound context, which dials \
                 the customer (HOOKFLASH_CALL_ID, DIAL_TIMEOUT, HOOKFLASH_TRUNK variables)",
            )
            .native(Capability::Hangup, "Hangup with Cause")
            .unsupported(
                Capability::Answer,
                "AMI has no Answer action: answer in the dialplan",
            )
            .native(
                Capability::BlindTransfer,
                "BlindTransfer of the transferer's peer, or Redirect of the leg when no \
                 transferer is given",
            )
            .native(
                Capability::AttendedTransfer,
                "Atxfer (the features.conf atxfer code); complete = hang up the transferer; \
                 cancel = hang up the consultation (Local) leg",
            )
            .native(
                Capability::Park,
                "Park, with the parker called back on timeout",
            )
            .native(
                Capability::Mute,
                "MuteAudio per direction (Asterisk emits no event: the provider reports it)",
            )
            .native(Capability::Dtmf, "PlayDTMF, one action per digit")
            .native(Capability::Recording, "MixMonitor / StopMixMonitor")
            .native(
                Capability::RecordingPause,
                "MixMonitorMute of both directions",
            )
            .native(Capability::Snapshot, "CoreShowChannels")
            .native(
                Capability::InboundCalls,
                "the AMI event stream shows every channel: a carrier call into a DID that the \
                 dialplan queues to agents is translated from its channel, dial and bridge \
                 events like an originated call (conformance ami::inbound-queue)",
            );
        match hold_gap {
            Some(why) => caps.unsupported(Capability::Hold, why),
            None => caps.emulated(
                Capability::Hold,
                "AMI has no hold action: Redirect (with ExtraChannel) moves the held leg to \
                 music on hold in the hold context and its peer to the wait context; unhold \
                 bridges them again with the Bridge action (contexts checked at connect)",
            ),
        }
    }

    async fn originate(&self, request: OriginateRequest) -> Result<(), ProviderError> {
        if request.agent_endpoint.trim().is_empty() {
            return Err(ProviderError::InvalidRequest {
                field: "agent_endpoint".to_owned(),
                reason: "empty".to_owned(),
            });
        }
        if request.customer_number.trim().is_empty() {
            return Err(ProviderError::InvalidRequest {
                field: "customer_number".to_owned(),
                reason: "empty".to_owned(),
            });
        }
        lock(&self.inner.translator).expect_originate(request.call_id, OriginateKind::AgentFirst);
        let action = actions::originate(&self.inner.config, &request);
        let record = request
            .record
            .then(|| actions::recording_file(request.call_id));
        let result = self
            .spawn_originate(
                request.call_id,
                request.agent_endpoint.clone(),
                action,
                record,
            )
            .await;
        if let Err(e) = &result
            && !e.is_outcome_unknown()
        {
            // Not sent: a refusal the tracker ends the call from, like Asterisk's own.
            let out = lock(&self.inner.translator).on_originate_error(
                request.call_id,
                &request.agent_endpoint,
                &e.to_string(),
                Utc::now(),
            );
            self.inner.tx.publish_legs(out).await;
        }
        result
    }

    async fn hangup(&self, leg: &LegId, cause: Option<HangupCause>) -> Result<(), ProviderError> {
        let channel = self.channel(leg)?;
        self.send(actions::hangup(&channel, cause.map(|c| c.code)))
            .await
    }

    /// Stamps who asked (`HOOKFLASH_HANGUP_BY`, read back by the translator from its `VarSet`)
    /// right before the `Hangup`; a stamp that fails does not stop the hangup.
    async fn hangup_for(
        &self,
        leg: &LegId,
        cause: Option<HangupCause>,
        by: HangupRequester,
    ) -> Result<(), ProviderError> {
        let channel = self.channel(leg)?;
        let stamp = actions::setvar(&channel, HANGUP_BY_VARIABLE, by.as_str());
        if let Err(e) = self.send(stamp).await {
            tracing::debug!(%leg, error = %e, "could not stamp who asked for the hangup");
        }
        self.send(actions::hangup(&channel, cause.map(|c| c.code)))
            .await
    }

    async fn answer(&self, _leg: &LegId) -> Result<(), ProviderError> {
        Err(ProviderError::Unsupported {
            capability: Capability::Answer,
            why: "AMI has no Answer action: answer in the dialplan".to_owned(),
        })
    }

    async fn blind_transfer(&self, request: BlindTransferRequest) -> Result<(), ProviderError> {
        self.check_destination(&request.destination).await?;
        let context = self.inner.config.transfer_context.clone();
        let action = match &request.transferer {
            Some(transferer) => {
                actions::blind_transfer(&self.channel(transferer)?, &context, &request.destination)
            }
            None => actions::redirect(&self.channel(&request.leg)?, &context, &request.destination),
        };
        self.send(action).await
    }

    async fn start_attended_transfer(
        &self,
        request: AttendedTransferRequest,
    ) -> Result<TransferId, ProviderError> {
        self.check_destination(&request.destination).await?;
        let context = self.inner.config.transfer_context.clone();
        let channel = self.channel(&request.transferer)?;
        self.send(actions::atxfer(&channel, &context, &request.destination))
            .await?;
        Ok(TransferId(request.transferer.to_string()))
    }

    async fn complete_attended_transfer(&self, transfer: &TransferId) -> Result<(), ProviderError> {
        // Asterisk completes an attended transfer when the transferer hangs up.
        let transferer = LegId::new(transfer.0.clone()).map_err(|_| ProviderError::NotFound {
            what: format!("transfer {transfer}"),
        })?;
        let channel = self.channel(&transferer)?;
        self.send(actions::hangup(&channel, Some(16))).await
    }

    async fn cancel_attended_transfer(&self, transfer: &TransferId) -> Result<(), ProviderError> {
        // Hanging up the consultation leg returns the transferer to the transferee.
        let transferer = LegId::new(transfer.0.clone()).map_err(|_| ProviderError::NotFound {
            what: format!("transfer {transfer}"),
        })?;
        let consult = lock(&self.inner.translator)
            .consult_leg(&transferer)
            .ok_or_else(|| ProviderError::NotFound {
                what: format!("consultation leg of transfer {transfer}"),
            })?;
        let channel = self.channel(&consult)?;
        self.send(actions::hangup(&channel, Some(16))).await
    }

    async fn park(&self, request: ParkRequest) -> Result<(), ProviderError> {
        let channel = self.channel(&request.leg)?;
        let parker = match &request.parker {
            Some(p) => Some(self.channel(p)?),
            None => None,
        };
        let action = actions::park(
            &channel,
            parker.as_deref(),
            request.timeout,
            request.lot.as_deref(),
        );
        self.send(action).await
    }

    async fn parked_calls(&self) -> Result<Vec<ParkedCall>, ProviderError> {
        let (_, events) = self
            .inner
            .client
            .send_list(park::parked_calls())
            .await
            .map_err(super::provider_error)?;
        let translator = lock(&self.inner.translator);
        Ok(park::parked_from(&events, Utc::now(), |leg| {
            translator.call_of(leg)
        }))
    }

    /// Originates the agent's endpoint into the parking context's slot (the inherent
    /// [`AmiProvider::pickup_parked`]); the new leg carries a call id of its own, which the
    /// tracker ties to the parked call through `UnParkedCall`.
    async fn pickup_parked(&self, request: PickupRequest) -> Result<(), ProviderError> {
        if request.slot.is_empty() || !request.slot.chars().all(|c| c.is_ascii_digit()) {
            return Err(ProviderError::InvalidRequest {
                field: "slot".to_owned(),
                reason: "a parking space is digits only".to_owned(),
            });
        }
        AmiProvider::pickup_parked(
            self,
            CallId::new_random(),
            &request.endpoint,
            &request.slot,
            request.ring_timeout,
        )
        .await
    }

    async fn hold(&self, leg: &LegId) -> Result<(), ProviderError> {
        if let Some(why) = self.hold_gap() {
            return Err(ProviderError::Unsupported {
                capability: Capability::Hold,
                why,
            });
        }
        let held = self.channel(leg)?;
        let peer_leg =
            self.bridge_peers(leg)
                .into_iter()
                .next()
                .ok_or_else(|| ProviderError::Rejected {
                    reason: format!("leg {leg} is not bridged: nothing to hold it from"),
                })?;
        let peer = self.channel(&peer_leg)?;
        lock(&self.inner.translator).hold_started(leg, &peer_leg);
        let config = &self.inner.config;
        let action = actions::redirect_pair(
            &held,
            &config.hold_context,
            &peer,
            &config.hold_wait_context,
        );
        self.send(action).await
    }

    async fn unhold(&self, leg: &LegId) -> Result<(), ProviderError> {
        let pair =
            lock(&self.inner.translator)
                .held_pair(leg)
                .ok_or_else(|| ProviderError::Rejected {
                    reason: format!("leg {leg} was not put on hold by this provider"),
                })?;
        let held = self.channel(leg)?;
        let peer = LegId::new(pair.peer).map_err(|_| ProviderError::NotFound {
            what: "held leg's peer".to_owned(),
        })?;
        let peer = self.channel(&peer)?;
        self.send(actions::bridge(&peer, &held)).await
    }

    async fn mute(&self, leg: &LegId, direction: MediaDirection) -> Result<(), ProviderError> {
        let channel = self.channel(leg)?;
        self.send(actions::mute(&channel, direction, true)).await?;
        self.synth(leg, LegEventKind::Muted { direction }).await;
        Ok(())
    }

    async fn unmute(&self, leg: &LegId, direction: MediaDirection) -> Result<(), ProviderError> {
        let channel = self.channel(leg)?;
        self.send(actions::mute(&channel, direction, false)).await?;
        self.synth(leg, LegEventKind::Unmuted { direction }).await;
        Ok(())
    }

    async fn send_dtmf(&self, leg: &LegId, digits: &str) -> Result<(), ProviderError> {
        let channel = self.channel(leg)?;
        let duration = self.inner.config.dtmf_duration;
        for digit in digits.chars() {
            check_digit(digit)?;
            self.send(actions::play_dtmf(&channel, digit, duration, false))
                .await?;
            // PlayDTMF towards a channel emits no DTMF event.
            self.synth(
                leg,
                LegEventKind::Dtmf {
                    digit,
                    direction: DtmfDirection::Sent,
                    duration_ms: u32::try_from(duration.as_millis()).ok(),
                },
            )
            .await;
        }
        Ok(())
    }

    async fn start_recording(&self, request: RecordingRequest) -> Result<String, ProviderError> {
        let channel = self.channel(&request.leg)?;
        // Relative, and built from our ids only: MixMonitor writes it into its monitor
        // directory and nowhere else.
        let format = request.format.unwrap_or_default();
        let file = format!("{}.{format}", request.file_stem());
        let full = format!("{}/{file}", self.inner.config.monitor_dir);
        lock(&self.inner.translator).note_recording(&request.leg, full.clone());
        let options = &self.inner.config.mixmonitor_options;
        self.send(actions::mixmonitor(&channel, &file, options))
            .await?;
        Ok(full)
    }

    async fn stop_recording(&self, leg: &LegId, _recording: &str) -> Result<(), ProviderError> {
        let channel = self.channel(leg)?;
        self.send(actions::stop_mixmonitor(&channel)).await
    }

    async fn pause_recording(&self, leg: &LegId, _recording: &str) -> Result<(), ProviderError> {
        let channel = self.channel(leg)?;
        self.send(actions::mixmonitor_mute(&channel, true)).await
    }

    async fn resume_recording(&self, leg: &LegId, _recording: &str) -> Result<(), ProviderError> {
        let channel = self.channel(leg)?;
        self.send(actions::mixmonitor_mute(&channel, false)).await
    }

    fn events(&self) -> LegEventStream {
        self.inner.tx.subscribe()
    }

    /// Lossless: while this stream is full the provider stops reading the AMI socket.
    fn pipeline_events(&self) -> LegEventStream {
        self.inner.tx.subscribe_lossless()
    }

    async fn snapshot(&self) -> Result<Vec<LegSnapshot>, ProviderError> {
        let listing = self.list_channels().await?;
        let (mut legs, unkeyed) = {
            let mut t = lock(&self.inner.translator);
            let legs = t.snapshot_of(&listing, Utc::now());
            let unkeyed = t.unkeyed(&legs);
            (legs, unkeyed)
        };
        let found = super::call_ids_of(&self.inner.client, unkeyed).await;
        lock(&self.inner.translator).resolve_unkeyed(&found, &mut legs);
        Ok(legs)
    }
}
