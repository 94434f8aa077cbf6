//! Offers: the ACD's choice, reservations and their outcome.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use hookflash_provider::CallId;

use crate::error::AgentsError;
use crate::model::{
    AgentId, AgentState, AgentUpdate, Cause, Offer, OfferOutcome, QueueId, Redistribute,
    Requirement, Skill,
};
use crate::select::Keys;

use super::{Agent, Agents, after};

impl Agents {
    /// Registers (or replaces) a queue: the machine keeps, from now on, its own order of the
    /// ready agents who meet it, so [`Agents::select_queue`] is the head of one set however
    /// many skills the queue asks (a one-off [`Agents::select`] walks a skill's set instead).
    ///
    /// # Errors
    /// [`AgentsError::TooManyQueues`] past [`AgentsConfig::max_queues`](crate::AgentsConfig::max_queues);
    /// [`AgentsError::TooManySkills`].
    pub fn add_queue(&mut self, id: QueueId, req: Requirement) -> Result<(), AgentsError> {
        if req.skills.len() > self.config.max_skills {
            return Err(AgentsError::TooManySkills {
                max: self.config.max_skills,
            });
        }
        let known = self.ready.queue_tenant(&id).is_some();
        if !known && self.ready.queue_count() >= self.config.max_queues {
            return Err(AgentsError::TooManyQueues {
                max: self.config.max_queues,
            });
        }
        let tenant = req.tenant;
        // Sorted by id so the index does not depend on the map's order.
        let mut ready: Vec<(AgentId, &Agent)> = self
            .agents
            .iter()
            .filter(|(_, a)| a.tenant == tenant && a.state == AgentState::Ready)
            .map(|(id, a)| (*id, a))
            .collect();
        ready.sort_by_key(|(id, _)| *id);
        let entries: Vec<(AgentId, BTreeMap<Skill, u8>, Keys)> = ready
            .into_iter()
            .map(|(id, a)| (id, a.skills.clone(), a.keys()))
            .collect();
        self.ready
            .add_queue(id, req, entries.iter().map(|(i, s, k)| (*i, s, *k)));
        Ok(())
    }

    /// Forgets a queue; whether it was registered.
    pub fn remove_queue(&mut self, id: &QueueId) -> bool {
        self.ready.remove_queue(id)
    }

    /// A registered queue's choice (the same agent [`Agents::select`] picks for its
    /// requirement); `None` when nobody is eligible or the queue is unknown. Pure.
    pub fn select_queue(&self, id: &QueueId) -> Option<AgentId> {
        let tenant = self.ready.queue_tenant(id)?;
        self.ready.choose_queue(&tenant, id)
    }

    /// The ACD's choice: the first ready agent of the requirement's tenant who has every
    /// required skill at its level, in the requirement's order. Pure: reserves nothing.
    pub fn select(&self, req: &Requirement) -> Option<AgentId> {
        self.ready.choose(req, |id| {
            self.agents
                .get(&id)
                .is_some_and(|a| crate::select::meets(req, &a.skills))
        })
    }

    /// [`Agents::select`] and [`Agents::reserve`] in one step: the chosen agent is reserved
    /// for the offer (`None`: nobody is eligible).
    ///
    /// # Errors
    /// [`AgentsError::CallOffered`] when the call is offered to an agent already.
    pub fn select_and_reserve(
        &mut self,
        req: &Requirement,
        offer: Offer,
        now: DateTime<Utc>,
    ) -> Result<Option<(AgentId, Vec<AgentUpdate>)>, AgentsError> {
        let Some(id) = self.select(req) else {
            return Ok(None);
        };
        let out = self.reserve(id, offer, now)?;
        Ok(Some((id, out)))
    }

