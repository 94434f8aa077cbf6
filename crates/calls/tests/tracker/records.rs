//! Records that reporting can trust (issue 11 point 6), on sequences shaped as the live peer
//! produced them through the AMI and ARI providers: the state after a completed transfer, the
//! legs' numbers, plumbing legs kept out of the legs, one timeline entry per fact.

use chrono::TimeDelta;
use hookflash_calls::{
    CallState, CallUpdate, Disposition, LegStatus, OfferState, Party, TransferResult,
};
use hookflash_provider::HangupSide::{Local, Remote, Unknown};
use hookflash_provider::{DialOutcome, HangupRequester, LegEventKind, LegRole, TransferKind};

use crate::props::assert_no_repeats;
use crate::scenarios::outbound_setup;
use crate::script::*;

/// The states of the call's updates whose entry lies in `[from, to)` (script seconds).
fn states_between(s: &Script, updates: &[CallUpdate], from: f64, to: f64) -> Vec<CallState> {
    let (from, to) = (s.at_secs(from), s.at_secs(to));
    updates
        .iter()
        .filter(|u| u.event.as_ref().is_some_and(|e| e.at >= from && e.at < to))
        .map(|u| u.record.state)
        .collect()
}

/// An AMI attended transfer as the peer acts it out: the agent consults agent1002 through a
/// Local pair (`;1` bridged with the agent, `;2` with agent1002), then completes: Asterisk
/// puts `;1` in the customer's bridge and keeps the pair. The customer talks to agent1002
/// through the pair; the call is connected, not transferring, until it ends.
#[test]
fn an_attended_transfer_through_a_local_pair_is_connected_once_complete() {
    let mut s = Script::new(1_796_218_591.033);
    let b1 = "e3a7852a-46ce-47a1-8756-755a277d10a7";
    let o = outbound_setup(
        &mut s,
        "1b0a8c1e-7d7a-4f57-9a51-5f4c3c1e0001",
        leg("1796218591.13", "PJSIP/agent1001-00000006", "1796218591.13"),
        leg("1796218592.14", "PJSIP/trunk-00000007", "1796218591.13"),
        "5554200991",
        b1,
        1.043,
        true,
        3.170,
    );
    let l1 = leg(
        "1796218595.16",
        "Local/1002@hookflash-transfer-00000002;1",
        "1796218591.13",
    );
    let l2 = leg(
        "1796218595.17",
        "Local/1002@hookflash-transfer-00000002;2",
        "1796218591.13",
    );
    let second = leg("1796218595.18", "PJSIP/agent1002-00000008", "1796218591.13");
    let consult = "6795c9d8-f0a3-4bf1-a2bc-05e67b754c8b";
    let b2 = "4fe624ca-3581-46be-8603-fc854d8954c0";
    s.ev(4.455, &o.agent, held());
    s.ev(
        4.700,
        &l1,
        created_as(LegRole::Local, "Local/1002@hookflash-transfer"),
    );
    s.ev(
        4.700,
        &l2,
        created_as(LegRole::Local, "Local/1002@hookflash-transfer"),
    );
    s.ev(4.700, &l1, bridged(consult));
    s.ev(4.700, &o.agent, unbridged(b1));
    s.ev(4.700, &o.agent, bridged(consult));
    s.ev(4.701, &second, created("PJSIP/agent1002"));
    s.ev(4.703, &l2, dialing(Some(&second), "agent1002"));
    s.ev(4.706, &second, ringing());
    s.ev(4.706, &l1, ringing());
    s.ev(5.734, &second, answered());
    s.ev(5.734, &second, dial_result(DialOutcome::Answer, Some(&l2)));
    s.ev(5.735, &l1, answered());
    s.ev(5.735, &l2, answered());
    s.ev(5.735, &second, bridged(b2));
    s.ev(5.735, &l2, bridged(b2));
    s.ev(7.200, &o.agent, unbridged(consult));
    s.ev(7.200, &o.agent, soft_request(16));
    s.ev(7.200, &l1, unbridged(consult));
    s.ev(7.200, &l1, bridged(b1));
    s.ev(
        7.201,
        &o.customer,
        transferred(TransferKind::Attended, "1002", Some(&l1)),
    );
    s.ev(7.201, &o.agent, hung_up(16, Local));
    // agent1002 hangs up after a while; the pair and the customer follow.
    s.ev(12.199, &second, remote_request(Some(16)));
    s.ev(12.199, &second, unbridged(b2));
    s.ev(12.200, &l2, unbridged(b2));
    s.ev(12.200, &second, hung_up(16, Remote));
    s.ev(12.200, &l2, hung_up(16, Local));
    s.ev(12.200, &l1, unbridged(b1));
    s.ev(12.200, &l1, hung_up(16, Local));
    s.ev(12.201, &o.customer, unbridged(b1));
    s.ev(12.201, &o.customer, hung_up(16, Unknown));
    let out = run(&s);
    assert_one_end_each(&out.updates);
    let after = states_between(&s, &out.updates, 7.201, 12.199);
    assert!(!after.is_empty());
    assert!(
        after.iter().all(|st| *st == CallState::Connected),
        "after the transfer completed: {after:?}"
    );
    let r = &out.records[0];
    assert_eq!(r.state, CallState::Ended);
    assert_eq!(r.disposition, Some(Disposition::Answered));
    assert_eq!(r.transfers.len(), 1);
    assert_eq!(r.transfers[0].result, TransferResult::Success);
    let roles: Vec<LegRole> = r.legs.iter().map(|l| l.role).collect();
    assert_eq!(
        roles,
        vec![LegRole::Agent, LegRole::Customer, LegRole::SecondAgent],
        "the Local pair is plumbing, not legs: {:#?}",
        r.legs
    );
}

