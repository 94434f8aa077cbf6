//! The [`CallProvider`] commands of [`AriProvider`].

use futures::StreamExt;
use hookflash_ari::{
    BridgesAddChannelOptions, BridgesCreateOptions, ChannelsContinueInDialplanOptions,
    ChannelsHangupOptions, ChannelsMuteOptions, ChannelsOriginateOptions, ChannelsSendDTMFOptions,
    ChannelsSetChannelVarOptions, ChannelsUnmuteOptions,
};
use hookflash_provider::{
    AttendedTransferRequest, BlindTransferRequest, CallProvider, Capabilities, Capability,
    DtmfDirection, HangupCause, HangupRequester, LegEventKind, LegEventStream, LegId, LegRole,
    LegSnapshot, MediaDirection, OriginateRequest, ParkRequest, ParkedCall, PickupRequest,
    ProviderError, ProviderEvent, RecordingRequest, TransferId, TransferKind, TransferOutcome,
};
use serde_json::{Map, Value};
use tokio::sync::broadcast;

use crate::facts::HANGUP_BY_VARIABLE;

use super::book::{ARG_AGENT, ARG_TARGET, CallCtl, Consult, CustomerPlan, endpoint_of};
use super::park::Parked;
use super::provider::{AriProvider, Inner, caller_id_of, check_text, map_error, secs, snapshot};
use super::transfer::{Destination, PendingBlind, TRANSFER_RING_TIMEOUT};

/// How the AriProvider sees inbound calls (the `InboundCalls` row of its capabilities).
const INBOUND_CALLS: &str = "events of every channel (subscribeAll): a channel first seen in an \
     inbound context (AriProviderConfig::inbound_contexts) and the legs it dials, a queue's \
     agents included, although they never enter Stasis";

#[async_trait::async_trait]
impl CallProvider for AriProvider {
    fn capabilities(&self) -> Capabilities {
        Capabilities::new()
            .native(
                Capability::Originate,
                "POST /channels (agent into the Stasis app, chosen id), mixing bridge, then \
                 POST /channels/create + /dial (or POST /channels) of the customer",
            )
            .native(Capability::Hangup, "DELETE /channels/{id}")
            .native(Capability::Answer, "POST /channels/{id}/answer")
            .emulated(
                Capability::BlindTransfer,
                "POST /channels (the target into the Stasis app: Local/<exten>@<transfer \
                 context>/n, PJSIP/<endpoint> or PJSIP/<number>@<configured trunk>) while the \
                 customer stays with the agent; once the target answers it joins the bridge and \
                 the agent is hung up (Transferred success), if it ends first (busy, no answer \
                 in 20 s, unreachable) the customer stays (Transferred failed). A destination \
                 that does not exist (DIALPLAN_EXISTS read on the leg, GET /endpoints) is \
                 refused before anything moves",
            )
            .emulated(
                Capability::AttendedTransfer,
                "a second mixing bridge for the consultation (the customer hears music on hold); \
                 complete moves the target into the call's bridge and hangs the agent up",
            )
            .emulated(
                Capability::Park,
                "the parked leg continues into the park context: Park() in the first free \
                 space (device state park:<slot>@<context>, set as PARKINGEXTEN) with the \
                 requested timeout, and the agent is hung up; on timeout the leg comes back \
                 into the app and the parking agent's endpoint is originated as the call's \
                 agent leg; the lot is the provider's own record (ARI has no parking events); \
                 pick-up originates the agent into the slot (ParkedCall)",
            )
            .native(
                Capability::Hold,
                "POST/DELETE /channels/{id}/hold (no ARI event: Held/Unheld reported on the 204)",
            )
            .native(
                Capability::Mute,
                "POST/DELETE /channels/{id}/mute (no ARI event: Muted/Unmuted reported on the 204)",
            )
            .native(
                Capability::Dtmf,
                "POST /channels/{id}/dtmf; a phone's digits arrive as ChannelDtmfReceived \
                 (bridges are created `mixing,dtmf_events`: a native RTP bridge would pass \
                 RFC 4733 packets through unseen)",
            )
            .native(
                Capability::Recording,
                "POST /bridges/{id}/record (POST /channels/{id}/record outside a bridge)",
            )
            .native(
                Capability::RecordingPause,
                "POST/DELETE /recordings/live/{name}/pause",
            )
            .native(Capability::Snapshot, "GET /channels + GET /bridges")
            .native(Capability::InboundCalls, INBOUND_CALLS)
    }

