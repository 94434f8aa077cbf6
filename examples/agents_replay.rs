//! Replays a small call-centre morning through the agent-state machine and prints what it
//! decides: every state change (a row of the agent-state log), every call sent on to the next
//! agent, and the time each agent spent in each state.
//!
//! Run with `cargo run -p hookflash-examples --example agents_replay`.
//!
//! Three agents (Ann: sales 5 and spanish 3; Bob: sales 2; Cid: sales 4) log in; calls for a
//! "sales" queue and a "spanish" queue (spanish at level 2 or above) arrive and are offered by
//! longest idle; the agents' phones ring, are answered and hung up as a real PBX would report
//! them (leg events through the call tracker); Bob lets one offer ring out and is paused
//! `missed`, so the call goes to the next agent; wrap-up lasts 10 seconds.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, TimeDelta, Utc};
use hookflash_agents::{
    AfterWrapUp, AgentId, AgentSpec, AgentState, AgentUpdate, Agents, AgentsConfig, Offer,
    ReasonCode, Request, Requirement, Skill, Strategy, WrapUpPolicy,
};
use hookflash_calls::{Tracker, TrackerConfig};
use hookflash_provider::{
    CallId, HangupCause, HangupSide, LegEvent, LegEventKind, LegId, TenantId,
};

struct Desk {
    agents: Agents,
    tracker: Tracker,
    names: BTreeMap<AgentId, &'static str>,
    endpoints: BTreeMap<AgentId, String>,
    /// Time per agent and state, summed from the changes (what the store's report does).
    totals: BTreeMap<(AgentId, AgentState), Duration>,
    legs: u32,
}

impl Desk {
    fn print(&mut self, out: &[AgentUpdate]) {
        for u in out {
            match u {
                AgentUpdate::Changed(c) => {
                    *self.totals.entry((c.agent, c.from)).or_default() += c.time_in_previous;
                    println!(
                        "{}  {:<4} {:>10} -> {:<10} {:<16} after {:>4}s{}",
                        c.at.format("%H:%M:%S"),
                        self.names.get(&c.agent).copied().unwrap_or("?"),
                        c.from.as_str(),
                        c.to.as_str(),
                        format!("{:?}", c.cause),
                        c.time_in_previous.as_secs(),
                        c.pause_reason
                            .as_ref()
                            .map(|r| format!(" ({r})"))
                            .unwrap_or_default(),
                    );
                }
                AgentUpdate::NextAgent { call, agent, why } => println!(
                    "          call {} needs the next agent ({} did not take it: {why:?})",
                    &call.to_string()[..8],
                    self.names.get(agent).copied().unwrap_or("?"),
                ),
                other => println!("          {other:?}"),
            }
        }
    }

    /// The agent's phone rings for the call: a new leg, created and ringing.
    fn ring(&mut self, agent: AgentId, call: CallId, at: DateTime<Utc>) -> anyhow::Result<LegId> {
        self.legs += 1;
        let leg = LegId::new(format!("1795315411.{}", self.legs))?;
        let endpoint = self.endpoints.get(&agent).context("agent")?.clone();
        let channel = format!("{endpoint}-{:08x}", self.legs);
        for kind in [
            LegEventKind::Created {
                role: None,
                endpoint: Some(endpoint.clone()),
                caller_number: None,
                called_number: None,
            },
            LegEventKind::Ringing,
        ] {
            let ev = LegEvent::new(leg.clone(), at, kind)
                .with_call_id(call)
                .with_channel(channel.clone());
            self.feed(&ev);
        }
        Ok(leg)
    }

    fn leg(&mut self, leg: &LegId, call: CallId, kind: LegEventKind, at: DateTime<Utc>) {
        self.feed(&LegEvent::new(leg.clone(), at, kind).with_call_id(call));
    }

    fn feed(&mut self, ev: &LegEvent) {
        for u in self.tracker.apply(ev, ev.at) {
            let out = self.agents.apply(&u, ev.at);
            self.print(&out);
        }
    }

    fn run_timers(&mut self, until: DateTime<Utc>) {
        while let Some(t) = self.agents.poll_timeout().filter(|t| *t <= until) {
            let out = self.agents.poll(t);
            self.print(&out);
        }
    }
}