/// The ARI provider's transfers originate a Local channel into the Stasis app (the other
/// half, which dials agent1002, never enters it) and name it the second agent; the transfer
/// is reported once that half is in the customer's bridge. Connected from then on, and the
/// teardown is no hand-off either.
fn ari_transfer(kind: TransferKind) -> (Script, Outcome) {
    let call = "1b0a8c1e-7d7a-4f57-9a51-5f4c3c1e0002";
    let mut s = Script::new(1_796_218_608.294);
    let agent = leg("fcd8019b", "PJSIP/agent1001-00000009", "fcd8019b").with_call(call);
    let customer = leg("c76ded3d", "PJSIP/trunk-0000000a", "fcd8019b").with_call(call);
    let target = leg(
        "69b4743b",
        "Local/1002@hookflash-transfer-00000002;1",
        "fcd8019b",
    )
    .with_call(call);
    let b1 = "4e867673-df75-4537-b537-e5f6d28bb50e";
    s.register(-0.001, call, "PJSIP/agent1001", "+15554200992");
    s.ev(0.001, &agent, created_as(LegRole::Agent, "PJSIP/agent1001"));
    s.ev(0.007, &agent, ringing());
    s.ev(1.037, &agent, answered());
    s.ev(1.040, &agent, bridged(b1));
    s.ev(
        1.042,
        &customer,
        LegEventKind::Created {
            role: Some(LegRole::Customer),
            endpoint: Some("PJSIP/trunk".to_owned()),
            caller_number: None,
            called_number: Some("5554200992".to_owned()),
        },
    );
    s.ev(1.050, &customer, ringing());
    s.ev(3.104, &customer, answered());
    s.ev(3.107, &customer, bridged(b1));
    s.ev(
        4.152,
        &target,
        created_as(
            LegRole::SecondAgent,
            "Local/1002@hookflash-transfer-00000002;1",
        ),
    );
    s.ev(4.158, &target, ringing());
    s.ev(5.186, &target, answered());
    s.ev(5.188, &target, bridged(b1));
    s.ev(5.188, &customer, transferred(kind, "1002", Some(&target)));
    s.ev(5.191, &agent, unbridged(b1));
    s.ev(5.191, &agent, soft_request(32));
    s.ev(5.192, &agent, hung_up(16, Local));
    // The API hangs the customer up; the Local half follows.
    s.ev(9.155, &customer, unbridged(b1));
    s.ev(9.155, &customer, soft_request(32));
    s.ev(9.156, &customer, hung_up(16, Local));
    s.ev(9.158, &target, unbridged(b1));
    s.ev(9.158, &target, soft_request(32));
    s.ev(9.160, &target, hung_up(16, Local));
    let out = run(&s);
    (s, out)
}

#[test]
fn an_ari_transfer_is_connected_once_complete_and_ends_without_a_hand_off() {
    for kind in [TransferKind::Blind, TransferKind::Attended] {
        let (s, out) = ari_transfer(kind);
        assert_one_end_each(&out.updates);
        let after = states_between(&s, &out.updates, 5.188, 9.161);
        assert!(
            after
                .iter()
                .all(|st| matches!(st, CallState::Connected | CallState::Ended)),
            "{kind:?}: after the transfer: {after:?}"
        );
        let r = &out.records[0];
        assert_eq!(r.state, CallState::Ended);
        assert_eq!(r.transfers[0].result, TransferResult::Success);
        // The lone Local half stands for agent1002: the platform shows no other leg of theirs.
        assert_eq!(r.legs.len(), 3, "{:#?}", r.legs);
        assert_eq!(r.legs[2].role, LegRole::SecondAgent);
    }
}