    /// Reserves a ready agent for an offer: nothing else can take them until the offer ends
    /// (accepted and the call over, rejected, timed out, released).
    ///
    /// # Errors
    /// [`AgentsError::UnknownAgent`]; [`AgentsError::NotAllowed`] unless ready;
    /// [`AgentsError::CallOffered`] when the call is offered to an agent already.
    pub fn reserve(
        &mut self,
        id: AgentId,
        offer: Offer,
        now: DateTime<Utc>,
    ) -> Result<Vec<AgentUpdate>, AgentsError> {
        let a = self.agents.get(&id).ok_or(AgentsError::UnknownAgent(id))?;
        if a.state != AgentState::Ready {
            return Err(AgentsError::NotAllowed {
                agent: id,
                state: a.state,
                action: "be reserved",
            });
        }
        if let Some(holder) = self.offers.get(&offer.call) {
            return Err(AgentsError::CallOffered {
                call: offer.call,
                agent: *holder,
            });
        }
        let mut out = Vec::new();
        let call = offer.call;
        self.go(
            id,
            AgentState::Reserved,
            Cause::Reserved,
            Some(call),
            None,
            now,
            &mut out,
        );
        self.offer_seq = self.offer_seq.saturating_add(1);
        let seq = self.offer_seq;
        let timeout = offer.ring_timeout.unwrap_or(self.config.offer_timeout);
        let wrap = offer
            .wrap_up
            .unwrap_or_else(|| self.config.default_wrap_up.clone());
        if let Some(a) = self.agents.get_mut(&id) {
            a.offered = true;
            a.offered_seq = seq;
            a.wrap_up = wrap;
            a.dropped = None;
            let at = a.since;
            self.set_deadline(id, Some(after(at, timeout)));
        }
        self.offers.insert(call, id);
        Ok(out)
    }

    /// How an offer ended, as the ACD saw it. Accepted: the agent is on the call. Rejected:
    /// ready again, and the call needs the next agent. Timed out: paused `missed` (or ready,
    /// [`AgentsConfig::missed_pause`](crate::AgentsConfig::missed_pause)), and the call needs the next agent.
    ///
    /// # Errors
    /// [`AgentsError::UnknownAgent`]; [`AgentsError::NoSuchOffer`] when the agent holds no
    /// pending offer of the call (accepting a call the agent is on already is no error).
    pub fn offer_outcome(
        &mut self,
        id: AgentId,
        call: CallId,
        outcome: OfferOutcome,
        now: DateTime<Utc>,
    ) -> Result<Vec<AgentUpdate>, AgentsError> {
        let a = self.agents.get(&id).ok_or(AgentsError::UnknownAgent(id))?;
        let mut out = Vec::new();
        let pending = a.offered
            && a.call == Some(call)
            && matches!(a.state, AgentState::Reserved | AgentState::Ringing);
        if !pending {
            if outcome == OfferOutcome::Accepted
                && a.call == Some(call)
                && a.state == AgentState::OnCall
            {
                return Ok(out);
            }
            return Err(AgentsError::NoSuchOffer { agent: id, call });
        }
        match outcome {
            OfferOutcome::Accepted => {
                self.go(
                    id,
                    AgentState::OnCall,
                    Cause::OfferAccepted,
                    Some(call),
                    None,
                    now,
                    &mut out,
                );
                self.count_call(id);
            }
            OfferOutcome::Rejected => {
                self.go(
                    id,
                    AgentState::Ready,
                    Cause::OfferRejected,
                    None,
                    None,
                    now,
                    &mut out,
                );
                self.drop_call(id, call);
                out.push(AgentUpdate::NextAgent {
                    call,
                    agent: id,
                    why: Redistribute::Rejected,
                });
            }
            OfferOutcome::TimedOut => self.missed(id, call, Redistribute::NoAnswer, now, &mut out),
        }
        Ok(out)
    }

    /// Withdraws a pending offer (the caller hung up, the call went elsewhere): the agent is
    /// ready again; nothing is redistributed.
    ///
    /// # Errors
    /// [`AgentsError::UnknownAgent`]; [`AgentsError::NoSuchOffer`].
    pub fn release(
        &mut self,
        id: AgentId,
        call: CallId,
        now: DateTime<Utc>,
    ) -> Result<Vec<AgentUpdate>, AgentsError> {
        let a = self.agents.get(&id).ok_or(AgentsError::UnknownAgent(id))?;
        if !(a.offered
            && a.call == Some(call)
            && matches!(a.state, AgentState::Reserved | AgentState::Ringing))
        {
            return Err(AgentsError::NoSuchOffer { agent: id, call });
        }
        let mut out = Vec::new();
        self.go(
            id,
            AgentState::Ready,
            Cause::Released,
            None,
            None,
            now,
            &mut out,
        );
        self.drop_call(id, call);
        Ok(out)
    }
}
