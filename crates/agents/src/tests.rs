//! Unit tests: each transition, and the ACD's choice.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use hookflash_calls::{CallUpdate, Tracker, TrackerConfig};
use hookflash_provider::{
    CallId, HangupCause, HangupSide, LegEvent, LegEventKind, LegId, TenantId,
};

use crate::*;

fn t(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_795_315_411, 0).unwrap() + TimeDelta::seconds(secs)
}

fn code(s: &str) -> ReasonCode {
    ReasonCode::new(s).unwrap()
}

fn skill(s: &str) -> Skill {
    Skill::new(s).unwrap()
}

/// The machine, a tracker to make real call updates, and a few agents.
struct H {
    agents: Agents,
    tracker: Tracker,
    tenant: TenantId,
    ids: Vec<AgentId>,
    leg_seq: u32,
}

impl H {
    fn new(n: usize) -> Self {
        Self::with_config(n, AgentsConfig::default())
    }

    fn with_config(n: usize, config: AgentsConfig) -> Self {
        let mut agents = Agents::new(config);
        let tenant = TenantId::new_random();
        agents
            .set_pause_reasons(tenant, [code("lunch"), code("training")])
            .unwrap();
        let mut ids = Vec::new();
        for i in 0..n {
            let id = AgentId::from_uuid(uuid::Uuid::from_u128(i as u128 + 1));
            agents
                .register(
                    AgentSpec::new(id, tenant, format!("PJSIP/agent{}", 1001 + i)),
                    t(0),
                )
                .unwrap();
            ids.push(id);
        }
        Self {
            agents,
            tracker: Tracker::new(TrackerConfig::default()),
            tenant,
            ids,
            leg_seq: 0,
        }
    }

    fn login(&mut self, i: usize, at: DateTime<Utc>) {
        self.agents
            .request(self.ids[i], Request::LogIn, at)
            .unwrap();
    }

    fn state(&self, i: usize) -> AgentState {
        self.agents.agent(&self.ids[i]).unwrap().state()
    }

    /// A new leg on agent `i`'s phone for `call`, created and ringing.
    fn ring(&mut self, i: usize, call: CallId, at: DateTime<Utc>) -> (LegId, Vec<AgentUpdate>) {
        self.leg_seq += 1;
        let leg = LegId::new(format!("1795315411.{}", self.leg_seq)).unwrap();
        let channel = format!("PJSIP/agent{}-{:08x}", 1001 + i, self.leg_seq);
        let ev = |kind| {
            LegEvent::new(leg.clone(), at, kind)
                .with_call_id(call)
                .with_channel(channel.clone())
        };
        let mut out = self.feed(&ev(LegEventKind::Created {
            role: None,
            endpoint: Some(format!("PJSIP/agent{}", 1001 + i)),
            caller_number: None,
            called_number: None,
        }));
        out.extend(self.feed(&ev(LegEventKind::Ringing)));
        (leg, out)
    }

    fn leg_event(
        &mut self,
        leg: &LegId,
        call: CallId,
        kind: LegEventKind,
        at: DateTime<Utc>,
    ) -> Vec<AgentUpdate> {
        self.feed(&LegEvent::new(leg.clone(), at, kind).with_call_id(call))
    }

    fn answer(&mut self, leg: &LegId, call: CallId, at: DateTime<Utc>) -> Vec<AgentUpdate> {
        self.leg_event(leg, call, LegEventKind::Answered, at)
    }

    fn hangup(&mut self, leg: &LegId, call: CallId, at: DateTime<Utc>) -> Vec<AgentUpdate> {
        self.leg_event(
            leg,
            call,
            LegEventKind::HungUp {
                cause: HangupCause::from_code(16),
                side: HangupSide::Remote,
            },
            at,
        )
    }

    fn feed(&mut self, ev: &LegEvent) -> Vec<AgentUpdate> {
        let updates: Vec<CallUpdate> = self.tracker.apply(ev, ev.at);
        let mut out = Vec::new();
        for u in &updates {
            out.extend(self.agents.apply(u, ev.at));
        }
        out
    }
}

fn changes(out: &[AgentUpdate]) -> Vec<(AgentState, AgentState, Cause)> {
    out.iter()
        .filter_map(AgentUpdate::change)
        .map(|c| (c.from, c.to, c.cause))
        .collect()
}

use AgentState as S;

