//! Out-of-order and duplicate events, events after the end, silence, resync, bounds, and
//! the groupings the scenarios do not cover (Local pairs of an attended transfer).

use std::time::Duration;

use chrono::TimeDelta;
use hookflash_calls::{
    CallRecord, CallState, Direction, Disposition, LegStatus, Party, Tracker, TrackerConfig,
    TransferResult, UpdateKind,
};
use hookflash_provider::HangupSide::{Local, Remote, Unknown};
use hookflash_provider::{
    CallId, DialOutcome, DtmfDirection, LegEvent, LegEventKind, LegRole, LegState,
    OriginateFailure, TenantId, TransferKind,
};

use crate::scenarios::script_for;
use crate::script::*;

fn final_record(
    steps: &[Step],
    config: TrackerConfig,
    last: chrono::DateTime<chrono::Utc>,
    call: &str,
) -> CallRecord {
    let out = run_steps(steps, config, last);
    assert_one_end_each(&out.updates);
    let id: CallId = call.parse().unwrap();
    out.records.into_iter().find(|r| r.call_id == id).unwrap()
}

fn without_seq(mut r: CallRecord) -> CallRecord {
    r.seq = 0;
    r
}

#[test]
fn a_hangup_before_the_newstate_it_follows_gives_the_same_record() {
    let script = script_for("ami", "originate-customer-no-answer").unwrap();
    let call = "dfe148a2-656a-4718-b9ba-cdae96d0b384";
    let reference = final_record(&script.steps, config(), script.last_at(), call);
    assert_eq!(reference.disposition, Some(Disposition::NoAnswer));

    // Deliver the customer leg's Ringing after its Hangup (and after the agent's).
    let mut steps = script.steps.clone();
    let ringing = steps
        .iter()
        .position(|s| matches!(s, Step::Event(e) if e.kind == LegEventKind::Ringing && e.leg.as_str() == "1795315439.11"))
        .unwrap();
    let moved = steps.remove(ringing);
    steps.push(moved);
    let reordered = final_record(&steps, config(), script.last_at(), call);
    assert_eq!(without_seq(reordered), without_seq(reference));
}

#[test]
fn the_same_event_twice_changes_nothing() {
    let script = script_for("ami", "hold-unhold").unwrap();
    let call = "e89a359a-6cfa-445a-837d-99c8f15ee26f";
    let mut tracker = Tracker::new(config());
    for event in script.events() {
        tracker.apply(&event, event.at);
        let before = tracker.call(&call.parse().unwrap()).cloned();
        assert!(
            tracker.apply(&event, event.at).is_empty(),
            "duplicate {event:?} emitted"
        );
        assert_eq!(tracker.call(&call.parse().unwrap()).cloned(), before);
    }
    let record = tracker.call(&call.parse().unwrap()).unwrap();
    assert_eq!(record.hold_count, 1);
    assert_eq!(record.hold_secs, 3);
}

#[test]
fn events_after_the_end_are_recorded_but_change_no_outcome() {
    let script = script_for("ami", "originate-customer-busy").unwrap();
    let call: CallId = "e945cfab-32cb-4b3b-808f-6d208215ed2a".parse().unwrap();
    let mut out = run(&script);
    let ended = out
        .records
        .iter()
        .find(|r| r.call_id == call)
        .unwrap()
        .clone();
    assert_eq!(ended.disposition, Some(Disposition::Busy));

    // A late "answered" and bridge for the customer leg, after the Ended update.
    let late_at = ended.ended_at.unwrap() + TimeDelta::seconds(3);
    let customer = leg("1795315435.9", "PJSIP/trunk-00000009", "1795315434.8");
    let mut updates = Vec::new();
    for kind in [answered(), bridged("late-bridge")] {
        let event = LegEvent::new(customer.leg_id(), late_at, kind)
            .with_linkedid(customer.linkedid)
            .with_channel(customer.channel);
        updates.extend(out.tracker.apply(&event, late_at));
    }
    assert_eq!(updates.len(), 2);
    for u in &updates {
        assert_eq!(u.kind, UpdateKind::Updated);
        assert_eq!(u.record.disposition, Some(Disposition::Busy));
        assert_eq!(u.record.state, CallState::Ended);
        assert!(!u.record.bridged);
    }
    let record = out.tracker.call(&call).unwrap();
    assert_eq!(
        record.timeline.last().map(|e| e.event.as_ref()),
        Some("bridged")
    );
}

