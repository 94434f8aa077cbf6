//! ARI park: the provider's own view of the parking lot, the slot it parks in, the return of a
//! timed-out call to the parking agent as that agent's own leg, and pick-up.
//!
//! ARI has no parking resource and no parking events, so the provider keeps the lot of the calls
//! it parked:
//! - **Slot.** The provider chooses a free space of the configured range (`GET
//!   /deviceStates/park:<slot>@<parking context>` says `NOT_INUSE`, and it parked nothing there
//!   itself) and the shipped `hookflash-park` context parks there (`PARKINGEXTEN`), so the slot
//!   it reports is the real one.
//! - **Timeout.** `Park()` returns the leg on timeout into `hookflash-park-return`, which sends
//!   it back into the application (`Stasis(<app>,parked,<call id>)`). The provider then
//!   originates the parking agent's endpoint into the application, stamped with the call id as
//!   the call's agent leg, and bridges it with the customer once it answers (if it does not,
//!   the customer is hung up, as a `Dial()` that fails would).
//! - **Pick-up.** The agent's endpoint is originated into the parking context's slot
//!   (`ParkedCall`), stamped with the parked call's id as its agent leg; when it answers the
//!   provider reports `Unparked { Retrieved }` (Asterisk bridges the two itself).

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use hookflash_ari::{
    BridgesAddChannelOptions, BridgesCreateOptions, ChannelsOriginateOptions, Event,
};
use hookflash_provider::{
    CallId, LegEventKind, LegId, LegRole, ParkedCall, PickupRequest, ProviderError, UnparkReason,
};
use serde_json::{Map, Value};

use super::provider::{Inner, map_error, secs};

/// The first `appArgs` word of a parked leg coming back into the application.
pub(super) const ARG_PARKED: &str = "parked";

/// How long the parking agent's phone rings when a parked call comes back.
const RETURN_RING_TIMEOUT: Duration = Duration::from_secs(30);

/// A leg the provider parked and that is still in the lot.
#[derive(Debug, Clone)]
pub(super) struct Parked {
    pub(super) slot: String,
    pub(super) lot: Option<String>,
    pub(super) call_id: CallId,
    /// The parked leg's channel id.
    pub(super) leg: String,
    pub(super) since: DateTime<Utc>,
    pub(super) timeout: Duration,
    /// The parking agent's endpoint (`PJSIP/agent1001`).
    pub(super) parker: String,
}

/// A leg the provider originated to an agent for a parked call: the return to the parking
/// agent, or a pick-up.
#[derive(Debug, Clone)]
pub(super) enum AgentFor {
    /// The parked customer came back (it is in the application): bridge them once the agent
    /// answers.
    Return { call_id: CallId, customer: String },
    /// A pick-up of a leg still in the lot: Asterisk bridges them (`ParkedCall`).
    Pickup { call_id: CallId, customer: String },
}

/// What the provider keeps of its parked calls.
#[derive(Debug, Default)]
pub(super) struct Lot {
    /// By slot.
    pub(super) parked: HashMap<String, Parked>,
    /// Agent legs ringing for a parked call, by channel id.
    pub(super) agents: HashMap<String, AgentFor>,
}

impl Lot {
    /// The first slot of `slots` that the provider has not parked in and `free` says is free.
    pub(super) fn first_free(
        &self,
        slots: impl IntoIterator<Item = u32>,
        free: impl Fn(&str) -> bool,
    ) -> Option<String> {
        slots
            .into_iter()
            .map(|s| s.to_string())
            .find(|s| !self.parked.contains_key(s) && free(s))
    }

    /// Removes the agent leg `id` when `which` says it is the kind asked for.
    pub(super) fn take_agent(
        &mut self,
        id: &str,
        which: impl Fn(&AgentFor) -> bool,
    ) -> Option<AgentFor> {
        if self.agents.get(id).is_some_and(which) {
            self.agents.remove(id)
        } else {
            None
        }
    }

    /// Forgets the parked entry of `leg`, returning it.
    pub(super) fn leave(&mut self, leg: &str) -> Option<Parked> {
        let slot = self
            .parked
            .iter()
            .find(|(_, p)| p.leg == leg)
            .map(|(s, _)| s.clone())?;
        self.parked.remove(&slot)
    }

    /// The lot as the neutral listing.
    pub(super) fn listing(&self) -> Vec<ParkedCall> {
        let mut out: Vec<ParkedCall> = self
            .parked
            .values()
            .filter_map(|p| {
                let mut c = ParkedCall::new(p.slot.clone(), LegId::new(p.leg.clone()).ok()?);
                c.lot = p.lot.clone();
                c.call_id = Some(p.call_id);
                c.parked_at = Some(p.since);
                c.timeout = Some(p.timeout);
                c.parker = Some(p.parker.clone());
                Some(c)
            })
            .collect();
        out.sort_by(|a, b| a.slot.cmp(&b.slot));
        out
    }
}

