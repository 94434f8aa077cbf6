//! A little world for the properties: agents, a real call tracker making the call updates, and
//! the inputs as data, so a run can be replayed.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use hookflash_agents::{
    AgentId, AgentSpec, AgentState, AgentUpdate, Agents, AgentsConfig, Offer, OfferOutcome,
    QueueId, ReasonCode, Request, Requirement, Skill, Strategy,
};
use hookflash_calls::{Tracker, TrackerConfig};
use hookflash_provider::{
    CallId, HangupCause, HangupSide, LegEvent, LegEventKind, LegId, TenantId,
};

pub(crate) const AGENTS: usize = 4;
pub(crate) const CALLS: usize = 3;

/// One input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    LogIn(usize),
    LogOut(usize),
    Ready(usize),
    Pause(usize),
    Reserve(usize, usize),
    /// Choose (longest idle) and reserve for a call.
    Select(usize),
    Outcome(usize, usize, u8),
    Release(usize, usize),
    /// A leg of the call on the agent's phone appears and rings.
    Ring(usize, usize),
    Answer(usize, usize),
    Hangup(usize, usize),
    /// Time passes (seconds), then the timers run.
    Wait(u8),
}

pub(crate) fn queue_id(n: usize) -> QueueId {
    QueueId::from_uuid(uuid::Uuid::from_u128(1000 + n as u128))
}

/// The queues registered in every world (and asked ad hoc, to compare).
pub(crate) fn queues(tenant: TenantId) -> Vec<Requirement> {
    let skill = |s: &str| Skill::new(s).unwrap_or_else(|_| std::process::abort());
    vec![
        Requirement::new(tenant, Strategy::LongestIdle),
        Requirement::new(tenant, Strategy::RoundRobin).with_skill(skill("s0"), 2),
        Requirement::new(tenant, Strategy::FewestCalls).with_skill(skill("s1"), 1),
        Requirement::new(tenant, Strategy::LongestIdle)
            .with_skill(skill("s0"), 3)
            .with_skill(skill("s1"), 2),
    ]
}

pub(crate) fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_795_315_411, 0).unwrap_or_default()
}

pub(crate) fn agent_id(i: usize) -> AgentId {
    AgentId::from_uuid(uuid::Uuid::from_u128(i as u128 + 1))
}

/// What a step did: the outputs, and each agent's state before and after.
#[derive(Debug)]
pub(crate) struct Step {
    pub(crate) op: Op,
    pub(crate) out: Vec<AgentUpdate>,
    pub(crate) before: Vec<(AgentState, Option<CallId>)>,
    pub(crate) after: Vec<(AgentState, Option<CallId>)>,
    /// The call whose leg the op moved (a call update was fed), if any.
    pub(crate) call: Option<CallId>,
}

pub(crate) struct World {
    pub(crate) agents: Agents,
    tracker: Tracker,
    pub(crate) tenant: TenantId,
    pub(crate) now: DateTime<Utc>,
    /// Per call slot: its generation (a new call id once every leg of the last one hung up).
    generation: [u32; CALLS],
    /// Live legs: (agent, slot) → leg.
    legs: HashMap<(usize, usize), (LegId, bool)>,
    leg_seq: u32,
}

impl World {
    pub(crate) fn new() -> Self {
        let mut agents =
            Agents::new(AgentsConfig::default().with_offer_timeout(Duration::from_secs(15)));
        let tenant = TenantId::from_uuid(uuid::Uuid::from_u128(99));
        agents
            .set_pause_reasons(
                tenant,
                [ReasonCode::new("lunch").unwrap_or_else(|_| ReasonCode::missed())],
            )
            .ok();
        // Skills: agent i has s0 at level i + 1, and odd agents s1 at level 2.
        let s0 = Skill::new("s0").ok();
        let s1 = Skill::new("s1").ok();
        for i in 0..AGENTS {
            let mut spec = AgentSpec::new(agent_id(i), tenant, format!("PJSIP/agent{}", 1001 + i));
            if let Some(s0) = &s0 {
                spec = spec.with_skill(s0.clone(), i as u8 + 1);
            }
            if let (Some(s1), 1) = (&s1, i % 2) {
                spec = spec.with_skill(s1.clone(), 2);
            }
            agents.register(spec, t0()).ok();
        }
        for (n, req) in queues(tenant).into_iter().enumerate() {
            agents.add_queue(queue_id(n), req).ok();
        }
        Self {
            agents,
            tracker: Tracker::new(TrackerConfig::default()),
            tenant,
            now: t0(),
            generation: [0; CALLS],
            legs: HashMap::new(),
            leg_seq: 0,
        }
    }

    pub(crate) fn call(&self, slot: usize) -> CallId {
        CallId::from_uuid(uuid::Uuid::from_u128(
            ((slot as u128) << 32) | u128::from(self.generation[slot]) | (1 << 100),
        ))
    }