#[test]
fn ended_calls_are_evicted_and_their_stray_events_dropped() {
    let script = script_for("ami", "originate-answered").unwrap();
    let mut out = run(&script);
    let later = script.last_at() + TimeDelta::minutes(5);
    assert!(out.tracker.expire(later).is_empty());
    assert!(out.tracker.is_empty());
    assert_eq!(out.tracker.poll_timeout(), None);
    // A stray event of the evicted call does not start a phantom call.
    let agent = leg("1795315411.4", "PJSIP/agent1001-00000004", "1795315411.4");
    let stray = LegEvent::new(agent.leg_id(), later, var("DIALSTATUS", "ANSWER"))
        .with_linkedid(agent.linkedid);
    assert!(out.tracker.apply(&stray, later).is_empty());
    assert!(out.tracker.is_empty());
}

#[test]
fn a_silent_call_is_closed_with_a_clear_reason() {
    let script = script_for("ami", "originate-answered").unwrap();
    // Only the set-up: the call is bridged and then nothing more arrives.
    let steps: Vec<Step> = script.steps[..script.steps.len() - 7].to_vec();
    let config = config().with_max_silence(Duration::from_secs(600));
    let mut tracker = Tracker::new(config);
    let tenant = TenantId::from_uuid(uuid::Uuid::nil());
    let mut last = None;
    for step in &steps {
        match step {
            Step::Register {
                call,
                at,
                agent,
                number,
            } => {
                tracker.register_originate(*call, tenant, agent, number, *at);
            }
            Step::Event(e) => {
                tracker.apply(e, e.at);
                last = Some(e.at);
            }
            Step::Snapshot(..) => {}
        }
    }
    let last = last.unwrap();
    let deadline = tracker.poll_timeout().unwrap();
    assert_eq!(deadline, last + TimeDelta::seconds(600));
    assert!(tracker.expire(deadline - TimeDelta::seconds(1)).is_empty());
    let updates = tracker.expire(deadline);
    assert_eq!(updates.len(), 1);
    let u = &updates[0];
    assert_eq!(u.kind, UpdateKind::Ended);
    assert_eq!(u.record.end_reason.as_deref(), Some("silent past max age"));
    assert_eq!(u.record.disposition, Some(Disposition::Answered));
    assert_eq!(u.record.ended_at, Some(last));
    assert_eq!(tracker.live_len(), 0);
}

#[test]
fn resync_keeps_live_calls_and_closes_vanished_ones() {
    let a = script_for("ami", "originate-answered").unwrap();
    let b = script_for("ami", "hold-unhold").unwrap();
    let mut tracker = Tracker::new(config());
    // Both calls up to their bridge.
    let setup = |s: &Script| s.events().into_iter().take(15).collect::<Vec<_>>();
    let mut last = None;
    for e in setup(&a).into_iter().chain(setup(&b)) {
        tracker.apply(&e, e.at);
        last = Some(e.at);
    }
    assert_eq!(tracker.live_len(), 2);
    let now = last.unwrap() + TimeDelta::seconds(30);
    // Only call b's legs are still there after the reconnect.
    let b_agent = leg("1795315464.15", "PJSIP/agent1001-0000000f", "1795315464.15")
        .with_call("e89a359a-6cfa-445a-837d-99c8f15ee26f");
    let b_customer = leg("1795315465.16", "PJSIP/trunk-00000010", "1795315464.15");
    let bridge = "39e5aca6-3649-4bb2-a2c9-6098e9549c1c";
    let mut s = Script::new(0.0);
    s.snapshot(
        0.0,
        &[
            (&b_agent, LegState::Up, Some(bridge)),
            (&b_customer, LegState::Up, Some(bridge)),
        ],
    );
    let Step::Snapshot(legs, _) = &s.steps[0] else {
        unreachable!()
    };
    let updates = tracker.merge_snapshot(legs, now);
    let ended: Vec<_> = updates
        .iter()
        .filter(|u| u.kind == UpdateKind::Ended)
        .collect();
    assert_eq!(ended.len(), 1);
    let closed = &ended[0].record;
    assert_eq!(
        closed.call_id.to_string(),
        "ea9d2b98-36ec-45fd-a8df-d93e92948875"
    );
    assert_eq!(
        closed.end_reason.as_deref(),
        Some("ended while disconnected")
    );
    assert_eq!(closed.disposition, Some(Disposition::Answered));
    let a_events = setup(&a);
    assert_eq!(closed.ended_at, Some(a_events.last().unwrap().at));
    assert_eq!(tracker.live_len(), 1);
    let kept = tracker
        .call(&"e89a359a-6cfa-445a-837d-99c8f15ee26f".parse().unwrap())
        .unwrap();
    assert_eq!(kept.state, CallState::Connected);
}