fn main() -> anyhow::Result<()> {
    let t0 = DateTime::from_timestamp(1_795_338_000, 0).context("time")?;
    let at = |s: i64| t0 + TimeDelta::seconds(s);
    let tenant = TenantId::new_random();
    let sales = Skill::new("sales")?;
    let spanish = Skill::new("spanish")?;
    let config = AgentsConfig::default()
        .with_offer_timeout(Duration::from_secs(15))
        .with_default_wrap_up(WrapUpPolicy {
            limit: Duration::from_secs(10),
            then: AfterWrapUp::Ready,
        });
    let mut desk = Desk {
        agents: Agents::new(config),
        tracker: Tracker::new(TrackerConfig::default()),
        names: BTreeMap::new(),
        endpoints: BTreeMap::new(),
        totals: BTreeMap::new(),
        legs: 0,
    };
    desk.agents
        .set_pause_reasons(tenant, [ReasonCode::new("lunch")?])?;
    let mut ids = Vec::new();
    for (name, ext, skills) in [
        ("Ann", 1001, vec![(sales.clone(), 5), (spanish.clone(), 3)]),
        ("Bob", 1002, vec![(sales.clone(), 2)]),
        ("Cid", 1003, vec![(sales.clone(), 4)]),
    ] {
        let id = AgentId::new_random();
        let endpoint = format!("PJSIP/agent{ext}");
        let mut spec = AgentSpec::new(id, tenant, endpoint.clone());
        for (s, l) in skills {
            spec = spec.with_skill(s, l);
        }
        desk.agents.register(spec, t0)?;
        desk.names.insert(id, name);
        desk.endpoints.insert(id, endpoint);
        ids.push(id);
    }
    let (ann, bob, cid) = (ids[0], ids[1], ids[2]);
    // Bob logs in first (idle longest), then Cid, then Ann.
    for (id, s) in [(bob, 0), (cid, 5), (ann, 10)] {
        let out = desk.agents.request(id, Request::LogIn, at(s))?;
        desk.print(&out);
    }
    let sales_q = Requirement::new(tenant, Strategy::LongestIdle).with_skill(sales, 1);
    let spanish_q = Requirement::new(tenant, Strategy::LongestIdle).with_skill(spanish, 2);
    let wrap = WrapUpPolicy {
        limit: Duration::from_secs(10),
        then: AfterWrapUp::Ready,
    };

    // 1. A spanish call: only Ann has spanish, though Bob has idled longer.
    let c1 = CallId::new_random();
    let (agent, out) = desk
        .agents
        .select_and_reserve(
            &spanish_q,
            Offer::new(c1).with_wrap_up(wrap.clone()),
            at(20),
        )?
        .context("nobody for spanish")?;
    desk.print(&out);
    let leg = desk.ring(agent, c1, at(20))?;
    desk.leg(&leg, c1, LegEventKind::Answered, at(24));

    // 2. A sales call: Bob (longest idle) is offered it and lets it ring out.
    let c2 = CallId::new_random();
    let (agent, out) = desk
        .agents
        .select_and_reserve(
            &sales_q,
            Offer::new(c2).with_ring_timeout(Duration::from_secs(15)),
            at(30),
        )?
        .context("nobody for sales")?;
    desk.print(&out);
    let bob_leg = desk.ring(agent, c2, at(30))?;
    desk.run_timers(at(46));
    // The ACD hangs up Bob's ringing phone and offers the call to the next agent: Cid.
    let hung_up = LegEventKind::HungUp {
        cause: HangupCause::from_code(16),
        side: HangupSide::Local,
    };
    desk.leg(&bob_leg, c2, hung_up.clone(), at(46));
    let (agent, out) = desk
        .agents
        .select_and_reserve(&sales_q, Offer::new(c2), at(46))?
        .context("nobody for sales")?;
    desk.print(&out);
    let cid_leg = desk.ring(agent, c2, at(46))?;
    desk.leg(&cid_leg, c2, LegEventKind::Answered, at(50));

    // Both calls end; wrap-up runs out; Bob comes back from his missed pause.
    let remote = LegEventKind::HungUp {
        cause: HangupCause::from_code(16),
        side: HangupSide::Remote,
    };
    desk.leg(&leg, c1, remote.clone(), at(140));
    desk.run_timers(at(200));
    desk.leg(&cid_leg, c2, remote, at(200));
    desk.run_timers(at(260));
    let out = desk.agents.request(bob, Request::Ready, at(260))?;
    desk.print(&out);
    let out = desk
        .agents
        .request(ann, Request::Pause(ReasonCode::new("lunch")?), at(300))?;
    desk.print(&out);
    let end = at(600);

    // Time per state per agent: the log's sums, plus the state each agent is in now.
    println!("\ntime per state until {}:", end.format("%H:%M:%S"));
    for id in ids {
        let view = desk.agents.agent(&id).context("agent")?;
        let current = (end - view.since()).to_std().unwrap_or_default();
        *desk.totals.entry((id, view.state())).or_default() += current;
        let line: Vec<String> = AgentState::ALL
            .iter()
            .filter_map(|st| {
                let d = desk.totals.get(&(id, *st))?;
                Some(format!("{} {}s", st.as_str(), d.as_secs()))
            })
            .collect();
        println!(
            "  {:<4} {} (calls answered: {})",
            desk.names.get(&id).copied().unwrap_or("?"),
            line.join(", "),
            view.calls_taken()
        );
    }
    Ok(())
}