impl Inner {
    fn lot(&self) -> std::sync::MutexGuard<'_, Lot> {
        self.lot.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A free space of the configured range, asked of Asterisk's device state of each space.
    ///
    /// # Errors
    ///
    /// [`ProviderError::Rejected`] when every space is taken.
    pub(super) async fn free_slot(&self) -> Result<String, ProviderError> {
        let range = self.config.parking_slots.clone();
        for slot in range.clone() {
            let slot = slot.to_string();
            if self.lot().parked.contains_key(&slot) {
                continue;
            }
            let device = format!("park:{slot}@{}", self.config.parking_context);
            let state = self
                .client
                .device_states()
                .get(&device)
                .await
                .map_err(|e| map_error(&format!("device state {device}"), e))?;
            if state.state == "NOT_INUSE"
                && let Some(free) = self.lot().first_free(range.clone(), |s| s == slot)
            {
                return Ok(free);
            }
        }
        Err(ProviderError::Rejected {
            reason: format!("no free parking space in {}-{}", range.start(), range.end()),
        })
    }

    /// Notes a leg parked in `slot`.
    pub(super) fn note_parked(&self, parked: Parked) {
        self.lot().parked.insert(parked.slot.clone(), parked);
    }

    /// The provider's lot.
    pub(super) fn parked_listing(&self) -> Vec<ParkedCall> {
        self.lot().listing()
    }

    /// Rings the agent's endpoint into the slot's `ParkedCall`, stamped as the parked call's
    /// agent leg.
    pub(super) async fn pickup(&self, request: PickupRequest) -> Result<(), ProviderError> {
        let parked = self
            .lot()
            .parked
            .get(&request.slot)
            .filter(|p| p.call_id == request.call_id)
            .cloned()
            .ok_or_else(|| ProviderError::NotFound {
                what: format!("parked call {} in slot {}", request.call_id, request.slot),
            })?;
        super::provider::check_text("endpoint", &request.endpoint)?;
        let agent = self.client.new_id();
        self.book().stage(&agent, parked.call_id, LegRole::Agent);
        self.lot().agents.insert(
            agent.clone(),
            AgentFor::Pickup {
                call_id: parked.call_id,
                customer: parked.leg.clone(),
            },
        );
        let mut options = ChannelsOriginateOptions::new();
        options.context = Some(self.config.parking_context.clone());
        options.extension = Some(parked.slot.clone());
        options.priority = Some(1);
        options.timeout = Some(secs(request.ring_timeout));
        options.caller_id = Some(format!("\"Parked call\" <{}>", parked.slot));
        options.variables = Some(Value::Object(Self::variables(parked.call_id, &Map::new())));
        options.channel_id = Some(agent.clone());
        if let Err(e) = self
            .client
            .channels()
            .originate(&request.endpoint, options)
            .await
        {
            self.lot().agents.remove(&agent);
            self.book().translator.forget_channel(&agent);
            return Err(map_error("picking the parked call up", e));
        }
        Ok(())
    }

    /// Moves parked calls along on their legs' events: a parked leg back in the application
    /// (timed out), an agent leg answering or ending, a parked leg ending.
    pub(super) async fn on_park_event(&self, event: &Event) {
        match event {
            Event::StasisStart(e) => {
                let id = &e.channel.id;
                if e.args.first().map(String::as_str) == Some(ARG_PARKED) {
                    self.parked_returned(id).await;
                    return;
                }
                // One lock at a time: a guard in a match scrutinee lives through its arms.
                let returning = self
                    .lot()
                    .take_agent(id, |a| matches!(a, AgentFor::Return { .. }));
                if let Some(AgentFor::Return { call_id, customer }) = returning {
                    self.return_answered(call_id, id, &customer).await;
                }
            }
            Event::ChannelStateChange(e) if e.channel.state == "Up" => {
                let id = &e.channel.id;
                let picked = self
                    .lot()
                    .take_agent(id, |a| matches!(a, AgentFor::Pickup { .. }));
                if let Some(AgentFor::Pickup { call_id, customer }) = picked {
                    self.lot().leave(&customer);
                    if let Some(call) = self.book().calls.get_mut(&call_id) {
                        call.agent = Some(id.clone());
                    }
                    self.report(
                        &customer,
                        LegEventKind::Unparked {
                            reason: UnparkReason::Retrieved,
                            by: LegId::new(id.clone()).ok(),
                        },
                    );
                }
            }
            Event::ChannelDestroyed(e) => {
                let id = &e.channel.id;
                let agent = self.lot().agents.remove(id);
                if let Some(AgentFor::Return { customer, .. }) = agent {
                    // Nobody to return to: the customer goes, as after a failed Dial().
                    tracing::info!(customer, "parking agent did not answer the returning call");
                    self.hangup_channel(&customer).await;
                    return;
                }
                if self.lot().leave(id).is_some() {
                    self.report(
                        id,
                        LegEventKind::Unparked {
                            reason: UnparkReason::GaveUp,
                            by: None,
                        },
                    );
                }
                // A customer that went while its agent was ringing back.
                let ringing: Vec<String> = self
                    .lot()
                    .agents
                    .iter()
                    .filter(
                        |(_, a)| matches!(a, AgentFor::Return { customer, .. } if customer == id),
                    )
                    .map(|(k, _)| k.clone())
                    .collect();
                for agent in ringing {
                    self.lot().agents.remove(&agent);
                    self.hangup_channel(&agent).await;
                }
            }
            _ => {}
        }
    }