    async fn originate(&self, request: OriginateRequest) -> Result<(), ProviderError> {
        let inner = &self.inner;
        inner.not_connected()?;
        check_text("agent_endpoint", &request.agent_endpoint)?;
        check_text("customer_number", &request.customer_number)?;
        if let Some(trunk) = &request.trunk {
            check_text("trunk", trunk)?;
        }
        // Checked by `ChannelVariables`: no reserved names, no function syntax (which ARI
        // would apply as a dialplan function), no control characters.
        let extra: Map<String, Value> = request
            .variables
            .iter()
            .map(|(k, v)| (k.to_string(), Value::String(v.to_owned())))
            .collect();
        let caller_id = caller_id_of(&request, inner.config.default_caller_id.as_deref());
        if let Some(c) = &caller_id {
            check_text("caller_id", c)?;
        }
        let call_id = request.call_id;
        let agent = inner.client.new_id();
        {
            let mut book = inner.book();
            book.stage(&agent, call_id, LegRole::Agent);
            book.calls.insert(
                call_id,
                CallCtl {
                    agent: Some(agent.clone()),
                    customer_plan: Some(CustomerPlan {
                        number: request.customer_number.clone(),
                        ring_timeout: request.customer_ring_timeout,
                        caller_id: caller_id.clone(),
                        variables: extra.clone(),
                        trunk: request.trunk.clone(),
                        record: request.record,
                    }),
                    ..CallCtl::default()
                },
            );
        }
        let endpoint = if request.agent_endpoint.contains('/') {
            request.agent_endpoint.clone()
        } else {
            format!("PJSIP/{}", request.agent_endpoint)
        };
        let mut options = ChannelsOriginateOptions::new();
        options.app = Some(inner.config.app.clone());
        options.app_args = Some(format!("{ARG_AGENT},{call_id}"));
        options.caller_id = caller_id;
        options.timeout = Some(secs(request.agent_ring_timeout));
        options.variables = Some(Value::Object(Inner::variables(call_id, &extra)));
        options.channel_id = Some(agent.clone());
        match inner.client.channels().originate(&endpoint, options).await {
            Ok(_) => Ok(()),
            Err(e) => {
                let error = map_error("originating the agent", e);
                let at = {
                    let mut book = inner.book();
                    book.translator.forget_channel(&agent);
                    book.calls.remove(&call_id);
                    book.now()
                };
                // A refusal is a fact for the tracker, which ends the call from it; an
                // unknown outcome is left to the channel's own events.
                if !error.is_outcome_unknown()
                    && let Ok(leg) = LegId::new(agent)
                {
                    let kind = LegEventKind::OriginateResult {
                        outcome: hookflash_provider::OriginateOutcome::Failed {
                            failure: hookflash_provider::OriginateFailure::Refused,
                            message: Some(error.to_string()),
                        },
                    };
                    let event =
                        hookflash_provider::LegEvent::new(leg, at, kind).with_call_id(call_id);
                    inner.send(ProviderEvent::Leg(event));
                }
                Err(error)
            }
        }
    }

    async fn hangup(&self, leg: &LegId, cause: Option<HangupCause>) -> Result<(), ProviderError> {
        self.inner.not_connected()?;
        let options = match cause {
            Some(c) => ChannelsHangupOptions::new().reason_code(c.code.to_string()),
            None => ChannelsHangupOptions::new().reason("normal"),
        };
        self.inner
            .client
            .channels()
            .hangup(leg.as_str(), options)
            .await
            .map_err(|e| map_error(&format!("channel {leg}"), e))
    }