/// `legs[].number`: the customer's is the number hookflash dialled (E.164, as the originate
/// request had it) over the platform's dial string; an agent's the extension it was dialled on.
#[test]
fn legs_carry_their_numbers() {
    let (_, out) = ari_transfer(TransferKind::Blind);
    let r = &out.records[0];
    let customer = r.legs.iter().find(|l| l.role == LegRole::Customer).unwrap();
    assert_eq!(customer.number.as_deref(), Some("+15554200992"));

    // Inbound: the caller's own number; the agents the extension dialled.
    let mut s = Script::new(1_796_218_700.0);
    let caller = leg("7.1", "PJSIP/trunk-00000100", "7.1");
    let agent = leg("7.2", "PJSIP/agent1001-00000101", "7.1");
    s.ev(0.0, &caller, created_call("+15551230001", "18005550100"));
    s.ev(0.1, &caller, answered());
    s.ev(1.0, &agent, created_call("18005550100", "1001"));
    s.ev(1.1, &agent, ringing());
    s.ev(3.0, &agent, answered());
    s.ev(3.0, &agent, bridged("q1"));
    s.ev(3.0, &caller, bridged("q1"));
    s.ev(9.0, &caller, remote_request(Some(16)));
    s.ev(9.0, &caller, hung_up(16, Remote));
    s.ev(9.1, &agent, hung_up(16, Local));
    let out = run(&s);
    let r = &out.records[0];
    let numbers: Vec<(LegRole, Option<&str>)> = r
        .legs
        .iter()
        .map(|l| (l.role, l.number.as_deref()))
        .collect();
    assert_eq!(
        numbers,
        vec![
            (LegRole::Customer, Some("+15551230001")),
            (LegRole::Agent, Some("1001")),
        ]
    );
    assert!(r.legs.iter().all(|l| l.state == LegStatus::HungUp));
}

/// AMI announces a ringing leg twice (Newstate, then DialState) and a hangup request twice
/// when two events carry it: one timeline entry each, and no update for the repeat.
#[test]
fn a_fact_announced_twice_is_one_entry() {
    let mut s = Script::new(1_796_218_800.0);
    let o = outbound_setup(
        &mut s,
        "1b0a8c1e-7d7a-4f57-9a51-5f4c3c1e0003",
        leg("1796218800.1", "PJSIP/agent1001-00000011", "1796218800.1"),
        leg("1796218800.2", "PJSIP/trunk-00000012", "1796218800.1"),
        "5551204005",
        "b-1",
        1.0,
        true,
        3.0,
    );
    s.ev(3.5, &o.customer, ringing());
    s.ev(3.6, &o.customer, ringing());
    s.ev(6.0, &o.customer, remote_request(Some(16)));
    s.ev(6.0005, &o.customer, remote_request(Some(16)));
    s.ev(6.001, &o.customer, hung_up(16, Remote));
    s.ev(6.002, &o.agent, hung_up(16, Local));
    let out = run(&s);
    let r = &out.records[0];
    assert_no_repeats(r);
    let requests = r
        .timeline
        .iter()
        .filter(|e| e.event == "hangup_requested")
        .count();
    assert_eq!(requests, 1, "{:#?}", r.timeline);
    let sent = |name: &str| {
        out.updates
            .iter()
            .filter(|u| {
                u.event.as_ref().is_some_and(|e| {
                    e.event == name && e.leg.as_ref() == Some(&o.customer.leg_id())
                })
            })
            .count()
    };
    // Ringing at set-up and once more later (3.5 s); the repeat at 3.6 s is no news.
    assert_eq!(sent("ringing"), 2);
    assert_eq!(sent("hangup_requested"), 1);
}