#[test]
fn requests_move_the_agent_and_refuse_what_does_not_fit() {
    let mut h = H::new(1);
    let a = h.ids[0];
    let out = h.agents.request(a, Request::LogIn, t(10)).unwrap();
    let c = out[0].change().unwrap();
    assert_eq!(
        (c.from, c.to, c.cause),
        (S::LoggedOut, S::Ready, Cause::Request)
    );
    assert_eq!(c.time_in_previous, Duration::from_secs(10));
    let out = h
        .agents
        .request(a, Request::Pause(code("lunch")), t(20))
        .unwrap();
    assert_eq!(out[0].change().unwrap().pause_reason, Some(code("lunch")));
    assert_eq!(
        h.agents.request(a, Request::Pause(code("smoke")), t(21)),
        Err(AgentsError::UnknownPauseReason("smoke".into()))
    );
    // Another listed reason: a change of its own; the same reason: nothing.
    assert_eq!(
        h.agents
            .request(a, Request::Pause(code("training")), t(22))
            .unwrap()
            .len(),
        1
    );
    assert!(
        h.agents
            .request(a, Request::Pause(code("training")), t(23))
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        changes(&h.agents.request(a, Request::Ready, t(30)).unwrap()),
        [(S::Paused, S::Ready, Cause::Request)]
    );
    assert!(matches!(
        h.agents.request(a, Request::LogIn, t(31)),
        Err(AgentsError::NotAllowed {
            state: S::Ready,
            ..
        })
    ));
    h.agents
        .reserve(a, Offer::new(CallId::new_random()), t(32))
        .unwrap();
    for r in [
        Request::LogOut,
        Request::Ready,
        Request::Pause(code("lunch")),
    ] {
        assert!(matches!(
            h.agents.request(a, r, t(33)),
            Err(AgentsError::NotAllowed {
                state: S::Reserved,
                ..
            })
        ));
    }
    assert!(matches!(
        h.agents
            .request(AgentId::new_random(), Request::LogIn, t(1)),
        Err(AgentsError::UnknownAgent(_))
    ));
}

#[test]
fn an_offer_rings_is_answered_and_wraps_up_to_ready() {
    let mut h = H::new(1);
    h.login(0, t(0));
    let call = CallId::new_random();
    let wrap = WrapUpPolicy {
        limit: Duration::from_secs(15),
        then: AfterWrapUp::Ready,
    };
    let out = h
        .agents
        .reserve(h.ids[0], Offer::new(call).with_wrap_up(wrap), t(5))
        .unwrap();
    assert_eq!(changes(&out), [(S::Ready, S::Reserved, Cause::Reserved)]);
    assert_eq!(h.agents.offered_to(&call), Some(h.ids[0]));
    let (leg, out) = h.ring(0, call, t(6));
    assert_eq!(
        changes(&out),
        [(S::Reserved, S::Ringing, Cause::LegRinging)]
    );
    let out = h.answer(&leg, call, t(9));
    assert_eq!(changes(&out), [(S::Ringing, S::OnCall, Cause::LegAnswered)]);
    assert_eq!(
        out[0].change().unwrap().time_in_previous,
        Duration::from_secs(3)
    );
    let out = h.hangup(&leg, call, t(69));
    assert_eq!(changes(&out), [(S::OnCall, S::WrapUp, Cause::LegEnded)]);
    assert_eq!(out[0].change().unwrap().call, Some(call));
    assert_eq!(h.agents.poll_timeout(), Some(t(84)));
    assert!(h.agents.poll(t(83)).is_empty());
    let out = h.agents.poll(t(84));
    assert_eq!(changes(&out), [(S::WrapUp, S::Ready, Cause::WrapUpEnded)]);
    assert_eq!(h.agents.offered_to(&call), None);
    assert_eq!(h.agents.agent(&h.ids[0]).unwrap().calls_taken(), 1);
}

