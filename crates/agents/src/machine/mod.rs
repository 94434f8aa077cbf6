//! The agent-state machine: requests, offers, call updates and timers in; state changes out.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use hookflash_provider::{CallId, TenantId};

use crate::config::AgentsConfig;
use crate::error::AgentsError;
use crate::model::{
    AfterWrapUp, AgentChange, AgentId, AgentSpec, AgentState, AgentUpdate, Cause, ReasonCode,
    Redistribute, Request, Skill, WrapUpPolicy,
};
use crate::select::{Keys, ReadyIndex};

mod calls;
mod offers;

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