    pub(crate) fn states(&self) -> Vec<(AgentState, Option<CallId>)> {
        (0..AGENTS)
            .map(|i| {
                self.agents
                    .agent(&agent_id(i))
                    .map_or((AgentState::LoggedOut, None), |a| (a.state(), a.call()))
            })
            .collect()
    }

    fn feed(&mut self, ev: LegEvent) -> Vec<AgentUpdate> {
        let mut out = Vec::new();
        for u in self.tracker.apply(&ev, self.now) {
            out.extend(self.agents.apply(&u, self.now));
        }
        out
    }

    pub(crate) fn step(&mut self, op: Op) -> Step {
        let before = self.states();
        // Every input comes a little later than the one before.
        self.now += TimeDelta::milliseconds(250);
        let now = self.now;
        let mut call = None;
        let out = match op {
            Op::LogIn(a) => self
                .agents
                .request(agent_id(a), Request::LogIn, now)
                .unwrap_or_default(),
            Op::LogOut(a) => self
                .agents
                .request(agent_id(a), Request::LogOut, now)
                .unwrap_or_default(),
            Op::Ready(a) => self
                .agents
                .request(agent_id(a), Request::Ready, now)
                .unwrap_or_default(),
            Op::Pause(a) => {
                let lunch = ReasonCode::new("lunch").unwrap_or_else(|_| ReasonCode::missed());
                self.agents
                    .request(agent_id(a), Request::Pause(lunch), now)
                    .unwrap_or_default()
            }
            Op::Reserve(a, c) => self
                .agents
                .reserve(agent_id(a), Offer::new(self.call(c)), now)
                .unwrap_or_default(),
            Op::Select(c) => {
                let req = Requirement::new(self.tenant, Strategy::LongestIdle);
                match self
                    .agents
                    .select_and_reserve(&req, Offer::new(self.call(c)), now)
                {
                    Ok(Some((_, out))) => out,
                    _ => Vec::new(),
                }
            }
            Op::Outcome(a, c, o) => {
                let o = match o % 3 {
                    0 => OfferOutcome::Accepted,
                    1 => OfferOutcome::Rejected,
                    _ => OfferOutcome::TimedOut,
                };
                self.agents
                    .offer_outcome(agent_id(a), self.call(c), o, now)
                    .unwrap_or_default()
            }
            Op::Release(a, c) => self
                .agents
                .release(agent_id(a), self.call(c), now)
                .unwrap_or_default(),
            Op::Ring(a, c) => {
                if self.legs.contains_key(&(a, c)) {
                    Vec::new()
                } else {
                    self.leg_seq += 1;
                    let leg = LegId::new(format!("1795315411.{}", self.leg_seq))
                        .unwrap_or_else(|_| unreachable_leg());
                    self.legs.insert((a, c), (leg.clone(), false));
                    let mk = |kind| {
                        LegEvent::new(leg.clone(), now, kind)
                            .with_call_id(self.call(c))
                            .with_channel(format!("PJSIP/agent{}-{:08x}", 1001 + a, self.leg_seq))
                    };
                    let created = mk(LegEventKind::Created {
                        role: None,
                        endpoint: None,
                        caller_number: None,
                        called_number: None,
                    });
                    let ringing = mk(LegEventKind::Ringing);
                    call = Some(self.call(c));
                    let mut out = self.feed(created);
                    out.extend(self.feed(ringing));
                    out
                }
            }
            Op::Answer(a, c) => {
                let id = self.call(c);
                match self.legs.get_mut(&(a, c)) {
                    Some((leg, up)) if !*up => {
                        *up = true;
                        call = Some(id);
                        let ev = LegEvent::new(leg.clone(), now, LegEventKind::Answered)
                            .with_call_id(id);
                        self.feed(ev)
                    }
                    _ => Vec::new(),
                }
            }
            Op::Hangup(a, c) => match self.legs.remove(&(a, c)) {
                Some((leg, _)) => {
                    call = Some(self.call(c));
                    let ev = LegEvent::new(
                        leg,
                        now,
                        LegEventKind::HungUp {
                            cause: HangupCause::from_code(16),
                            side: HangupSide::Remote,
                        },
                    )
                    .with_call_id(self.call(c));
                    let out = self.feed(ev);
                    if !self.legs.keys().any(|(_, s)| *s == c) {
                        self.generation[c] += 1;
                    }
                    out
                }
                None => Vec::new(),
            },
            Op::Wait(s) => {
                self.now += TimeDelta::seconds(i64::from(s));
                let now = self.now;
                let mut out = Vec::new();
                for u in self.tracker.expire(now) {
                    out.extend(self.agents.apply(&u, now));
                }
                out.extend(self.agents.poll(now));
                out
            }
        };
        Step {
            op,
            out,
            before,
            after: self.states(),
            call,
        }
    }
}

fn unreachable_leg() -> LegId {
    LegId::new("x").unwrap_or_else(|_| std::process::abort())
}
