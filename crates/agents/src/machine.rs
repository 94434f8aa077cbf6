//! The agent-state machine: requests, offers, call updates and timers in; state changes out.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use hookflash_calls::{CallRecord, CallUpdate, LegRecord, LegStatus};
use hookflash_provider::{CallId, LegRole, TenantId};

use crate::config::AgentsConfig;
use crate::error::AgentsError;
use crate::model::{
    AfterWrapUp, AgentChange, AgentId, AgentSpec, AgentState, AgentUpdate, Cause, Offer,
    OfferOutcome, QueueId, ReasonCode, Redistribute, Request, Requirement, Skill, WrapUpPolicy,
};
use crate::select::{Keys, ReadyIndex};

/// Where an agent goes back to when a call that rang them unasked (not an offer) is not
/// answered.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Resume {
    Ready,
    Paused(ReasonCode),
}

#[derive(Debug)]
struct Agent {
    tenant: TenantId,
    endpoint: String,
    skills: BTreeMap<Skill, u8>,
    state: AgentState,
    since: DateTime<Utc>,
    pause_reason: Option<ReasonCode>,
    call: Option<CallId>,
    /// The current call came through [`Agents::reserve`].
    offered: bool,
    wrap_up: WrapUpPolicy,
    resume: Resume,
    deadline: Option<DateTime<Utc>>,
    /// A call this agent was taken off (offer timed out, rejected, released): its ringing legs
    /// no longer pull the agent back.
    dropped: Option<CallId>,
    idle_since: DateTime<Utc>,
    offered_seq: u64,
    calls_taken: u64,
}

impl Agent {
    fn keys(&self) -> Keys {
        Keys {
            idle_since: self.idle_since,
            offered_seq: self.offered_seq,
            calls_taken: self.calls_taken,
        }
    }
}

/// What a call update says about one agent's legs in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum LegView {
    Ended,
    Ringing,
    Up,
}

/// A read-only view of one agent.
#[derive(Debug, Clone, Copy)]
pub struct AgentView<'a> {
    agent: &'a Agent,
}

impl AgentView<'_> {
    /// The state.
    pub fn state(&self) -> AgentState {
        self.agent.state
    }

    /// Since when (the time of the last change).
    pub fn since(&self) -> DateTime<Utc> {
        self.agent.since
    }

    /// The call of the state (reserved, ringing, on call, wrap-up).
    pub fn call(&self) -> Option<CallId> {
        self.agent.call
    }

    /// The pause reason while paused.
    pub fn pause_reason(&self) -> Option<&ReasonCode> {
        self.agent.pause_reason.as_ref()
    }

    /// The tenant.
    pub fn tenant(&self) -> TenantId {
        self.agent.tenant
    }

    /// The endpoint.
    pub fn endpoint(&self) -> &str {
        &self.agent.endpoint
    }

    /// The skills and levels.
    pub fn skills(&self) -> &BTreeMap<Skill, u8> {
        &self.agent.skills
    }

    /// Calls answered since registration.
    pub fn calls_taken(&self) -> u64 {
        self.agent.calls_taken
    }

    /// When the agent last became ready.
    pub fn idle_since(&self) -> DateTime<Utc> {
        self.agent.idle_since
    }
}

/// The agent-state machine: the one owner of "who is free".
///
/// Sans-IO and deterministic: no clock, no socket, no lock. Every input takes `now`; the same
/// inputs give the same outputs. See the crate docs for the transitions.
#[derive(Debug)]
pub struct Agents {
    config: AgentsConfig,
    agents: HashMap<AgentId, Agent>,
    by_endpoint: HashMap<String, AgentId>,
    /// Call → the agent holding its offer (reserved, ringing, on the call): at most one.
    offers: HashMap<CallId, AgentId>,
    timers: BTreeSet<(DateTime<Utc>, AgentId)>,
    ready: ReadyIndex,
    pause_reasons: HashMap<TenantId, BTreeSet<ReasonCode>>,
    offer_seq: u64,
}