#[test]
fn a_snapshot_after_a_fresh_start_adopts_the_live_legs() {
    let mut tracker = Tracker::new(config());
    let call = "ff8d04cd-b7fc-4004-a8d2-60a3e6065063";
    let agent = leg("1795315630.43", "PJSIP/agent1001-00000029", "1795315630.43").with_call(call);
    let customer = leg("1795315631.44", "PJSIP/trunk-0000002a", "1795315630.43");
    let bridge = "98ae765a-307e-4c0d-b817-564391030cbc";
    let mut s = Script::new(1_795_315_648.0);
    s.snapshot(
        0.0,
        &[
            (&customer, LegState::Up, Some(bridge)),
            (&agent, LegState::Up, Some(bridge)),
        ],
    );
    let Step::Snapshot(legs, at) = &s.steps[0] else {
        unreachable!()
    };
    tracker.merge_snapshot(legs, *at);
    let record = tracker.call(&call.parse().unwrap()).unwrap();
    assert_eq!(record.state, CallState::Connected);
    assert_eq!(
        record.agent_channel.as_deref(),
        Some("PJSIP/agent1001-00000029")
    );
    assert_eq!(
        record.customer_channel.as_deref(),
        Some("PJSIP/trunk-0000002a")
    );
}

/// A refusal the provider reports (Asterisk `Response: Error`, an ARI or Twilio 4xx) is how
/// the tracker, not the API, ends a call that was never placed.
#[test]
fn a_refused_originate_is_ended_failed_by_the_tracker() {
    let call = "5e3c1c59-7c25-4bb3-9d1c-4f7d3c1f3a11";
    let mut s = Script::new(1_795_316_000.0);
    s.register(0.0, call, "PJSIP/agent1009", "5551204005");
    s.call_event(
        0.01,
        &format!("originate-{call}"),
        call,
        orig_failed(OriginateFailure::Refused),
    );
    let out = run(&s);
    assert_one_end_each(&out.updates);
    let r = &out.records[0];
    assert_eq!(r.state, CallState::Ended);
    assert_eq!(r.disposition, Some(Disposition::Failed));
    assert!(r.legs.is_empty());
}

#[test]
fn an_originate_failure_without_any_leg_lands_on_the_call() {
    let call = "5e3c1c59-7c25-4bb3-9d1c-4f7d3c1f3a10";
    let mut s = Script::new(1_795_316_000.0);
    s.register(0.0, call, "PJSIP/agent1009", "5551204005");
    s.call_event(
        0.2,
        "PJSIP/agent1009",
        call,
        orig_failed(OriginateFailure::Unknown),
    );
    let out = run(&s);
    assert_one_end_each(&out.updates);
    assert_eq!(out.updates[0].kind, UpdateKind::Created);
    assert_eq!(out.updates[0].record.state, CallState::Created);
    assert_eq!(out.updates[0].record.direction, Direction::Outbound);
    let r = &out.records[0];
    assert_eq!(r.disposition, Some(Disposition::Failed));
    assert!(r.legs.is_empty());
    assert_eq!(r.agent_endpoint.as_deref(), Some("PJSIP/agent1009"));
    assert_eq!(r.to.as_deref(), Some("5551204005"));
}