#[test]
fn a_wrap_up_can_end_paused_or_not_at_all() {
    let mut h = H::new(2);
    h.login(0, t(0));
    h.login(1, t(0));
    let (c0, c1) = (CallId::new_random(), CallId::new_random());
    let paused = WrapUpPolicy {
        limit: Duration::from_secs(10),
        then: AfterWrapUp::Paused(code("acw")),
    };
    let none = WrapUpPolicy {
        limit: Duration::ZERO,
        then: AfterWrapUp::Ready,
    };
    h.agents
        .reserve(h.ids[0], Offer::new(c0).with_wrap_up(paused), t(1))
        .unwrap();
    h.agents
        .reserve(h.ids[1], Offer::new(c1).with_wrap_up(none), t(1))
        .unwrap();
    let (l0, _) = h.ring(0, c0, t(2));
    let (l1, _) = h.ring(1, c1, t(2));
    h.answer(&l0, c0, t(3));
    h.answer(&l1, c1, t(3));
    h.hangup(&l0, c0, t(10));
    let out = h.hangup(&l1, c1, t(10));
    assert_eq!(changes(&out), [(S::OnCall, S::Ready, Cause::LegEnded)]);
    let out = h.agents.poll(t(20));
    assert_eq!(changes(&out), [(S::WrapUp, S::Paused, Cause::WrapUpEnded)]);
    assert_eq!(out[0].change().unwrap().pause_reason, Some(code("acw")));
    // The agent's ready ends a wrap-up early.
    let c2 = CallId::new_random();
    h.agents.request(h.ids[0], Request::Ready, t(21)).unwrap();
    h.agents.reserve(h.ids[0], Offer::new(c2), t(22)).unwrap();
    let (l2, _) = h.ring(0, c2, t(22));
    h.answer(&l2, c2, t(23));
    h.hangup(&l2, c2, t(24));
    assert_eq!(h.state(0), S::WrapUp);
    let out = h.agents.request(h.ids[0], Request::Ready, t(25)).unwrap();
    assert_eq!(changes(&out), [(S::WrapUp, S::Ready, Cause::Request)]);
    assert_eq!(h.agents.poll_timeout(), None);
}

#[test]
fn an_offer_that_rings_out_pauses_missed_and_asks_for_the_next_agent() {
    let mut h = H::new(1);
    h.login(0, t(0));
    let call = CallId::new_random();
    h.agents
        .reserve(
            h.ids[0],
            Offer::new(call).with_ring_timeout(Duration::from_secs(15)),
            t(10),
        )
        .unwrap();
    let (leg, _) = h.ring(0, call, t(11));
    assert!(h.agents.poll(t(24)).is_empty());
    let out = h.agents.poll(t(25));
    assert_eq!(
        changes(&out),
        [(S::Ringing, S::Paused, Cause::OfferTimedOut)]
    );
    assert_eq!(
        out[0].change().unwrap().pause_reason,
        Some(ReasonCode::missed())
    );
    assert_eq!(
        out[1],
        AgentUpdate::NextAgent {
            call,
            agent: h.ids[0],
            why: Redistribute::NoAnswer
        }
    );
    assert_eq!(h.agents.offered_to(&call), None);
    // The leg still ringing in a later update does not pull the agent back; its hangup is
    // nothing either.
    assert!(
        h.leg_event(&leg, call, LegEventKind::Ringing, t(26))
            .is_empty()
    );
    assert!(h.hangup(&leg, call, t(27)).is_empty());
    assert_eq!(h.state(0), S::Paused);
}

#[test]
fn missed_can_leave_the_agent_ready() {
    let mut h = H::with_config(1, AgentsConfig::default().with_missed_pause(None));
    h.login(0, t(0));
    let call = CallId::new_random();
    h.agents.reserve(h.ids[0], Offer::new(call), t(0)).unwrap();
    let out = h
        .agents
        .offer_outcome(h.ids[0], call, OfferOutcome::TimedOut, t(3))
        .unwrap();
    assert_eq!(
        changes(&out),
        [(S::Reserved, S::Ready, Cause::OfferTimedOut)]
    );
    assert!(matches!(
        out[1],
        AgentUpdate::NextAgent {
            why: Redistribute::NoAnswer,
            ..
        }
    ));
}

