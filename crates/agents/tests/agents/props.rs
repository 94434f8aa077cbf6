//! Properties over random inputs: no agent is ever reserved for two calls and no call is held
//! by two agents; every call update is reflected in the agent's state; a replay of the same
//! inputs gives the same outputs; times in state add up to the elapsed time.

use std::collections::HashMap;
use std::time::Duration;

use hookflash_agents::{AgentState, AgentUpdate, Cause, Requirement, Strategy as Order};
use hookflash_provider::CallId;
use proptest::prelude::*;

use crate::world::{AGENTS, CALLS, Op, Step, World, agent_id, queue_id, queues, t0};

fn op() -> impl Strategy<Value = Op> {
    let a = 0..AGENTS;
    let c = 0..CALLS;
    prop_oneof![
        2 => a.clone().prop_map(Op::LogIn),
        1 => a.clone().prop_map(Op::LogOut),
        2 => a.clone().prop_map(Op::Ready),
        1 => a.clone().prop_map(Op::Pause),
        3 => (a.clone(), c.clone()).prop_map(|(a, c)| Op::Reserve(a, c)),
        3 => c.clone().prop_map(Op::Select),
        2 => (a.clone(), c.clone(), 0u8..3).prop_map(|(a, c, o)| Op::Outcome(a, c, o)),
        1 => (a.clone(), c.clone()).prop_map(|(a, c)| Op::Release(a, c)),
        4 => (a.clone(), c.clone()).prop_map(|(a, c)| Op::Ring(a, c)),
        4 => (a.clone(), c.clone()).prop_map(|(a, c)| Op::Answer(a, c)),
        4 => (a.clone(), c.clone()).prop_map(|(a, c)| Op::Hangup(a, c)),
        2 => (0u8..40).prop_map(Op::Wait),
    ]
}

fn run(ops: &[Op]) -> (World, Vec<Step>) {
    let mut w = World::new();
    let steps = ops.iter().map(|op| w.step(*op)).collect();
    (w, steps)
}