fn after(t: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    TimeDelta::from_std(d)
        .ok()
        .and_then(|d| t.checked_add_signed(d))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

impl Agents {
    /// A machine with no agents.
    pub fn new(config: AgentsConfig) -> Self {
        Self {
            config,
            agents: HashMap::new(),
            by_endpoint: HashMap::new(),
            offers: HashMap::new(),
            timers: BTreeSet::new(),
            ready: ReadyIndex::default(),
            pause_reasons: HashMap::new(),
            offer_seq: 0,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &AgentsConfig {
        &self.config
    }

    /// How many agents are registered.
    pub fn len(&self) -> usize {
        self.agents.len()
    }

    /// Whether no agent is registered.
    pub fn is_empty(&self) -> bool {
        self.agents.is_empty()
    }

    /// One agent.
    pub fn agent(&self, id: &AgentId) -> Option<AgentView<'_>> {
        self.agents.get(id).map(|agent| AgentView { agent })
    }

    /// The agent holding the offer of a call (reserved, ringing or on it).
    pub fn offered_to(&self, call: &CallId) -> Option<AgentId> {
        self.offers.get(call).copied()
    }

    /// How many agents of a tenant are ready.
    pub fn ready_len(&self, tenant: &TenantId) -> usize {
        self.ready.ready_len(tenant)
    }

    /// Sets a tenant's pause reasons (replacing its list). The machine's own reasons
    /// ([`AgentsConfig::missed_pause`], a wrap-up's [`AfterWrapUp::Paused`]) need not be
    /// listed: only agents' requests are checked against it.
    ///
    /// # Errors
    /// [`AgentsError::TooManyReasons`] past [`AgentsConfig::max_pause_reasons`].
    pub fn set_pause_reasons(
        &mut self,
        tenant: TenantId,
        reasons: impl IntoIterator<Item = ReasonCode>,
    ) -> Result<(), AgentsError> {
        let reasons: BTreeSet<ReasonCode> = reasons.into_iter().collect();
        if reasons.len() > self.config.max_pause_reasons {
            return Err(AgentsError::TooManyReasons {
                max: self.config.max_pause_reasons,
            });
        }
        self.pause_reasons.insert(tenant, reasons);
        Ok(())
    }

    /// Registers an agent, logged out since `now`.
    ///
    /// # Errors
    /// [`AgentsError::TooManyAgents`], [`AgentsError::AgentExists`],
    /// [`AgentsError::EndpointTaken`] (endpoints are unique in one machine: a leg must say
    /// whose it is), [`AgentsError::BadEndpoint`], [`AgentsError::TooManySkills`].
    pub fn register(&mut self, spec: AgentSpec, now: DateTime<Utc>) -> Result<(), AgentsError> {
        if self.agents.contains_key(&spec.id) {
            return Err(AgentsError::AgentExists(spec.id));
        }
        if self.agents.len() >= self.config.max_agents {
            return Err(AgentsError::TooManyAgents {
                max: self.config.max_agents,
            });
        }
        if spec.endpoint.is_empty() || spec.endpoint.len() > 256 {
            return Err(AgentsError::BadEndpoint(spec.endpoint));
        }
        if let Some(owner) = self.by_endpoint.get(&spec.endpoint) {
            return Err(AgentsError::EndpointTaken {
                endpoint: spec.endpoint,
                owner: *owner,
            });
        }
        if spec.skills.len() > self.config.max_skills {
            return Err(AgentsError::TooManySkills {
                max: self.config.max_skills,
            });
        }
        self.by_endpoint.insert(spec.endpoint.clone(), spec.id);
        self.agents.insert(
            spec.id,
            Agent {
                tenant: spec.tenant,
                endpoint: spec.endpoint,
                skills: spec.skills,
                state: AgentState::LoggedOut,
                since: now,
                pause_reason: None,
                call: None,
                offered: false,
                wrap_up: self.config.default_wrap_up.clone(),
                resume: Resume::Ready,
                deadline: None,
                dropped: None,
                idle_since: now,
                offered_seq: 0,
                calls_taken: 0,
            },
        );
        Ok(())
    }

    /// Removes a logged-out agent (their history is the log's).
    ///
    /// # Errors
    /// [`AgentsError::UnknownAgent`]; [`AgentsError::NotAllowed`] unless logged out.
    pub fn unregister(&mut self, id: AgentId) -> Result<(), AgentsError> {
        let a = self.agents.get(&id).ok_or(AgentsError::UnknownAgent(id))?;
        if a.state != AgentState::LoggedOut {
            return Err(AgentsError::NotAllowed {
                agent: id,
                state: a.state,
                action: "be removed",
            });
        }
        self.by_endpoint.remove(&a.endpoint);
        self.agents.remove(&id);
        Ok(())
    }

    /// Replaces an agent's skills (a ready agent is re-indexed at once).
    ///
    /// # Errors
    /// [`AgentsError::UnknownAgent`], [`AgentsError::TooManySkills`].
    pub fn set_skills(
        &mut self,
        id: AgentId,
        skills: BTreeMap<Skill, u8>,
    ) -> Result<(), AgentsError> {
        if skills.len() > self.config.max_skills {
            return Err(AgentsError::TooManySkills {
                max: self.config.max_skills,
            });
        }
        let a = self
            .agents
            .get_mut(&id)
            .ok_or(AgentsError::UnknownAgent(id))?;
        if a.state == AgentState::Ready {
            self.ready.remove(a.tenant, id, &a.skills, a.keys());
            a.skills = skills;
            self.ready.insert(a.tenant, id, &a.skills, a.keys());
        } else {
            a.skills = skills;
        }
        Ok(())
    }

    /// The next time [`Agents::poll`] has something to do (an offer's ring timeout, a
    /// wrap-up's end).
    pub fn poll_timeout(&self) -> Option<DateTime<Utc>> {
        self.timers.first().map(|(t, _)| *t)
    }

    /// Runs the timers due by `now`: offers that rang out (the agent is paused `missed`, the
    /// call needs the next agent), wrap-ups that reached their limit.
    pub fn poll(&mut self, now: DateTime<Utc>) -> Vec<AgentUpdate> {
        let mut out = Vec::new();
        while let Some(&(t, id)) = self.timers.first() {
            if t > now {
                break;
            }
            self.timers.remove(&(t, id));
            let Some(a) = self.agents.get_mut(&id) else {
                continue;
            };
            a.deadline = None;
            let (state, call) = (a.state, a.call);
            match (state, call) {
                (AgentState::Reserved | AgentState::Ringing, Some(call)) => {
                    self.missed(id, call, Redistribute::NoAnswer, now, &mut out);
                }
                (AgentState::WrapUp, _) => self.end_wrap_up(id, now, &mut out),
                _ => {}
            }
        }
        out
    }

    /// An agent's own request.
    ///
    /// # Errors
    /// [`AgentsError::UnknownAgent`]; [`AgentsError::NotAllowed`] when the state does not
    /// allow it (log out or pause during an offer or a call: it ends first);
    /// [`AgentsError::UnknownPauseReason`] for a reason not in the tenant's list.
    pub fn request(
        &mut self,
        id: AgentId,
        request: Request,
        now: DateTime<Utc>,
    ) -> Result<Vec<AgentUpdate>, AgentsError> {
        let a = self.agents.get(&id).ok_or(AgentsError::UnknownAgent(id))?;
        let state = a.state;
        let refuse = || AgentsError::NotAllowed {
            agent: id,
            state,
            action: request.action(),
        };
        let mut out = Vec::new();
        use AgentState as S;
        match (&request, state) {
            (Request::LogIn, S::LoggedOut) | (Request::Ready, S::Paused | S::WrapUp) => {
                self.go(id, S::Ready, Cause::Request, None, None, now, &mut out);
            }
            (Request::Ready, S::Ready) | (Request::LogOut, S::LoggedOut) => {}
            (Request::LogOut, S::Ready | S::Paused | S::WrapUp) => {
                self.go(id, S::LoggedOut, Cause::Request, None, None, now, &mut out);
            }
            (Request::Pause(reason), S::Ready | S::Paused | S::WrapUp) => {
                let listed = self
                    .pause_reasons
                    .get(&a.tenant)
                    .is_some_and(|l| l.contains(reason));
                if !listed {
                    return Err(AgentsError::UnknownPauseReason(reason.to_string()));
                }
                if state == S::Paused && a.pause_reason.as_ref() == Some(reason) {
                    return Ok(out);
                }
                self.go(
                    id,
                    S::Paused,
                    Cause::Request,
                    None,
                    Some(reason.clone()),
                    now,
                    &mut out,
                );
            }
            _ => return Err(refuse()),
        }
        Ok(out)
    }

    /// Registers (or replaces) a queue: the machine keeps, from now on, its own order of the
    /// ready agents who meet it, so [`Agents::select_queue`] is the head of one set however
    /// many skills the queue asks (a one-off [`Agents::select`] walks a skill's set instead).
    ///
    /// # Errors
    /// [`AgentsError::TooManyQueues`] past [`AgentsConfig::max_queues`];
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
    /// [`AgentsConfig::missed_pause`]), and the call needs the next agent.
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

    /// Applies one update of the call tracker: each leg of the call on an agent's endpoint
    /// (by its channel, or the record's agent endpoint for the agent leg) moves that agent.
    ///
    /// - ringing (or created): the agent rings for the call (a reserved agent for the offered
    ///   call; a ready, paused or wrapping-up agent for a call nobody offered, such as a
    ///   manual or app_queue call). An agent ringing or talking on another call stays there.
    /// - answered: the agent is on the call.
    /// - ended (the leg, or the whole call): on call → wrap-up (its policy's limit, or
    ///   straight on when the limit is zero); an offered leg that ended unanswered while the
    ///   call goes on → missed, the call needs the next agent; the call itself over → ready
    ///   (the caller left: not the agent's fault); an unoffered ring → back where they were.
    ///
    /// Logged-out agents are not moved. An agent runs one call at a time: a second call's
    /// legs count once it is the agent's current call.
    pub fn apply(&mut self, update: &CallUpdate, now: DateTime<Utc>) -> Vec<AgentUpdate> {
        let mut out = Vec::new();
        let record = &update.record;
        let call = update.call_id;
        let ended = record.is_ended();
        let mut seen: Vec<(AgentId, LegView)> = Vec::new();
        for leg in &record.legs {
            if leg.role == LegRole::Local {
                continue;
            }
            let Some(id) = self.agent_of_leg(leg, record) else {
                continue;
            };
            let view = if ended {
                LegView::Ended
            } else {
                match leg.state {
                    LegStatus::Created | LegStatus::Ringing => LegView::Ringing,
                    LegStatus::Up => LegView::Up,
                    LegStatus::HungUp => LegView::Ended,
                }
            };
            match seen.iter_mut().find(|(a, _)| *a == id) {
                Some((_, v)) => *v = (*v).max(view),
                None => seen.push((id, view)),
            }
        }
        for (id, view) in seen {
            self.reflect(id, call, view, ended, now, &mut out);
        }
        out
    }

    /// The agent whose endpoint a leg is on.
    fn agent_of_leg(&self, leg: &LegRecord, record: &CallRecord) -> Option<AgentId> {
        let id = match &leg.channel {
            Some(channel) => self.agent_of_channel(channel),
            None => None,
        };
        let id = id.or_else(|| {
            (record.agent_leg.as_ref() == Some(&leg.leg))
                .then_some(record.agent_endpoint.as_ref())
                .flatten()
                .and_then(|e| self.by_endpoint.get(e).copied())
        })?;
        // A record that knows its tenant only moves that tenant's agents.
        let a = self.agents.get(&id)?;
        match record.tenant {
            Some(t) if t != a.tenant => None,
            _ => Some(id),
        }
    }

    /// A channel is the endpoint itself or the endpoint, `-` and a sequence: try the whole
    /// name, then each cut at a `-` from the right (an endpoint may contain `-` itself).
    fn agent_of_channel(&self, channel: &str) -> Option<AgentId> {
        if let Some(id) = self.by_endpoint.get(channel) {
            return Some(*id);
        }
        let mut rest = channel;
        for _ in 0..4 {
            let cut = rest.rfind('-')?;
            rest = channel.get(..cut)?;
            if let Some(id) = self.by_endpoint.get(rest) {
                return Some(*id);
            }
        }
        None
    }

    #[cfg(test)]
    pub(crate) fn agent_of_channel_for_test(&self, channel: &str) -> Option<AgentId> {
        self.agent_of_channel(channel)
    }

    fn reflect(
        &mut self,
        id: AgentId,
        call: CallId,
        view: LegView,
        call_over: bool,
        now: DateTime<Utc>,
        out: &mut Vec<AgentUpdate>,
    ) {
        let Some(a) = self.agents.get(&id) else {
            return;
        };
        use AgentState as S;
        let state = a.state;
        if state == S::LoggedOut {
            return;
        }
        let current = a.call == Some(call);
        let busy_elsewhere = !current && matches!(state, S::Ringing | S::OnCall);
        let dropped = a.dropped == Some(call);
        match view {
            LegView::Ringing => {
                if current && matches!(state, S::Ringing | S::OnCall) {
                    return;
                }
                if busy_elsewhere || dropped {
                    return;
                }
                if current && state == S::Reserved {
                    // The offer's ring timeout runs from the reservation: ringing keeps it.
                    let deadline = a.deadline;
                    self.go(
                        id,
                        S::Ringing,
                        Cause::LegRinging,
                        Some(call),
                        None,
                        now,
                        out,
                    );
                    self.set_deadline(id, deadline);
                    return;
                }
                self.take_unoffered(id, call, S::Ringing, Cause::LegRinging, now, out);
            }
            LegView::Up => {
                if current && state == S::OnCall {
                    return;
                }
                if !current && state == S::OnCall {
                    return;
                }
                if current && matches!(state, S::Reserved | S::Ringing) {
                    self.go(
                        id,
                        S::OnCall,
                        Cause::LegAnswered,
                        Some(call),
                        None,
                        now,
                        out,
                    );
                    self.count_call(id);
                    return;
                }
                self.take_unoffered(id, call, S::OnCall, Cause::LegAnswered, now, out);
                self.count_call(id);
            }
            LegView::Ended => {
                if !current {
                    if dropped && let Some(a) = self.agents.get_mut(&id) {
                        a.dropped = None;
                    }
                    return;
                }
                match state {
                    S::Reserved | S::Ringing => {
                        let offered = a.offered;
                        if offered && !call_over {
                            self.missed(id, call, Redistribute::NoAnswer, now, out);
                        } else if offered {
                            self.go(id, S::Ready, Cause::LegEnded, None, None, now, out);
                            self.drop_call(id, call);
                        } else {
                            match a.resume.clone() {
                                Resume::Ready => {
                                    self.go(id, S::Ready, Cause::LegEnded, None, None, now, out);
                                }
                                Resume::Paused(r) => {
                                    self.go(
                                        id,
                                        S::Paused,
                                        Cause::LegEnded,
                                        None,
                                        Some(r),
                                        now,
                                        out,
                                    );
                                }
                            }
                        }
                    }
                    S::OnCall => {
                        let policy = a.wrap_up.clone();
                        if policy.limit.is_zero() {
                            self.after_wrap_up(id, policy.then, Cause::LegEnded, now, out);
                        } else {
                            self.go(id, S::WrapUp, Cause::LegEnded, Some(call), None, now, out);
                            if let Some(a) = self.agents.get(&id) {
                                let at = a.since;
                                self.set_deadline(id, Some(after(at, policy.limit)));
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
    }

    /// The agent takes a call nobody offered through the machine (ringing or answered). A
    /// pending offer of another call is lost: that call needs the next agent.
    fn take_unoffered(
        &mut self,
        id: AgentId,
        call: CallId,
        to: AgentState,
        cause: Cause,
        now: DateTime<Utc>,
        out: &mut Vec<AgentUpdate>,
    ) {
        let Some(a) = self.agents.get(&id) else {
            return;
        };
        let lost = match (a.state, a.call) {
            (AgentState::Reserved | AgentState::Ringing, Some(c)) if a.offered && c != call => {
                Some(c)
            }
            _ => None,
        };
        let resume = match (a.state, &a.pause_reason) {
            (AgentState::Paused, Some(r)) => Resume::Paused(r.clone()),
            _ => Resume::Ready,
        };
        // A call the agent was taken off comes back only by being answered: the agent talks.
        let keep_offer = a.call == Some(call) && a.offered;
        self.go(id, to, cause, Some(call), None, now, out);
        if let Some(lost) = lost {
            self.offers.remove(&lost);
            out.push(AgentUpdate::NextAgent {
                call: lost,
                agent: id,
                why: Redistribute::AgentBusy,
            });
        }
        let default_wrap = self.config.default_wrap_up.clone();
        if let Some(a) = self.agents.get_mut(&id) {
            a.resume = resume;
            a.dropped = None;
            if !keep_offer {
                a.offered = false;
                a.wrap_up = default_wrap;
            }
        }
    }

    /// The offer of `call` rang out: paused `missed` (or ready), and the call needs the next
    /// agent.
    fn missed(
        &mut self,
        id: AgentId,
        call: CallId,
        why: Redistribute,
        now: DateTime<Utc>,
        out: &mut Vec<AgentUpdate>,
    ) {
        match self.config.missed_pause.clone() {
            Some(reason) => self.go(
                id,
                AgentState::Paused,
                Cause::OfferTimedOut,
                None,
                Some(reason),
                now,
                out,
            ),
            None => self.go(
                id,
                AgentState::Ready,
                Cause::OfferTimedOut,
                None,
                None,
                now,
                out,
            ),
        }
        self.drop_call(id, call);
        out.push(AgentUpdate::NextAgent {
            call,
            agent: id,
            why,
        });
    }

    fn end_wrap_up(&mut self, id: AgentId, now: DateTime<Utc>, out: &mut Vec<AgentUpdate>) {
        let Some(a) = self.agents.get(&id) else {
            return;
        };
        let then = a.wrap_up.then.clone();
        self.after_wrap_up(id, then, Cause::WrapUpEnded, now, out);
    }

    fn after_wrap_up(
        &mut self,
        id: AgentId,
        then: AfterWrapUp,
        cause: Cause,
        now: DateTime<Utc>,
        out: &mut Vec<AgentUpdate>,
    ) {
        match then {
            AfterWrapUp::Paused(r) => {
                self.go(id, AgentState::Paused, cause, None, Some(r), now, out);
            }
            // Ready, and any policy added later until it has its own meaning.
            _ => self.go(id, AgentState::Ready, cause, None, None, now, out),
        }
    }

    fn count_call(&mut self, id: AgentId) {
        if let Some(a) = self.agents.get_mut(&id) {
            a.calls_taken = a.calls_taken.saturating_add(1);
        }
    }

    /// Remembers that the agent was taken off `call`, so its late ringing legs do not pull
    /// the agent back.
    fn drop_call(&mut self, id: AgentId, call: CallId) {
        if let Some(a) = self.agents.get_mut(&id) {
            a.dropped = Some(call);
            a.offered = false;
        }
    }

    fn set_deadline(&mut self, id: AgentId, deadline: Option<DateTime<Utc>>) {
        let Some(a) = self.agents.get_mut(&id) else {
            return;
        };
        if let Some(old) = a.deadline.take() {
            self.timers.remove(&(old, id));
        }
        if let Some(t) = deadline {
            a.deadline = Some(t);
            self.timers.insert((t, id));
        }
    }

    /// The one place a state changes: keeps the ready index, the offers map and the timers in
    /// step, and emits the change. `call` is the new state's call.
    #[allow(clippy::too_many_arguments)]
    fn go(
        &mut self,
        id: AgentId,
        to: AgentState,
        cause: Cause,
        call: Option<CallId>,
        reason: Option<ReasonCode>,
        now: DateTime<Utc>,
        out: &mut Vec<AgentUpdate>,
    ) {
        let Some(a) = self.agents.get_mut(&id) else {
            return;
        };
        let reason = if to == AgentState::Paused {
            reason
        } else {
            None
        };
        if a.state == to && a.call == call && a.pause_reason == reason {
            return;
        }
        // Time never runs backwards for one agent: an input with an older `now` takes effect
        // at the previous change.
        let at = now.max(a.since);
        let time_in_previous = at
            .signed_duration_since(a.since)
            .to_std()
            .unwrap_or_default();
        let from = a.state;
        if from == AgentState::Ready {
            self.ready.remove(a.tenant, id, &a.skills, a.keys());
        }
        if let Some(old) = a.deadline.take() {
            self.timers.remove(&(old, id));
        }
        if let Some(old) = a.call
            && call != Some(old)
            && self.offers.get(&old) == Some(&id)
        {
            self.offers.remove(&old);
        }
        let change = AgentChange {
            agent: id,
            tenant: a.tenant,
            from,
            to,
            cause,
            pause_reason: reason.clone(),
            from_pause_reason: a.pause_reason.clone(),
            at,
            time_in_previous,
            call: call.or(a.call),
        };
        a.state = to;
        a.since = at;
        a.call = call;
        a.pause_reason = reason;
        if to == AgentState::Ready {
            a.idle_since = at;
            self.ready.insert(a.tenant, id, &a.skills, a.keys());
        }
        if call.is_none() {
            a.offered = false;
        }
        out.push(AgentUpdate::Changed(change));
    }
}