#[test]
fn an_offered_leg_ending_unanswered_is_missed_unless_the_caller_left() {
    let mut h = H::new(2);
    h.login(0, t(0));
    h.login(1, t(0));
    // Agent 0's leg fails while the caller still waits (a customer leg keeps the call up).
    let call = CallId::new_random();
    h.agents.reserve(h.ids[0], Offer::new(call), t(1)).unwrap();
    let customer = LegId::new("cust.1").unwrap();
    h.feed(
        &LegEvent::new(
            customer.clone(),
            t(1),
            LegEventKind::Created {
                role: None,
                endpoint: Some("PJSIP/trunk".into()),
                caller_number: Some("+15550001".into()),
                called_number: None,
            },
        )
        .with_call_id(call)
        .with_channel("PJSIP/trunk-00000001"),
    );
    let (leg, _) = h.ring(0, call, t(2));
    let out = h.hangup(&leg, call, t(5));
    assert_eq!(
        changes(&out),
        [(S::Ringing, S::Paused, Cause::OfferTimedOut)]
    );
    assert!(matches!(
        out[1],
        AgentUpdate::NextAgent {
            why: Redistribute::NoAnswer,
            ..
        }
    ));
    // Agent 1 is offered the same call; the caller hangs up while it rings: not a miss.
    h.agents.reserve(h.ids[1], Offer::new(call), t(6)).unwrap();
    let (leg1, _) = h.ring(1, call, t(6));
    h.hangup(&customer, call, t(8));
    let out = h.hangup(&leg1, call, t(8));
    assert_eq!(changes(&out), [(S::Ringing, S::Ready, Cause::LegEnded)]);
    assert_eq!(out.len(), 1);
}

#[test]
fn offers_are_accepted_rejected_and_released() {
    let mut h = H::new(1);
    let a = h.ids[0];
    h.login(0, t(0));
    let call = CallId::new_random();
    h.agents.reserve(a, Offer::new(call), t(1)).unwrap();
    let out = h
        .agents
        .offer_outcome(a, call, OfferOutcome::Rejected, t(2))
        .unwrap();
    assert_eq!(
        changes(&out),
        [(S::Reserved, S::Ready, Cause::OfferRejected)]
    );
    assert_eq!(
        out[1],
        AgentUpdate::NextAgent {
            call,
            agent: a,
            why: Redistribute::Rejected
        }
    );
    assert_eq!(
        h.agents
            .offer_outcome(a, call, OfferOutcome::Accepted, t(3)),
        Err(AgentsError::NoSuchOffer { agent: a, call })
    );
    let call = CallId::new_random();
    h.agents.reserve(a, Offer::new(call), t(4)).unwrap();
    let out = h
        .agents
        .offer_outcome(a, call, OfferOutcome::Accepted, t(5))
        .unwrap();
    assert_eq!(
        changes(&out),
        [(S::Reserved, S::OnCall, Cause::OfferAccepted)]
    );
    // Accepting again, or the leg answering after, is nothing new.
    assert!(
        h.agents
            .offer_outcome(a, call, OfferOutcome::Accepted, t(6))
            .unwrap()
            .is_empty()
    );
    let (leg, out) = h.ring(0, call, t(6));
    assert!(out.is_empty());
    assert!(h.answer(&leg, call, t(7)).is_empty());
    h.hangup(&leg, call, t(8));
    h.agents.request(a, Request::Ready, t(9)).unwrap();
    let call = CallId::new_random();
    h.agents.reserve(a, Offer::new(call), t(10)).unwrap();
    let out = h.agents.release(a, call, t(11)).unwrap();
    assert_eq!(changes(&out), [(S::Reserved, S::Ready, Cause::Released)]);
    assert_eq!(out.len(), 1);
    assert_eq!(
        h.agents.release(a, call, t(12)),
        Err(AgentsError::NoSuchOffer { agent: a, call })
    );
}

#[test]
fn one_call_one_agent_one_offer() {
    let mut h = H::new(2);
    h.login(0, t(0));
    h.login(1, t(0));
    let call = CallId::new_random();
    h.agents.reserve(h.ids[0], Offer::new(call), t(1)).unwrap();
    assert_eq!(
        h.agents.reserve(h.ids[1], Offer::new(call), t(1)),
        Err(AgentsError::CallOffered {
            call,
            agent: h.ids[0]
        })
    );
    assert!(matches!(
        h.agents
            .reserve(h.ids[0], Offer::new(CallId::new_random()), t(1)),
        Err(AgentsError::NotAllowed {
            state: S::Reserved,
            ..
        })
    ));
    assert_eq!(h.state(1), S::Ready);
}