    /// A parked leg timed out and is back in the application: ring the parking agent, stamped
    /// as the call's agent leg.
    async fn parked_returned(&self, customer: &str) {
        let Some(parked) = self.lot().leave(customer) else {
            tracing::warn!(
                customer,
                "a parked leg came back that the provider did not park"
            );
            self.hangup_channel(customer).await;
            return;
        };
        self.report(
            customer,
            LegEventKind::Unparked {
                reason: UnparkReason::TimedOut,
                by: None,
            },
        );
        let agent = self.client.new_id();
        self.book().stage(&agent, parked.call_id, LegRole::Agent);
        self.lot().agents.insert(
            agent.clone(),
            AgentFor::Return {
                call_id: parked.call_id,
                customer: customer.to_owned(),
            },
        );
        let mut options = ChannelsOriginateOptions::new();
        options.app = Some(self.config.app.clone());
        options.app_args = Some(format!("{},{}", super::book::ARG_AGENT, parked.call_id));
        options.timeout = Some(secs(RETURN_RING_TIMEOUT));
        options.variables = Some(Value::Object(Self::variables(parked.call_id, &Map::new())));
        options.channel_id = Some(agent.clone());
        if let Err(e) = self
            .client
            .channels()
            .originate(&parked.parker, options)
            .await
        {
            tracing::warn!(error = %e, parker = parked.parker, "calling the parking agent back failed");
            self.lot().agents.remove(&agent);
            self.hangup_channel(customer).await;
        }
    }

    /// The parking agent answered the returning call: a new bridge with both, and the agent leg
    /// is the call's agent again.
    async fn return_answered(&self, call_id: CallId, agent: &str, customer: &str) {
        let bridge = self.client.new_id();
        {
            let mut book = self.book();
            book.bridges.insert(bridge.clone(), call_id);
            // The call is the provider's again (also when it had forgotten it meanwhile): either
            // party's end ends the other's.
            let call = book.calls.entry(call_id).or_default();
            call.bridge = Some(bridge.clone());
            call.agent = Some(agent.to_owned());
            call.customer = Some(customer.to_owned());
            call.released = false;
            call.customer_in_bridge = true;
        }
        let joined = async {
            self.client
                .bridges()
                .create(
                    BridgesCreateOptions::new()
                        .r#type(self.config.bridge_type.as_str())
                        .name(format!("hookflash-{call_id}"))
                        .bridge_id(bridge.clone()),
                )
                .await?;
            self.client
                .bridges()
                .add_channel(&bridge, &[agent, customer], BridgesAddChannelOptions::new())
                .await
        };
        if let Err(e) = joined.await {
            tracing::warn!(%call_id, error = %e, "the returning parked call was not bridged");
            self.hangup_channel(customer).await;
            self.hangup_channel(agent).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parked(slot: &str, leg: &str) -> Parked {
        Parked {
            slot: slot.to_owned(),
            lot: None,
            call_id: CallId::new_random(),
            leg: leg.to_owned(),
            since: Utc::now(),
            timeout: Duration::from_secs(45),
            parker: "PJSIP/agent1001".to_owned(),
        }
    }

    #[test]
    fn a_slot_is_free_when_neither_we_nor_asterisk_use_it() {
        let mut lot = Lot::default();
        lot.parked.insert("701".to_owned(), parked("701", "c1"));
        // 702 is in use by a phone that parked on its own.
        let free = lot.first_free(701..=720, |s| s != "702");
        assert_eq!(free.as_deref(), Some("703"));
        assert_eq!(lot.first_free(701..=702, |s| s != "702"), None);
    }

    #[test]
    fn a_leaving_leg_frees_its_slot_and_the_listing_says_who_parked_what() {
        let mut lot = Lot::default();
        lot.parked.insert("702".to_owned(), parked("702", "c2"));
        lot.parked.insert("701".to_owned(), parked("701", "c1"));
        let listed = lot.listing();
        let slots: Vec<&str> = listed.iter().map(|p| p.slot.as_str()).collect();
        assert_eq!(slots, ["701", "702"]);
        assert_eq!(listed[0].leg.as_str(), "c1");
        assert_eq!(listed[0].parker.as_deref(), Some("PJSIP/agent1001"));
        assert_eq!(listed[0].timeout, Some(Duration::from_secs(45)));
        assert_eq!(lot.leave("c1").map(|p| p.slot), Some("701".to_owned()));
        assert!(lot.leave("c1").is_none());
        assert_eq!(lot.listing().len(), 1);
    }
}