    /// Stamps who asked (`HOOKFLASH_HANGUP_BY`, read back by the translator from its
    /// `ChannelVarset`) right before the hangup; a stamp that fails does not stop the hangup.
    async fn hangup_for(
        &self,
        leg: &LegId,
        cause: Option<HangupCause>,
        by: HangupRequester,
    ) -> Result<(), ProviderError> {
        self.inner.not_connected()?;
        let stamp = self
            .inner
            .client
            .channels()
            .set_channel_var(
                leg.as_str(),
                HANGUP_BY_VARIABLE,
                ChannelsSetChannelVarOptions::new().value(by.as_str()),
            )
            .await;
        if let Err(e) = stamp {
            tracing::debug!(%leg, error = %e, "could not stamp who asked for the hangup");
        }
        self.hangup(leg, cause).await
    }

    async fn answer(&self, leg: &LegId) -> Result<(), ProviderError> {
        self.inner.not_connected()?;
        self.inner
            .client
            .channels()
            .answer(leg.as_str())
            .await
            .map_err(|e| map_error(&format!("channel {leg}"), e))
    }

    async fn blind_transfer(&self, request: BlindTransferRequest) -> Result<(), ProviderError> {
        let inner = &self.inner;
        inner.not_connected()?;
        check_text("destination", &request.destination)?;
        let destination = Destination::parse(&request.destination, &inner.config.trunk)?;
        inner
            .check_blind_destination(request.leg.as_str(), &destination, &request.destination)
            .await?;
        let call_id = inner.call_of(&request.leg).unwrap_or(request.call_id);
        let agent = {
            let book = inner.book();
            let call = book
                .calls
                .get(&call_id)
                .ok_or_else(|| ProviderError::NotFound {
                    what: format!("call {call_id}"),
                })?;
            if call.bridge.is_none() {
                return Err(ProviderError::Rejected {
                    reason: "the call is not bridged".to_owned(),
                });
            }
            if call.consult.is_some() {
                return Err(ProviderError::Rejected {
                    reason: "an attended transfer is under way".to_owned(),
                });
            }
            request
                .transferer
                .as_ref()
                .map(|t| t.as_str().to_owned())
                .or_else(|| call.agent.clone())
                .filter(|a| a != request.leg.as_str())
        };
        let target = inner.client.new_id();
        inner.book().stage(&target, call_id, LegRole::SecondAgent);
        inner.put_blind(
            target.clone(),
            PendingBlind {
                call_id,
                customer: request.leg.as_str().to_owned(),
                agent,
                destination: request.destination.clone(),
            },
        );
        // The customer stays with the agent while the target rings; the target's own events
        // complete or fail the transfer (see `transfer`).
        let endpoint = destination.dial_string(&inner.config.transfer_context, &inner.config.trunk);
        let mut options = ChannelsOriginateOptions::new();
        options.app = Some(inner.config.app.clone());
        options.app_args = Some(format!("{ARG_TARGET},{call_id}"));
        options.timeout = Some(secs(TRANSFER_RING_TIMEOUT));
        options.variables = Some(Value::Object(Inner::variables(call_id, &Map::new())));
        options.channel_id = Some(target.clone());
        if let Err(e) = inner.client.channels().originate(&endpoint, options).await {
            inner
                .blind
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&target);
            inner.book().translator.forget_channel(&target);
            return Err(map_error("placing the transfer target", e));
        }
        Ok(())
    }

    async fn start_attended_transfer(
        &self,
        request: AttendedTransferRequest,
    ) -> Result<TransferId, ProviderError> {
        let inner = &self.inner;
        inner.not_connected()?;
        check_text("destination", &request.destination)?;
        // The consultation dials a configured endpoint, or an extension of the configured
        // transfer context that exists: never a context or trunk of the request's choosing.
        let context = inner.config.transfer_context.clone();
        let endpoint = if request.destination.contains('/') {
            crate::dialplan::endpoint_destination(&request.destination)?.to_owned()
        } else {
            inner
                .check_destination(request.transferer.as_str(), &request.destination)
                .await?;
            format!("Local/{}@{context}", request.destination)
        };
        let call_id = inner
            .call_of(&request.transferer)
            .unwrap_or(request.call_id);
        let (bridge, customer) = {
            let book = inner.book();
            let call = book
                .calls
                .get(&call_id)
                .ok_or_else(|| ProviderError::NotFound {
                    what: format!("call {call_id}"),
                })?;
            if call.consult.is_some() {
                return Err(ProviderError::Rejected {
                    reason: "an attended transfer is already under way".to_owned(),
                });
            }
            let bridge = call.bridge.clone().ok_or_else(|| ProviderError::Rejected {
                reason: "the call is not bridged".to_owned(),
            })?;
            let customer = request
                .transferee
                .as_ref()
                .map(|t| t.as_str().to_owned())
                .or_else(|| call.customer.clone());
            (bridge, customer)
        };
        let agent = request.transferer.as_str().to_owned();
        let consult_bridge = inner.client.new_id();
        let target = inner.client.new_id();
        let transfer = inner.client.new_id();
        {
            let mut book = inner.book();
            book.stage(&target, call_id, LegRole::SecondAgent);
            book.bridges.insert(consult_bridge.clone(), call_id);
            if let Some(call) = book.calls.get_mut(&call_id) {
                call.consult = Some(Consult {
                    id: transfer.clone(),
                    bridge: consult_bridge.clone(),
                    target: target.clone(),
                    destination: request.destination.clone(),
                });
            }
        }
        let setup = async {
            let c = &inner.client;
            c.bridges()
                .create(
                    BridgesCreateOptions::new()
                        .r#type(inner.config.bridge_type.as_str())
                        .name(format!("hookflash-consult-{call_id}"))
                        .bridge_id(consult_bridge.clone()),
                )
                .await?;
            if let Some(customer) = &customer {
                // The waiting customer hears music on hold (a REST hold would only signal the
                // customer's own hold towards the bridge).
                c.channels()
                    .start_moh(customer, hookflash_ari::ChannelsStartMohOptions::new())
                    .await?;
            }
            c.bridges().remove_channel(&bridge, &[&agent]).await?;
            c.bridges()
                .add_channel(&consult_bridge, &[&agent], BridgesAddChannelOptions::new())
                .await?;
            let mut options = ChannelsOriginateOptions::new();
            options.app = Some(inner.config.app.clone());
            options.app_args = Some(format!("{ARG_TARGET},{call_id}"));
            options.variables = Some(Value::Object(Inner::variables(call_id, &Map::new())));
            options.channel_id = Some(target.clone());
            c.channels().originate(&endpoint, options).await?;
            Ok::<(), hookflash_ari::Error>(())
        };
        if let Err(e) = setup.await {
            if let Some(call) = inner.book().calls.get_mut(&call_id) {
                call.consult = None;
            }
            let _ = inner.client.bridges().destroy(&consult_bridge).await;
            return Err(map_error("attended transfer", e));
        }
        if let Some(customer) = &customer {
            inner.report(customer, LegEventKind::Held);
        }
        Ok(TransferId(transfer))
    }

    async fn complete_attended_transfer(&self, transfer: &TransferId) -> Result<(), ProviderError> {
        let inner = &self.inner;
        inner.not_connected()?;
        let (call_id, consult, agent, customer, bridge) =
            inner
                .consult_of(transfer)
                .ok_or_else(|| ProviderError::NotFound {
                    what: format!("transfer {transfer}"),
                })?;
        let bridge = bridge.ok_or_else(|| ProviderError::Rejected {
            reason: "the call has no bridge".to_owned(),
        })?;
        {
            // The target takes the agent's place, so the old agent's end ends nothing.
            let mut book = inner.book();
            if let Some(call) = book.calls.get_mut(&call_id) {
                call.agent = Some(consult.target.clone());
                call.consult = None;
            }
            book.bridges.remove(&consult.bridge);
        }
        let c = &inner.client;
        let moved = async {
            c.bridges()
                .remove_channel(&consult.bridge, &[&consult.target])
                .await?;
            c.bridges()
                .add_channel(&bridge, &[&consult.target], BridgesAddChannelOptions::new())
                .await?;
            if let Some(customer) = &customer {
                c.channels().stop_moh(customer).await?;
            }
            Ok::<(), hookflash_ari::Error>(())
        };
        moved
            .await
            .map_err(|e| map_error("completing the transfer", e))?;
        if let Some(customer) = &customer {
            inner.report(customer, LegEventKind::Unheld);
            let target = LegId::new(consult.target.clone()).ok();
            inner.report(
                customer,
                LegEventKind::Transferred {
                    kind: TransferKind::Attended,
                    to: Some(consult.destination.clone()),
                    target,
                    outcome: TransferOutcome::Success,
                },
            );
        }
        if let Some(agent) = agent {
            inner.hangup_channel(&agent).await;
        }
        if let Err(e) = c.bridges().destroy(&consult.bridge).await
            && !e.is_not_found()
        {
            tracing::warn!(error = %e, "consultation bridge not destroyed");
        }
        Ok(())
    }

    async fn cancel_attended_transfer(&self, transfer: &TransferId) -> Result<(), ProviderError> {
        let inner = &self.inner;
        inner.not_connected()?;
        let (call_id, consult, agent, customer, bridge) =
            inner
                .consult_of(transfer)
                .ok_or_else(|| ProviderError::NotFound {
                    what: format!("transfer {transfer}"),
                })?;
        {
            let mut book = inner.book();
            if let Some(call) = book.calls.get_mut(&call_id) {
                call.consult = None;
            }
            book.bridges.remove(&consult.bridge);
        }
        inner.hangup_channel(&consult.target).await;
        let c = &inner.client;
        let back = async {
            if let (Some(agent), Some(bridge)) = (&agent, &bridge) {
                let _ = c.bridges().remove_channel(&consult.bridge, &[agent]).await;
                c.bridges()
                    .add_channel(bridge, &[agent], BridgesAddChannelOptions::new())
                    .await?;
            }
            if let Some(customer) = &customer {
                c.channels().stop_moh(customer).await?;
            }
            Ok::<(), hookflash_ari::Error>(())
        };
        back.await
            .map_err(|e| map_error("cancelling the transfer", e))?;
        if let Some(customer) = &customer {
            inner.report(customer, LegEventKind::Unheld);
            inner.report(
                customer,
                LegEventKind::Transferred {
                    kind: TransferKind::Attended,
                    to: Some(consult.destination.clone()),
                    target: None,
                    outcome: TransferOutcome::Cancelled,
                },
            );
        }
        if let Err(e) = c.bridges().destroy(&consult.bridge).await
            && !e.is_not_found()
        {
            tracing::warn!(error = %e, "consultation bridge not destroyed");
        }
        Ok(())
    }

    async fn park(&self, request: ParkRequest) -> Result<(), ProviderError> {
        let inner = &self.inner;
        inner.not_connected()?;
        if let Some(lot) = &request.lot {
            check_text("lot", lot)?;
        }
        let call_id = inner.call_of(&request.leg).unwrap_or(request.call_id);
        let (agent, parker) = {
            let book = inner.book();
            let agent = request
                .parker
                .as_ref()
                .map(|p| p.as_str().to_owned())
                .or_else(|| book.calls.get(&call_id).and_then(|c| c.agent.clone()))
                .filter(|a| a != request.leg.as_str());
            // The parker is called back on timeout: the agent's endpoint, never the parked
            // leg's own (its trunk).
            let parker = agent
                .as_ref()
                .and_then(|a| book.translator.channel(a))
                .and_then(|c| c.name.as_deref())
                .map(endpoint_of);
            (agent, parker)
        };
        let parker = match (parker, &agent) {
            (Some(p), _) => Some(p),
            // A leg the provider has not seen an event of yet: ask Asterisk its name.
            (None, Some(a)) => inner
                .client
                .channels()
                .get(a)
                .await
                .ok()
                .map(|ch| endpoint_of(&ch.name)),
            (None, None) => None,
        };
        let parker = parker.ok_or_else(|| ProviderError::Rejected {
            reason: format!(
                "leg {} has no agent leg to return to: a parked call times out back to the \
                 agent who parked it",
                request.leg
            ),
        })?;
        let timeout = request.timeout.unwrap_or(inner.config.park_timeout);
        inner.check_park_context(request.leg.as_str()).await?;
        let slot = inner.free_slot().await?;
        let c = &inner.client;
        let vars = [
            ("HOOKFLASH_PARKER", parker.clone()),
            ("HOOKFLASH_PARK_SLOT", slot.clone()),
            ("HOOKFLASH_PARK_APP", inner.config.app.clone()),
            (
                "HOOKFLASH_PARK_TIMEOUT",
                timeout.as_secs().max(1).to_string(),
            ),
            (
                "HOOKFLASH_PARK_LOT",
                request.lot.clone().unwrap_or_default(),
            ),
        ];
        for (name, value) in vars {
            c.channels()
                .set_channel_var(
                    request.leg.as_str(),
                    name,
                    ChannelsSetChannelVarOptions::new().value(value),
                )
                .await
                .map_err(|e| map_error(&format!("channel {}", request.leg), e))?;
        }
        if let Some(call) = inner.book().calls.get_mut(&call_id)
            && call.customer.as_deref() == Some(request.leg.as_str())
        {
            call.released = true;
        }
        let options = ChannelsContinueInDialplanOptions::new()
            .context(inner.config.park_context.clone())
            .extension("s")
            .priority(1);
        if let Err(e) = c
            .channels()
            .continue_in_dialplan(request.leg.as_str(), options)
            .await
        {
            if let Some(call) = inner.book().calls.get_mut(&call_id) {
                call.released = false;
            }
            return Err(map_error(&format!("channel {}", request.leg), e));
        }
        inner.note_parked(Parked {
            slot: slot.clone(),
            lot: request.lot.clone(),
            call_id,
            leg: request.leg.as_str().to_owned(),
            since: inner.book().now(),
            timeout,
            parker,
        });
        inner.report(
            request.leg.as_str(),
            LegEventKind::Parked {
                slot,
                lot: request.lot.clone(),
                timeout_secs: u32::try_from(timeout.as_secs()).ok(),
            },
        );
        if let Some(agent) = agent {
            inner.hangup_channel(&agent).await;
        }
        Ok(())
    }

    async fn parked_calls(&self) -> Result<Vec<ParkedCall>, ProviderError> {
        self.inner.not_connected()?;
        Ok(self.inner.parked_listing())
    }

    async fn pickup_parked(&self, request: PickupRequest) -> Result<(), ProviderError> {
        self.inner.not_connected()?;
        self.inner.pickup(request).await
    }

    async fn hold(&self, leg: &LegId) -> Result<(), ProviderError> {
        self.inner.not_connected()?;
        self.inner
            .client
            .channels()
            .hold(leg.as_str())
            .await
            .map_err(|e| map_error(&format!("channel {leg}"), e))?;
        self.inner.report(leg.as_str(), LegEventKind::Held);
        Ok(())
    }

    async fn unhold(&self, leg: &LegId) -> Result<(), ProviderError> {
        self.inner.not_connected()?;
        self.inner
            .client
            .channels()
            .unhold(leg.as_str())
            .await
            .map_err(|e| map_error(&format!("channel {leg}"), e))?;
        self.inner.report(leg.as_str(), LegEventKind::Unheld);
        Ok(())
    }

    async fn mute(&self, leg: &LegId, direction: MediaDirection) -> Result<(), ProviderError> {
        self.inner.not_connected()?;
        self.inner
            .client
            .channels()
            .mute(
                leg.as_str(),
                ChannelsMuteOptions::new().direction(direction.as_ari()),
            )
            .await
            .map_err(|e| map_error(&format!("channel {leg}"), e))?;
        self.inner
            .report(leg.as_str(), LegEventKind::Muted { direction });
        Ok(())
    }

    async fn unmute(&self, leg: &LegId, direction: MediaDirection) -> Result<(), ProviderError> {
        self.inner.not_connected()?;
        self.inner
            .client
            .channels()
            .unmute(
                leg.as_str(),
                ChannelsUnmuteOptions::new().direction(direction.as_ari()),
            )
            .await
            .map_err(|e| map_error(&format!("channel {leg}"), e))?;
        self.inner
            .report(leg.as_str(), LegEventKind::Unmuted { direction });
        Ok(())
    }

    async fn send_dtmf(&self, leg: &LegId, digits: &str) -> Result<(), ProviderError> {
        self.inner.not_connected()?;
        if digits.is_empty()
            || !digits
                .chars()
                .all(|c| c.is_ascii_digit() || matches!(c, '*' | '#' | 'A'..='D'))
        {
            return Err(ProviderError::InvalidRequest {
                field: "digits".to_owned(),
                reason: "only 0-9, *, # and A-D".to_owned(),
            });
        }
        self.inner
            .client
            .channels()
            .send_dtmf(leg.as_str(), ChannelsSendDTMFOptions::new().dtmf(digits))
            .await
            .map_err(|e| map_error(&format!("channel {leg}"), e))?;
        for digit in digits.chars() {
            self.inner.report(
                leg.as_str(),
                LegEventKind::Dtmf {
                    digit,
                    direction: DtmfDirection::Sent,
                    duration_ms: None,
                },
            );
        }
        Ok(())
    }

    async fn start_recording(&self, request: RecordingRequest) -> Result<String, ProviderError> {
        self.inner.not_connected()?;
        let call_id = self.inner.call_of(&request.leg).unwrap_or(request.call_id);
        self.inner
            .start_bridge_recording(
                call_id,
                request.leg.as_str(),
                request.file_stem(),
                request.format,
            )
            .await
    }

    async fn stop_recording(&self, _leg: &LegId, recording: &str) -> Result<(), ProviderError> {
        self.inner.not_connected()?;
        self.inner
            .client
            .recordings()
            .stop(recording)
            .await
            .map_err(|e| map_error(&format!("recording {recording}"), e))
    }

    async fn pause_recording(&self, leg: &LegId, recording: &str) -> Result<(), ProviderError> {
        self.inner.not_connected()?;
        self.inner
            .client
            .recordings()
            .pause(recording)
            .await
            .map_err(|e| map_error(&format!("recording {recording}"), e))?;
        self.inner
            .report(leg.as_str(), LegEventKind::RecordingPaused);
        Ok(())
    }

    async fn resume_recording(&self, leg: &LegId, recording: &str) -> Result<(), ProviderError> {
        self.inner.not_connected()?;
        self.inner
            .client
            .recordings()
            .unpause(recording)
            .await
            .map_err(|e| map_error(&format!("recording {recording}"), e))?;
        self.inner
            .report(leg.as_str(), LegEventKind::RecordingResumed);
        Ok(())
    }

    /// A subscriber that arrives while the link is down first gets `Disconnected` with the
    /// reason, so it never takes silence for a quiet PBX.
    fn events(&self) -> LegEventStream {
        let rx = self.inner.tx.subscribe();
        let down = self
            .inner
            .down_reason
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .map(|reason| ProviderEvent::Disconnected { reason });
        let live = futures::stream::unfold(rx, |mut rx| async move {
            match rx.recv().await {
                Ok(event) => Some((event, rx)),
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    Some((ProviderEvent::Lagged { missed }, rx))
                }
                Err(broadcast::error::RecvError::Closed) => None,
            }
        });
        Box::pin(futures::stream::iter(down).chain(live))
    }

    async fn snapshot(&self) -> Result<Vec<LegSnapshot>, ProviderError> {
        snapshot(&self.inner).await
    }
}