#[test]
fn a_call_nobody_offered_rings_the_agent_and_gives_them_back() {
    let mut h = H::new(1);
    h.login(0, t(0));
    h.agents
        .request(h.ids[0], Request::Pause(code("lunch")), t(1))
        .unwrap();
    let call = CallId::new_random();
    let (leg, out) = h.ring(0, call, t(2));
    assert_eq!(changes(&out), [(S::Paused, S::Ringing, Cause::LegRinging)]);
    let out = h.hangup(&leg, call, t(4));
    assert_eq!(changes(&out), [(S::Ringing, S::Paused, Cause::LegEnded)]);
    assert_eq!(out[0].change().unwrap().pause_reason, Some(code("lunch")));
    assert_eq!(out.len(), 1, "no redistribution of a call nobody offered");
    // Answered: on call, then the default wrap-up.
    let call = CallId::new_random();
    let (leg, _) = h.ring(0, call, t(5));
    h.answer(&leg, call, t(6));
    assert_eq!(h.state(0), S::OnCall);
    h.hangup(&leg, call, t(7));
    assert_eq!(h.state(0), S::WrapUp);
    assert_eq!(h.agents.poll_timeout(), Some(t(37)));
}

#[test]
fn another_call_taking_a_reserved_agent_sends_the_offer_on() {
    let mut h = H::new(1);
    h.login(0, t(0));
    let (offered, direct) = (CallId::new_random(), CallId::new_random());
    h.agents
        .reserve(h.ids[0], Offer::new(offered), t(1))
        .unwrap();
    let (_, out) = h.ring(0, direct, t(2));
    assert_eq!(
        changes(&out),
        [(S::Reserved, S::Ringing, Cause::LegRinging)]
    );
    assert_eq!(
        out[1],
        AgentUpdate::NextAgent {
            call: offered,
            agent: h.ids[0],
            why: Redistribute::AgentBusy
        }
    );
    assert_eq!(h.agents.offered_to(&offered), None);
    assert_eq!(h.agents.agent(&h.ids[0]).unwrap().call(), Some(direct));
}

#[test]
fn logged_out_agents_and_other_tenants_legs_are_not_moved() {
    let mut h = H::new(1);
    let call = CallId::new_random();
    let (_, out) = h.ring(0, call, t(1));
    assert!(out.is_empty());
    assert_eq!(h.state(0), S::LoggedOut);
}

#[test]
fn channels_match_their_endpoint_and_nothing_longer() {
    let tenant = TenantId::new_random();
    let mut m = Agents::new(AgentsConfig::default());
    let (a, b) = (AgentId::new_random(), AgentId::new_random());
    m.register(AgentSpec::new(a, tenant, "PJSIP/agent1001"), t(0))
        .unwrap();
    m.register(AgentSpec::new(b, tenant, "PJSIP/desk-a-2"), t(0))
        .unwrap();
    assert_eq!(
        m.agent_of_channel_for_test("PJSIP/agent1001-00000013"),
        Some(a)
    );
    assert_eq!(m.agent_of_channel_for_test("PJSIP/agent1001"), Some(a));
    assert_eq!(
        m.agent_of_channel_for_test("PJSIP/agent10010-00000013"),
        None
    );
    assert_eq!(
        m.agent_of_channel_for_test("PJSIP/desk-a-2-0000001f"),
        Some(b)
    );
    assert_eq!(m.agent_of_channel_for_test("PJSIP/desk-a-0000001f"), None);
    assert_eq!(m.agent_of_channel_for_test("----------"), None);
}

#[test]
fn registration_is_bounded_and_checked() {
    let tenant = TenantId::new_random();
    let mut m = Agents::new(
        AgentsConfig::default()
            .with_max_agents(1)
            .with_max_skills(1),
    );
    let a = AgentId::new_random();
    m.register(AgentSpec::new(a, tenant, "PJSIP/a"), t(0))
        .unwrap();
    assert_eq!(
        m.register(AgentSpec::new(a, tenant, "PJSIP/b"), t(0)),
        Err(AgentsError::AgentExists(a))
    );
    assert_eq!(
        m.register(
            AgentSpec::new(AgentId::new_random(), tenant, "PJSIP/b"),
            t(0)
        ),
        Err(AgentsError::TooManyAgents { max: 1 })
    );
    m.unregister(a).unwrap();
    assert_eq!(
        m.register(AgentSpec::new(a, tenant, ""), t(0)),
        Err(AgentsError::BadEndpoint(String::new()))
    );
    let two = AgentSpec::new(a, tenant, "PJSIP/a")
        .with_skill(skill("x"), 1)
        .with_skill(skill("y"), 1);
    assert_eq!(
        m.register(two, t(0)),
        Err(AgentsError::TooManySkills { max: 1 })
    );
    assert!(Skill::new("Sales").is_err());
    assert!(ReasonCode::new("").is_err());
    assert!(ReasonCode::new("a".repeat(65)).is_err());
    let many = (0..100).map(|i| code(&format!("r{i}")));
    assert_eq!(
        m.set_pause_reasons(tenant, many),
        Err(AgentsError::TooManyReasons { max: 64 })
    );
}