/// Atxfer as the fixtures README describes it: DTMF `*21002` on the agent leg, Hold on the
/// agent, a Local pair dialling agent1002, and when agent1001 hangs up the AttendedTransfer;
/// the Local pair stays in the media path until the end.
#[test]
fn an_attended_transfer_keeps_its_local_pair_as_plumbing() {
    let call = "0a4c5e0b-8f57-4a55-bd0f-4c2a7e1b9d11";
    let mut s = Script::new(1_795_315_530.0);
    let b1 = "b-call";
    let o = crate::scenarios::outbound_setup(
        &mut s,
        call,
        leg("1795315530.25", "PJSIP/agent1001-00000019", "1795315530.25"),
        leg("1795315531.26", "PJSIP/trunk-0000001a", "1795315530.25"),
        "5554200114",
        b1,
        1.03,
        false,
        3.08,
    );
    let l1 = leg(
        "1795315535.27",
        "Local/1002@hookflash-transfer-00000000;1",
        "1795315530.25",
    );
    let l2 = leg(
        "1795315535.28",
        "Local/1002@hookflash-transfer-00000000;2",
        "1795315530.25",
    );
    let second = leg("1795315535.29", "PJSIP/agent1002-0000001b", "1795315530.25");
    for (i, d) in "*21002".chars().enumerate() {
        s.ev(
            5.0 + 0.1 * i as f64,
            &o.agent,
            digit(d, DtmfDirection::Received),
        );
    }
    s.ev(5.7, &o.agent, held());
    s.ev(5.8, &l1, created("Local/1002@hookflash-transfer"));
    s.ev(5.8, &l2, created("Local/1002@hookflash-transfer"));
    s.ev(
        5.81,
        &o.agent,
        dialing(Some(&l1), "Local/1002@hookflash-transfer"),
    );
    s.ev(5.82, &second, created("PJSIP/agent1002"));
    s.ev(5.83, &l2, dialing(Some(&second), "PJSIP/agent1002"));
    s.ev(5.9, &second, ringing());
    s.ev(6.9, &second, answered());
    s.ev(6.9, &l1, answered());
    s.ev(6.91, &second, bridged("b-consult"));
    s.ev(6.91, &l2, bridged("b-consult"));
    s.ev(6.92, &l1, bridged("b-agent-local"));
    s.ev(6.92, &o.agent, unbridged(b1));
    s.ev(6.92, &o.agent, bridged("b-agent-local"));
    s.ev(9.0, &o.agent, remote_request(Some(16)));
    s.ev(9.01, &o.agent, unbridged("b-agent-local"));
    s.ev(9.02, &l1, unbridged("b-agent-local"));
    s.ev(9.02, &l1, bridged(b1));
    s.ev(
        9.03,
        &o.agent,
        transferred(TransferKind::Attended, "1002", Some(&l1)),
    );
    s.ev(9.04, &o.agent, hung_up(16, Remote));
    s.ev(15.0, &second, remote_request(Some(16)));
    s.ev(15.0, &second, unbridged("b-consult"));
    s.ev(15.01, &l2, unbridged("b-consult"));
    s.ev(15.01, &second, hung_up(16, Remote));
    s.ev(15.02, &l2, hung_up(16, Local));
    s.ev(15.02, &l1, unbridged(b1));
    s.ev(15.02, &l1, hung_up(16, Local));
    s.ev(15.03, &o.customer, unbridged(b1));
    s.ev(15.03, &o.customer, hung_up(16, Local));
    let out = run(&s);
    assert_one_end_each(&out.updates);
    assert_eq!(out.records.len(), 1, "{:#?}", out.records);
    let r = &out.records[0];
    assert_eq!(r.disposition, Some(Disposition::Answered));
    assert_eq!(r.transfers.len(), 1);
    assert_eq!(r.transfers[0].kind, TransferKind::Attended);
    assert_eq!(r.transfers[0].result, TransferResult::Success);
    assert_eq!(r.hung_up_by, Some(Party::SecondAgent));
    assert_eq!(r.dtmf_received.agent, "*21002");
    assert_eq!(r.hold_count, 1);
    assert_eq!(r.held_leg, Some(Party::Agent));
    // The Local pair is plumbing: not listed as legs, its events in the timeline as such.
    let roles: Vec<_> = r
        .legs
        .iter()
        .map(|l| (l.channel.clone().unwrap(), l.role))
        .collect();
    assert_eq!(
        roles,
        vec![
            ("PJSIP/agent1001-00000019".to_owned(), LegRole::Agent),
            ("PJSIP/trunk-0000001a".to_owned(), LegRole::Customer),
            ("PJSIP/agent1002-0000001b".to_owned(), LegRole::SecondAgent),
        ]
    );
    for half in [&l1, &l2] {
        assert!(
            r.timeline
                .iter()
                .any(|e| e.leg == Some(half.leg_id()) && e.role == Some(LegRole::Local)),
            "{:#?}",
            r.timeline
        );
    }
    assert!(r.legs.iter().all(|l| l.state == LegStatus::HungUp));
}