/// `hung_up_by` follows who asked: the provider stamps the requester of an API hangup on the
/// leg (read back as `hangup_ordered`), so a hangup the agent asked for is the agent's, a
/// supervisor's the supervisor's, and only an unattributed one the system's.
#[test]
fn hung_up_by_is_who_asked_for_the_hangup() {
    let cases = [
        (Some(HangupRequester::Agent), Party::Agent),
        (Some(HangupRequester::Supervisor), Party::Supervisor),
        (Some(HangupRequester::System), Party::System),
        (None, Party::System),
    ];
    for (by, want) in cases {
        let mut s = Script::new(1_796_218_900.0);
        let o = outbound_setup(
            &mut s,
            "1b0a8c1e-7d7a-4f57-9a51-5f4c3c1e0004",
            leg("1796218900.1", "PJSIP/agent1001-00000021", "1796218900.1"),
            leg("1796218900.2", "PJSIP/trunk-00000022", "1796218900.1"),
            "5551204005",
            "b-1",
            1.0,
            true,
            3.0,
        );
        // DELETE /calls/{id}: the agent's leg, then the customer's.
        if let Some(by) = by {
            s.ev(8.0, &o.agent, LegEventKind::HangupOrdered { by });
        }
        s.ev(8.001, &o.agent, soft_request(16));
        s.ev(8.002, &o.agent, unbridged("b-1"));
        s.ev(8.002, &o.agent, hung_up(16, Local));
        if let Some(by) = by {
            s.ev(8.003, &o.customer, LegEventKind::HangupOrdered { by });
        }
        s.ev(8.004, &o.customer, soft_request(16));
        s.ev(8.004, &o.customer, unbridged("b-1"));
        s.ev(8.005, &o.customer, hung_up(16, Local));
        let out = run(&s);
        let r = &out.records[0];
        assert_eq!(r.hung_up_by, Some(want), "{by:?}: {:#?}", r.timeline);
    }

    // A stamp on a leg whose hangup never happened (the request failed) is no answer: the
    // customer who hangs up later did.
    let mut s = Script::new(1_796_218_950.0);
    let o = outbound_setup(
        &mut s,
        "1b0a8c1e-7d7a-4f57-9a51-5f4c3c1e0005",
        leg("1796218950.1", "PJSIP/agent1001-00000023", "1796218950.1"),
        leg("1796218950.2", "PJSIP/trunk-00000024", "1796218950.1"),
        "5551204005",
        "b-1",
        1.0,
        true,
        3.0,
    );
    s.ev(
        5.0,
        &o.customer,
        LegEventKind::HangupOrdered {
            by: HangupRequester::Supervisor,
        },
    );
    crate::scenarios::customer_hangs_up(&mut s, &o, "b-1", 11.0);
    let out = run(&s);
    assert_eq!(out.records[0].hung_up_by, Some(Party::Customer));
}

/// Offers of an inbound call are the tracker's: a queue rings two agents, the second takes
/// the call (its offer answered, the first's withdrawn when it answered); a caller who hangs
/// up while agents ring withdraws every offer.
#[test]
fn inbound_offers_are_decided_by_the_tracker() {
    let mut s = Script::new(1_796_219_000.0);
    let caller = leg("8.1", "PJSIP/trunk-00000200", "8.1");
    let a1 = leg("8.2", "PJSIP/agent1001-00000201", "8.1");
    let a2 = leg("8.3", "PJSIP/agent1002-00000202", "8.1");
    s.ev(0.0, &caller, created_call("+15551230001", "18005550100"));
    s.ev(0.1, &caller, answered());
    s.ev(1.0, &a1, created("PJSIP/agent1001"));
    s.ev(1.0, &a2, created("PJSIP/agent1002"));
    s.ev(1.1, &a1, ringing());
    s.ev(1.1, &a2, ringing());
    let ringing_until = s.steps.len();
    s.ev(3.0, &a2, answered());
    s.ev(3.0, &a1, hung_up(26, Local));
    s.ev(3.0, &a2, bridged("q1"));
    s.ev(3.0, &caller, bridged("q1"));
    s.ev(9.0, &caller, remote_request(Some(16)));
    s.ev(9.0, &caller, hung_up(16, Remote));
    s.ev(9.1, &a2, hung_up(16, Local));
    let while_ringing = run_steps(&s.steps[..ringing_until], config(), s.at_secs(1.2));
    let offers: Vec<_> = while_ringing
        .tracker
        .calls()
        .flat_map(|r| r.offers.iter().map(|o| (o.endpoint.clone(), o.state)))
        .collect();
    assert_eq!(
        offers,
        vec![
            (Some("PJSIP/agent1001".to_owned()), OfferState::Offered),
            (Some("PJSIP/agent1002".to_owned()), OfferState::Offered),
        ]
    );
    let out = run(&s);
    let r = &out.records[0];
    let states: Vec<_> = r.offers.iter().map(|o| (o.leg.as_str(), o.state)).collect();
    assert_eq!(
        states,
        vec![
            ("8.2", OfferState::Withdrawn),
            ("8.3", OfferState::Answered)
        ]
    );
    assert_eq!(
        r.offers[0].withdrawn_at,
        Some(s.at_secs(3.0) + TimeDelta::microseconds(7))
    );
    assert!(r.offers[1].answered_at.is_some());

    let mut s = Script::new(1_796_219_100.0);
    let caller = leg("9.1", "PJSIP/trunk-00000300", "9.1");
    let a1 = leg("9.2", "PJSIP/agent1001-00000301", "9.1");
    s.ev(0.0, &caller, created_call("+15551230001", "18005550100"));
    s.ev(1.0, &a1, created("PJSIP/agent1001"));
    s.ev(1.1, &a1, ringing());
    s.ev(4.0, &caller, remote_request(Some(16)));
    s.ev(4.0, &caller, hung_up(16, Remote));
    s.ev(4.1, &a1, hung_up(16, Local));
    let out = run(&s);
    let r = &out.records[0];
    assert_eq!(r.offers.len(), 1);
    assert_eq!(r.offers[0].state, OfferState::Withdrawn);
}