#[test]
fn time_never_runs_backwards_and_far_future_times_do_not_panic() {
    let mut h = H::new(1);
    h.login(0, t(100));
    let out = h
        .agents
        .request(h.ids[0], Request::Pause(code("lunch")), t(50))
        .unwrap();
    let c = out[0].change().unwrap();
    assert_eq!((c.at, c.time_in_previous), (t(100), Duration::ZERO));
    let call = CallId::new_random();
    let far = DateTime::<Utc>::MAX_UTC;
    h.agents.request(h.ids[0], Request::Ready, far).unwrap();
    h.agents
        .reserve(
            h.ids[0],
            Offer::new(call).with_ring_timeout(Duration::MAX),
            far,
        )
        .unwrap();
    assert_eq!(h.agents.poll_timeout(), Some(far));
    let out = h.agents.poll(far);
    assert_eq!(
        changes(&out),
        [(S::Reserved, S::Paused, Cause::OfferTimedOut)]
    );
}

// ---- selection ----

fn selection_harness(n: usize) -> H {
    let mut h = H::new(n);
    for i in 0..n {
        h.login(i, t(i as i64));
    }
    h
}

#[test]
fn skills_beat_a_longer_idle_time() {
    let mut h = selection_harness(2);
    // Agent 0 has been idle longest but lacks spanish.
    h.agents
        .set_skills(h.ids[1], [(skill("spanish"), 3)].into())
        .unwrap();
    h.agents
        .set_skills(h.ids[0], [(skill("sales"), 9)].into())
        .unwrap();
    let req = Requirement::new(h.tenant, Strategy::LongestIdle).with_skill(skill("spanish"), 1);
    assert_eq!(h.agents.select(&req), Some(h.ids[1]));
    // Levels count: spanish 3 is not enough for a queue asking 4.
    let req4 = Requirement::new(h.tenant, Strategy::LongestIdle).with_skill(skill("spanish"), 4);
    assert_eq!(h.agents.select(&req4), None);
    let any = Requirement::new(h.tenant, Strategy::LongestIdle);
    assert_eq!(h.agents.select(&any), Some(h.ids[0]));
    // Another tenant's requirement sees none of them.
    assert_eq!(
        h.agents.select(&Requirement::new(
            TenantId::new_random(),
            Strategy::LongestIdle
        )),
        None
    );
}

#[test]
fn longest_idle_among_three() {
    let mut h = H::new(3);
    // Ready at 30, 10, 20: agent 1 idles longest.
    h.login(0, t(30));
    h.login(1, t(10));
    h.login(2, t(20));
    let req = Requirement::new(h.tenant, Strategy::LongestIdle);
    let call = CallId::new_random();
    let (chosen, _) = h
        .agents
        .select_and_reserve(&req, Offer::new(call), t(40))
        .unwrap()
        .unwrap();
    assert_eq!(chosen, h.ids[1]);
    // Reserved: never chosen again until released; then the next longest idle is agent 2.
    assert_eq!(h.agents.select(&req), Some(h.ids[2]));
    h.agents.release(h.ids[1], call, t(41)).unwrap();
    // Released at 41: now the least idle.
    assert_eq!(h.agents.select(&req), Some(h.ids[2]));
    assert_eq!(h.agents.ready_len(&h.tenant), 3);
}

#[test]
fn wrap_up_gets_no_call_until_it_ends() {
    let mut h = selection_harness(2);
    let call = CallId::new_random();
    h.agents.reserve(h.ids[0], Offer::new(call), t(5)).unwrap();
    let (leg, _) = h.ring(0, call, t(5));
    h.answer(&leg, call, t(6));
    h.hangup(&leg, call, t(7));
    assert_eq!(h.state(0), S::WrapUp);
    h.agents
        .reserve(h.ids[1], Offer::new(CallId::new_random()), t(8))
        .unwrap();
    let req = Requirement::new(h.tenant, Strategy::LongestIdle);
    assert_eq!(h.agents.select(&req), None);
    assert!(
        h.agents
            .reserve(h.ids[0], Offer::new(CallId::new_random()), t(8))
            .is_err()
    );
    h.agents.poll(t(37));
    assert_eq!(h.agents.select(&req), Some(h.ids[0]));
}