#[test]
fn a_local_pair_half_without_linkedid_joins_by_its_twin() {
    let mut tracker = Tracker::new(config());
    let call = "1c0ffee0-0000-4000-8000-000000000001";
    let agent = leg("9.1", "PJSIP/agent1001-00000001", "9.1").with_call(call);
    let l1 = leg("9.2", "Local/1002@ctx-00000001;1", "9.1");
    let mut s = Script::new(1_795_316_100.0);
    s.ev(0.0, &agent, created("PJSIP/agent1001"));
    s.ev(1.0, &l1, created("Local/1002@ctx"));
    for e in s.events() {
        tracker.apply(&e, e.at);
    }
    let twin = LegEvent::new(
        hookflash_provider::LegId::new("9.3").unwrap(),
        s.last_at() + TimeDelta::milliseconds(1),
        created("Local/1002@ctx"),
    )
    .with_channel("Local/1002@ctx-00000001;2")
    .with_local_pair("Local/1002@ctx-00000001");
    tracker.apply(&twin, twin.at);
    let record = tracker.call(&call.parse().unwrap()).unwrap();
    // Both halves joined the call, as plumbing: in the timeline, not among the legs.
    assert_eq!(record.legs.len(), 1);
    let last = record.timeline.last().unwrap();
    assert_eq!(last.leg.as_ref().map(|l| l.as_str()), Some("9.3"));
    assert_eq!(last.role, Some(LegRole::Local));
}

#[test]
fn an_inbound_call_nobody_answers_is_abandoned() {
    let mut s = Script::new(1_795_316_200.0);
    let caller = leg("7.1", "PJSIP/trunk-00000100", "7.1");
    let a1 = leg("7.2", "PJSIP/agent1001-00000101", "7.1");
    s.ev(0.0, &caller, created_call("+15550001111", "18005550100"));
    s.ev(0.1, &caller, answered());
    s.ev(0.5, &a1, created("PJSIP/agent1001"));
    s.ev(0.6, &a1, ringing());
    s.ev(9.0, &caller, remote_request(Some(16)));
    s.ev(9.0, &a1, dial_result(DialOutcome::Cancel, Some(&caller)));
    s.ev(9.01, &a1, hung_up(16, Local));
    s.ev(9.02, &caller, hung_up(16, Remote));
    let out = run(&s);
    assert_one_end_each(&out.updates);
    let r = &out.records[0];
    assert_eq!(r.direction, Direction::Inbound);
    assert!(r.derived_id);
    assert_eq!(r.disposition, Some(Disposition::Abandoned));
    assert_eq!(r.hung_up_by, None);
    assert_eq!(r.offered_to, vec!["PJSIP/agent1001-00000101".to_owned()]);
}

#[test]
fn a_lone_orphan_leg_is_announced_only_after_the_grace() {
    let mut tracker = Tracker::new(config().with_orphan_grace(Duration::from_secs(5)));
    let lone = leg("8.1", "PJSIP/trunk-00000200", "8.1");
    let at = time(1_795_316_300.0);
    let e = LegEvent::new(
        lone.leg_id(),
        at,
        created_call("+15550002222", "18005550100"),
    )
    .with_linkedid(lone.linkedid)
    .with_channel(lone.channel);
    assert!(tracker.apply(&e, at).is_empty());
    assert_eq!(tracker.poll_timeout(), Some(at + TimeDelta::seconds(5)));
    let updates = tracker.expire(at + TimeDelta::seconds(5));
    assert_eq!(updates.len(), 1);
    assert_eq!(updates[0].kind, UpdateKind::Created);
    assert_eq!(updates[0].record.state, CallState::CustomerRinging);
}