/// Checks one step against the world after it.
fn check_step(
    w: &World,
    s: &Step,
    reserved_for: &mut HashMap<(usize, CallId), bool>,
) -> Result<(), TestCaseError> {
    // One call per agent, one agent per call: the calls of reserved, ringing or talking
    // agents held through an offer are distinct, and the machine's map agrees.
    let mut holders: HashMap<CallId, usize> = HashMap::new();
    for (i, (state, call)) in s.after.iter().enumerate() {
        if *state == AgentState::Reserved {
            let call = call.ok_or_else(|| TestCaseError::fail("reserved without a call"))?;
            prop_assert_eq!(w.agents.offered_to(&call), Some(agent_id(i)));
        }
        if let Some(call) = call
            && w.agents.offered_to(call) == Some(agent_id(i))
            && let Some(other) = holders.insert(*call, i)
        {
            prop_assert!(false, "call {} held by agents {} and {}", call, other, i);
        }
    }
    for u in &s.out {
        if let AgentUpdate::Changed(c) = u
            && c.to == AgentState::Reserved
        {
            // Reserved only from ready: never for a second call.
            prop_assert_eq!(c.from, AgentState::Ready);
            let i = (0..AGENTS)
                .find(|i| agent_id(*i) == c.agent)
                .unwrap_or(usize::MAX);
            if let Some(call) = c.call {
                reserved_for.insert((i, call), true);
            }
        }
    }
    // The ready index agrees with the states.
    let ready = s
        .after
        .iter()
        .filter(|(st, _)| *st == AgentState::Ready)
        .count();
    prop_assert_eq!(w.agents.ready_len(&w.tenant), ready);
    let any = w
        .agents
        .select(&Requirement::new(w.tenant, Order::LongestIdle));
    prop_assert_eq!(any.is_some(), ready > 0);
    if let Some(id) = any {
        let i = (0..AGENTS)
            .find(|i| agent_id(*i) == id)
            .unwrap_or(usize::MAX);
        prop_assert_eq!(s.after.get(i).map(|x| x.0), Some(AgentState::Ready));
    }

    // A registered queue chooses as the ad-hoc walk of the skill index does.
    for (n, req) in queues(w.tenant).iter().enumerate() {
        let chosen = w.agents.select_queue(&queue_id(n));
        prop_assert_eq!(chosen, w.agents.select(req), "queue {}", n);
        if let Some(id) = chosen {
            let i = (0..AGENTS)
                .find(|i| agent_id(*i) == id)
                .unwrap_or(usize::MAX);
            prop_assert_eq!(s.after.get(i).map(|x| x.0), Some(AgentState::Ready));
        }
    }

    // Every call update is reflected.
    let Some(call) = s.call else { return Ok(()) };
    let reflect = |a: usize| -> Result<(), TestCaseError> {
        let (before, before_call) = s.before[a];
        let (after, after_call) = s.after[a];
        if before == AgentState::LoggedOut {
            prop_assert_eq!(after, AgentState::LoggedOut);
            return Ok(());
        }
        let on_another_call = before == AgentState::OnCall && before_call != Some(call);
        match s.op {
            // Answered: on the call (an agent ringing for another call takes this one; one
            // talking on another call stays there).
            Op::Answer(..) if !on_another_call => {
                prop_assert_eq!((after, after_call), (AgentState::OnCall, Some(call)));
            }
            // Ended: not reserved, ringing or talking on this call any more.
            Op::Hangup(..) if after_call == Some(call) => {
                prop_assert_eq!(after, AgentState::WrapUp);
            }
            Op::Ring(..)
                if matches!(
                    before,
                    AgentState::Ready | AgentState::Paused | AgentState::WrapUp
                ) && !reserved_for.contains_key(&(a, call)) =>
            {
                prop_assert_eq!((after, after_call), (AgentState::Ringing, Some(call)));
            }
            Op::Ring(..) if before == AgentState::Reserved && before_call == Some(call) => {
                prop_assert_eq!((after, after_call), (AgentState::Ringing, Some(call)));
            }
            _ => {}
        }
        Ok(())
    };
    match s.op {
        Op::Ring(a, _) | Op::Hangup(a, _) => reflect(a)?,
        Op::Answer(a, _) => reflect(a)?,
        _ => {}
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn invariants_hold_on_random_inputs(ops in prop::collection::vec(op(), 1..120)) {
        let mut w = World::new();
        let mut reserved_for = HashMap::new();
        for op in &ops {
            let s = w.step(*op);
            check_step(&w, &s, &mut reserved_for)?;
        }
    }

    #[test]
    fn a_replay_gives_the_same_outputs(ops in prop::collection::vec(op(), 1..120)) {
        let (a, sa) = run(&ops);
        let (b, sb) = run(&ops);
        for (x, y) in sa.iter().zip(&sb) {
            prop_assert_eq!(&x.out, &y.out);
        }
        prop_assert_eq!(a.states(), b.states());
        prop_assert_eq!(a.agents.poll_timeout(), b.agents.poll_timeout());
    }

    #[test]
    fn times_in_state_add_up_to_the_elapsed_time(ops in prop::collection::vec(op(), 1..120)) {
        let (w, steps) = run(&ops);
        for i in 0..AGENTS {
            let id = agent_id(i);
            let changes: Vec<_> = steps
                .iter()
                .flat_map(|s| s.out.iter())
                .filter_map(AgentUpdate::change)
                .filter(|c| c.agent == id)
                .collect();
            let mut state = AgentState::LoggedOut;
            let mut at = t0();
            let mut sum = Duration::ZERO;
            let mut reason = None;
            for c in &changes {
                prop_assert_eq!(c.from, state, "changes chain: from is the previous to");
                prop_assert!(c.at >= at, "time never goes back");
                prop_assert_eq!(c.time_in_previous, (c.at - at).to_std().unwrap_or_default());
                sum += c.time_in_previous;
                state = c.to;
                at = c.at;
                prop_assert_eq!(c.pause_reason.is_some(), c.to == AgentState::Paused);
                prop_assert_eq!(&c.from_pause_reason, &reason, "the reason left is the one entered");
                reason = c.pause_reason.clone();
                prop_assert!(c.cause != Cause::WrapUpEnded || c.from == AgentState::WrapUp);
            }
            let view = w.agents.agent(&id);
            prop_assert_eq!(view.map(|v| v.state()), Some(state));
            prop_assert_eq!(view.map(|v| v.since()), Some(at));
            let elapsed = (w.now.max(at) - t0()).to_std().unwrap_or_default();
            let current = (w.now.max(at) - at).to_std().unwrap_or_default();
            prop_assert_eq!(sum + current, elapsed);
        }
    }
}