#[test]
fn round_robin_and_fewest_calls() {
    let mut h = selection_harness(3);
    let rr = Requirement::new(h.tenant, Strategy::RoundRobin);
    let mut order = Vec::new();
    for k in 0..6 {
        let call = CallId::new_random();
        let (id, _) = h
            .agents
            .select_and_reserve(&rr, Offer::new(call), t(10 + k))
            .unwrap()
            .unwrap();
        order.push(id);
        h.agents.release(id, call, t(10 + k)).unwrap();
    }
    assert_eq!(order[..3], order[3..]);
    let mut firsts = order[..3].to_vec();
    firsts.sort();
    assert_eq!(firsts, h.ids);
    // Agent 0 answers two calls, agent 1 one: fewest calls picks agent 2, then agent 1.
    for (i, n) in [(0, 2), (1, 1)] {
        for _ in 0..n {
            let call = CallId::new_random();
            h.agents.reserve(h.ids[i], Offer::new(call), t(20)).unwrap();
            h.agents
                .offer_outcome(h.ids[i], call, OfferOutcome::Accepted, t(20))
                .unwrap();
            let (leg, _) = h.ring(i, call, t(20));
            h.hangup(&leg, call, t(21));
            h.agents.request(h.ids[i], Request::Ready, t(22)).unwrap();
        }
    }
    let fewest = Requirement::new(h.tenant, Strategy::FewestCalls);
    assert_eq!(h.agents.select(&fewest), Some(h.ids[2]));
    h.agents
        .reserve(h.ids[2], Offer::new(CallId::new_random()), t(23))
        .unwrap();
    assert_eq!(h.agents.select(&fewest), Some(h.ids[1]));
}

#[test]
fn skills_changed_while_ready_are_indexed_at_once() {
    let mut h = selection_harness(1);
    let req = Requirement::new(h.tenant, Strategy::LongestIdle).with_skill(skill("sales"), 1);
    assert_eq!(h.agents.select(&req), None);
    h.agents
        .set_skills(h.ids[0], [(skill("sales"), 1)].into())
        .unwrap();
    assert_eq!(h.agents.select(&req), Some(h.ids[0]));
    h.agents.set_skills(h.ids[0], Default::default()).unwrap();
    assert_eq!(h.agents.select(&req), None);
}

#[test]
fn registered_queues_keep_their_own_order() {
    let mut h = selection_harness(3);
    let (sales, spanish) = (skill("sales"), skill("spanish"));
    h.agents
        .set_skills(h.ids[0], [(sales.clone(), 5)].into())
        .unwrap();
    h.agents
        .set_skills(h.ids[1], [(sales.clone(), 2), (spanish.clone(), 3)].into())
        .unwrap();
    let q = QueueId::new_random();
    let req = Requirement::new(h.tenant, Strategy::LongestIdle)
        .with_skill(sales.clone(), 1)
        .with_skill(spanish.clone(), 2);
    h.agents.add_queue(q, req.clone()).unwrap();
    assert_eq!(h.agents.select_queue(&q), Some(h.ids[1]));
    // Agent 2 gains both skills: idle longer than nobody, but agent 1 goes on a call.
    h.agents
        .set_skills(h.ids[2], [(sales, 9), (spanish, 9)].into())
        .unwrap();
    let call = CallId::new_random();
    h.agents.reserve(h.ids[1], Offer::new(call), t(10)).unwrap();
    assert_eq!(h.agents.select_queue(&q), Some(h.ids[2]));
    assert_eq!(h.agents.select(&req), Some(h.ids[2]));
    h.agents.release(h.ids[1], call, t(11)).unwrap();
    // Agent 2 (ready since 2) idles longer than agent 1 (ready again since 11).
    assert_eq!(h.agents.select_queue(&q), Some(h.ids[2]));
    assert!(h.agents.remove_queue(&q));
    assert!(!h.agents.remove_queue(&q));
    assert_eq!(h.agents.select_queue(&q), None);

    let mut m = Agents::new(AgentsConfig::default().with_max_queues(1));
    m.add_queue(q, req.clone()).unwrap();
    m.add_queue(q, req.clone()).unwrap(); // replacing is no new queue
    assert_eq!(
        m.add_queue(QueueId::new_random(), req),
        Err(AgentsError::TooManyQueues { max: 1 })
    );
}