#[test]
fn the_number_of_live_calls_is_capped() {
    let mut tracker = Tracker::new(config().with_max_calls(2));
    let tenant = TenantId::from_uuid(uuid::Uuid::nil());
    let mut ended = Vec::new();
    for n in 0..3u128 {
        let at = time(1_795_316_400.0) + TimeDelta::seconds(n as i64);
        let updates = tracker.register_originate(
            CallId::from_uuid(uuid::Uuid::from_u128(n + 1)),
            tenant,
            "PJSIP/agent1001",
            "5551204005",
            at,
        );
        ended.extend(updates.into_iter().filter(|u| u.kind == UpdateKind::Ended));
    }
    assert_eq!(tracker.live_len(), 2);
    assert_eq!(ended.len(), 1);
    assert_eq!(
        ended[0].call_id,
        CallId::from_uuid(uuid::Uuid::from_u128(1))
    );
    assert_eq!(
        ended[0].record.end_reason.as_deref(),
        Some("evicted: tracker full")
    );
}

#[test]
fn the_timeline_is_bounded_and_the_outcome_kept() {
    let script = script_for("ami", "dtmf").unwrap();
    let call = "3361b8d5-ef95-4650-9f9d-0088a2e12f6d";
    let small = final_record(
        &script.steps,
        config().with_timeline_limit(8),
        script.last_at(),
        call,
    );
    let full = final_record(&script.steps, config(), script.last_at(), call);
    assert_eq!(small.timeline.len(), 8);
    assert!(small.timeline_dropped > 0);
    assert_eq!(small.disposition, full.disposition);
    assert_eq!(small.hung_up_by, full.hung_up_by);
    assert_eq!(small.dtmf_received, full.dtmf_received);
    assert_eq!(small.talk_secs, full.talk_secs);
}

#[test]
fn records_serialise_in_snake_case_and_round_trip() {
    let script = script_for("ami", "park").unwrap();
    let out = run(&script);
    let r = out
        .records
        .iter()
        .find(|r| r.call_id.to_string() == "f0da4637-7f14-4d45-be82-fda93743621e")
        .unwrap();
    let json = serde_json::to_value(r).unwrap();
    assert_eq!(json["state"], "ended");
    assert_eq!(json["disposition"], "answered");
    assert_eq!(json["hung_up_by"], "second_agent");
    assert_eq!(json["park"]["outcome"], "retrieved");
    assert_eq!(json["timeline"][0]["event"], "originate_requested");
    let back: CallRecord = serde_json::from_value(json).unwrap();
    assert_eq!(&back, r);
    let _ = Unknown;
}

#[test]
fn a_pbx_clock_far_ahead_neither_loops_nor_delays_the_end_past_the_window() {
    // The driver's clock is an hour behind the provider's timestamps.
    let script = script_for("ami", "originate-answered").unwrap();
    let skew = TimeDelta::hours(1);
    let mut tracker = Tracker::new(config().with_max_silence(Duration::from_secs(60)));
    let mut now = None;
    for e in script.events() {
        let n = e.at - skew;
        tracker.apply(&e, n);
        now = Some(n);
    }
    let now = now.unwrap();
    let due = tracker.poll_timeout().unwrap();
    assert_eq!(
        due,
        now + TimeDelta::from_std(config().reorder_window).unwrap()
    );
    let updates = tracker.expire(due);
    assert_eq!(updates.len(), 1);
    assert_eq!(updates[0].kind, UpdateKind::Ended);
    assert_eq!(updates[0].record.disposition, Some(Disposition::Answered));
}

#[test]
fn registering_after_the_first_events_keeps_one_call() {
    let call = "ea9d2b98-36ec-45fd-a8df-d93e92948875";
    let script = script_for("ami", "originate-answered").unwrap();
    let events = script.events();
    let mut tracker = Tracker::new(config());
    for e in &events[..4] {
        tracker.apply(e, e.at);
    }
    let late = events[3].at;
    let tenant = TenantId::from_uuid(uuid::Uuid::from_u128(7));
    let updates = tracker.register_originate(
        call.parse().unwrap(),
        tenant,
        "PJSIP/agent1001",
        "5551204005",
        late,
    );
    assert_eq!(updates.len(), 1);
    assert_eq!(updates[0].kind, UpdateKind::Updated);
    assert_eq!(updates[0].record.tenant, Some(tenant));
    assert_eq!(updates[0].record.created_at, events[0].at);
    assert_eq!(tracker.len(), 1);
}

#[test]
fn the_tracker_and_its_updates_can_cross_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Tracker>();
    assert_send_sync::<hookflash_calls::CallUpdate>();
}
