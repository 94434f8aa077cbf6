//! Property tests: one terminal state per call, nothing changes the outcome after it, sane
//! durations, permutations within the reorder window and duplicates give the same records.

use std::collections::HashMap;

use chrono::{DateTime, TimeDelta, Utc};
use hookflash_calls::{CallRecord, CallUpdate, Disposition, Party, Tracker, UpdateKind};
use hookflash_provider::{CallId, TenantId};
use proptest::prelude::*;

use crate::scenarios::script_for;
use crate::script::{Script, Step, assert_one_end_each, config, run};
use crate::synth::{AgentOutcome, CallPlan, CustomerOutcome, call_events};

const SCENARIOS: [(&str, &str); 19] = [
    ("ami", "originate-answered"),
    ("ami", "originate-agent-no-answer"),
    ("ami", "originate-agent-busy"),
    ("ami", "originate-customer-busy"),
    ("ami", "originate-customer-no-answer"),
    ("ami", "originate-customer-unavailable"),
    ("ami", "originate-agent-hangs-up"),
    ("ami", "hold-unhold"),
    ("ami", "mute"),
    ("ami", "blind-transfer"),
    ("ami", "redirect-transfer"),
    ("ami", "park"),
    ("ami", "recording"),
    ("ami", "dtmf"),
    ("ami", "inbound-queue"),
    ("ami", "status-and-lists"),
    ("ami", "reconnect-mid-call-b"),
    ("ari", "ari-agent-first-bridge"),
    ("ari", "ari-dial-busy"),
];

fn scenario(i: usize) -> Script {
    let (g, n) = SCENARIOS[i];
    script_for(g, n).unwrap()
}

/// The final records, without the bookkeeping that depends on delivery (update counters,
/// calls merged away).
fn finals(updates: &[CallUpdate]) -> HashMap<CallId, CallRecord> {
    let mut out = HashMap::new();
    for u in updates {
        let mut r = u.record.clone();
        r.seq = 0;
        out.insert(u.call_id, r);
    }
    out.retain(|_, r| {
        !r.end_reason
            .as_deref()
            .is_some_and(|e| e.starts_with("merged into"))
    });
    out
}

/// Delivers the steps with each event late by its delay (register and snapshot steps on
/// time), `now` being the delivery time; returns every update.
fn deliver(script: &Script, delays_ms: &[u64], duplicate: &[bool]) -> Vec<CallUpdate> {
    let mut arrivals: Vec<(DateTime<Utc>, usize, bool)> = Vec::new();
    let mut k = 0;
    for (i, step) in script.steps.iter().enumerate() {
        match step {
            Step::Event(e) => {
                let d = delays_ms
                    .get(k % delays_ms.len().max(1))
                    .copied()
                    .unwrap_or(0);
                arrivals.push((e.at + TimeDelta::milliseconds(d as i64), i, false));
                if duplicate
                    .get(k % duplicate.len().max(1))
                    .copied()
                    .unwrap_or(false)
                {
                    let again = e.at + TimeDelta::milliseconds(((d + 700) % 1_900) as i64);
                    arrivals.push((again, i, true));
                }
                k += 1;
            }
            Step::Register { at, .. } | Step::Snapshot(_, at) => arrivals.push((*at, i, false)),
        }
    }
    arrivals.sort_by_key(|(t, i, dup)| (*t, *i, *dup));
    let cfg = config();
    let window = TimeDelta::from_std(cfg.reorder_window).unwrap();
    let mut tracker = Tracker::new(cfg);
    let tenant = TenantId::from_uuid(uuid::Uuid::nil());
    let mut updates = Vec::new();
    let mut last = arrivals[0].0;
    for (now, i, dup) in arrivals {
        last = last.max(now);
        match &script.steps[i] {
            Step::Register {
                call,
                agent,
                number,
                ..
            } => updates.extend(tracker.register_originate(*call, tenant, agent, number, now)),
            Step::Event(e) => {
                let got = tracker.apply(e, now);
                if dup {
                    assert!(got.is_empty(), "a duplicate emitted {got:?}");
                }
                updates.extend(got);
            }
            Step::Snapshot(legs, _) => updates.extend(tracker.merge_snapshot(legs, now)),
        }
    }
    updates.extend(tracker.expire(last + window + TimeDelta::seconds(1)));
    updates
}

/// No two consecutive timeline entries of one leg state the same fact (times aside).
pub(crate) fn assert_no_repeats(r: &CallRecord) {
    for (i, e) in r.timeline.iter().enumerate() {
        if e.leg.is_none()
            || matches!(
                e.detail,
                Some(hookflash_provider::LegEventKind::Dtmf { .. })
            )
        {
            continue;
        }
        let prev = r.timeline[..i].iter().rev().find(|p| p.leg == e.leg);
        if let Some(p) = prev {
            assert!(
                !(p.event == e.event && p.detail == e.detail && p.note == e.note),
                "entry {i} repeats the leg's previous one: {e:?}\n{:#?}",
                r.timeline
            );
        }
    }
}

fn check_durations(updates: &[CallUpdate]) {
    for u in updates {
        let r = &u.record;
        assert!(r.talk_secs <= r.duration_secs, "billsec > duration: {r:#?}");
        assert!(r.ring_secs <= r.duration_secs, "ring > duration: {r:#?}");
        assert!(r.hold_secs <= r.duration_secs, "hold > duration: {r:#?}");
        if let Some(end) = r.ended_at {
            assert!(end >= r.created_at);
        }
        assert_eq!(r.disposition.is_some(), r.state.is_terminal());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    /// Any delivery order within the reorder window (each event late by less than it) gives
    /// the records of the ordered stream, each call ended exactly once.
    #[test]
    fn permuted_delivery_within_the_window_gives_the_same_records(
        i in 0..SCENARIOS.len(),
        delays in proptest::collection::vec(0u64..1_900, 1..64),
    ) {
        let script = scenario(i);
        let reference = finals(&run(&script).updates);
        let updates = deliver(&script, &delays, &[false]);
        assert_one_end_each(&updates);
        check_durations(&updates);
        prop_assert_eq!(finals(&updates), reference);
    }

    /// Every event applied twice (the copy later, within the window): the copy changes
    /// nothing and emits nothing.
    #[test]
    fn applying_events_twice_is_a_no_op(
        i in 0..SCENARIOS.len(),
        delays in proptest::collection::vec(0u64..1_000, 1..16),
        duplicate in proptest::collection::vec(any::<bool>(), 1..16),
    ) {
        let script = scenario(i);
        let reference = finals(&run(&script).updates);
        let updates = deliver(&script, &delays, &duplicate);
        assert_one_end_each(&updates);
        prop_assert_eq!(finals(&updates), reference);
    }

    /// A platform that reports some facts twice (a copy of an event a few milliseconds
    /// later, as AMI does for a state it announces in two events): every record's timeline
    /// holds one entry per fact (no two consecutive entries of a leg say the same thing; each
    /// key press is a fact of its own), and a repeat emits no update of its own.
    #[test]
    fn a_fact_reported_twice_is_one_timeline_entry(
        i in 0..SCENARIOS.len(),
        repeat in proptest::collection::vec(any::<bool>(), 1..16),
        gap_ms in 1i64..40,
    ) {
        let script = scenario(i);
        let mut steps = Vec::new();
        let mut k = 0;
        for step in &script.steps {
            steps.push(step.clone());
            if let Step::Event(e) = step {
                if repeat[k % repeat.len()] {
                    let mut again = e.clone();
                    again.at += TimeDelta::milliseconds(gap_ms);
                    steps.push(Step::Event(again));
                }
                k += 1;
            }
        }
        steps.sort_by_key(|s| match s {
            Step::Event(e) => e.at,
            Step::Register { at, .. } | Step::Snapshot(_, at) => *at,
        });
        let last = script.last_at() + TimeDelta::milliseconds(gap_ms);
        let out = crate::script::run_steps(&steps, config(), last);
        assert_one_end_each(&out.updates);
        for u in &out.updates {
            assert_no_repeats(&u.record);
        }
        // Updates carry the entry that caused them: never a repeat.
        for pair in out.updates.windows(2) {
            if let (Some(a), Some(b)) = (&pair[0].event, &pair[1].event)
                && pair[0].call_id == pair[1].call_id
                && a.leg.is_some()
                && a.leg == b.leg
                && a.detail == b.detail
                && !matches!(a.detail, Some(hookflash_provider::LegEventKind::Dtmf { .. }))
            {
                prop_assert!(false, "a repeat was sent as an update: {a:?} then {b:?}");
            }
        }
    }

    /// Random agent-first calls, interleaved: each ends once with the disposition its plan
    /// implies, and durations are sane in every update.
    #[test]
    fn synthetic_calls_end_once_with_the_planned_outcome(
        plans in proptest::collection::vec(
            (0..3u8, 0..4u8, any::<bool>(), any::<bool>(), any::<bool>(), 0i64..3_000, 0i64..8_000, 0i64..5_000),
            1..12,
        ),
    ) {
        let t0 = DateTime::from_timestamp(1_795_400_000, 0).unwrap();
        let plans: Vec<CallPlan> = plans
            .into_iter()
            .enumerate()
            .map(|(n, (a, c, by_customer, hold, dtmf, ring, talk, offset))| CallPlan {
                n: n as u64,
                start: t0 + TimeDelta::milliseconds(offset),
                agent: [AgentOutcome::Answer, AgentOutcome::Busy, AgentOutcome::NoAnswer][a as usize],
                customer: [
                    CustomerOutcome::Answer,
                    CustomerOutcome::Busy,
                    CustomerOutcome::NoAnswer,
                    CustomerOutcome::Unavailable,
                ][c as usize],
                customer_hangs_up: by_customer,
                hold,
                dtmf,
                ring_ms: ring,
                talk_ms: talk,
            })
            .collect();
        let mut events: Vec<_> = plans.iter().flat_map(call_events).collect();
        events.sort_by_key(|e| e.at);
        let mut tracker = Tracker::new(config());
        let mut updates = Vec::new();
        for e in &events {
            updates.extend(tracker.apply(e, e.at));
        }
        let last = events.last().unwrap().at;
        updates.extend(tracker.expire(last + TimeDelta::seconds(10)));
        assert_one_end_each(&updates);
        check_durations(&updates);
        let ended: HashMap<CallId, &CallRecord> = updates
            .iter()
            .filter(|u| u.kind == UpdateKind::Ended)
            .map(|u| (u.call_id, &u.record))
            .collect();
        prop_assert_eq!(ended.len(), plans.len());
        for plan in &plans {
            let r = ended[&plan.call_id()];
            let want = match (plan.agent, plan.customer) {
                (AgentOutcome::Busy, _) => Disposition::AgentBusy,
                (AgentOutcome::NoAnswer, _) => Disposition::AgentNoAnswer,
                (_, CustomerOutcome::Busy) => Disposition::Busy,
                (_, CustomerOutcome::NoAnswer) => Disposition::NoAnswer,
                (_, CustomerOutcome::Unavailable) => Disposition::Failed,
                (_, CustomerOutcome::Answer) => Disposition::Answered,
            };
            prop_assert_eq!(r.disposition, Some(want));
            if want == Disposition::Answered {
                let by = if plan.customer_hangs_up { Party::Customer } else { Party::Agent };
                prop_assert_eq!(r.hung_up_by, Some(by));
                prop_assert_eq!(r.hold_count, u32::from(plan.hold));
            } else {
                prop_assert_eq!(r.hung_up_by, None);
            }
        }
    }
}

/// A load-like mix (as `ami/load`: mostly answered, some busy, no answer, unavailable) of
/// 2,000 calls started 10 per second and interleaved: every call ends once, nothing stays.
#[test]
fn a_load_like_mix_ends_every_call_once_and_leaves_nothing() {
    let t0 = DateTime::from_timestamp(1_795_500_000, 0).unwrap();
    let plans: Vec<CallPlan> = (0..2_000)
        .map(|n| {
            crate::synth::plan_mix(n, t0 + TimeDelta::milliseconds(100 * n as i64), 20_261_122)
        })
        .collect();
    let mut events: Vec<_> = plans.iter().flat_map(call_events).collect();
    events.sort_by_key(|e| e.at);
    let mut tracker = Tracker::new(config());
    let mut updates = Vec::new();
    for e in &events {
        updates.extend(tracker.apply(e, e.at));
        if let Some(t) = tracker.poll_timeout()
            && t <= e.at
        {
            updates.extend(tracker.expire(e.at));
        }
    }
    let last = events.last().unwrap().at;
    updates.extend(tracker.expire(last + TimeDelta::minutes(1)));
    // Calls finalised by that last run linger a little longer before eviction.
    updates.extend(tracker.expire(last + TimeDelta::minutes(2)));
    assert_one_end_each(&updates);
    let mut dispositions: HashMap<Disposition, usize> = HashMap::new();
    for u in updates.iter().filter(|u| u.kind == UpdateKind::Ended) {
        *dispositions
            .entry(u.record.disposition.unwrap())
            .or_default() += 1;
    }
    assert_eq!(dispositions.values().sum::<usize>(), 2_000);
    for d in [
        Disposition::Answered,
        Disposition::Busy,
        Disposition::NoAnswer,
        Disposition::Failed,
        Disposition::AgentBusy,
        Disposition::AgentNoAnswer,
    ] {
        assert!(
            dispositions.get(&d).copied().unwrap_or(0) > 0,
            "no {d:?} in {dispositions:?}"
        );
    }
    assert!(tracker.is_empty());
    assert_eq!(tracker.live_len(), 0);
}
