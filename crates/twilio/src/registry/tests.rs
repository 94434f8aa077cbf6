//! Callbacks of recorded call shapes in, leg events out.

use hookflash_provider::{DialOutcome, OriginateFailure, OriginateOutcome};

use super::*;

fn p(pairs: &[(&str, &str)]) -> Params {
    Params(
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    )
}

const AGENT: &str = "CA00000000000000000000000000000001";
const CUSTOMER: &str = "CA00000000000000000000000000000002";

fn kinds(events: &[LegEvent]) -> Vec<(&str, &'static str)> {
    events
        .iter()
        .map(|e| (e.leg.as_str(), e.kind.name()))
        .collect()
}

#[test]
fn agent_then_customer_answered_and_customer_hangs_up() {
    let now = Utc::now();
    let call = CallId::new_random();
    let mut reg = TwilioTranslator::new(10);
    reg.set_agent_leg(call, AGENT);
    let ev = reg.status_callback(
        call,
        LegRole::Agent,
        &p(&[
            ("CallSid", AGENT),
            ("CallStatus", "initiated"),
            ("To", "client:alice"),
        ]),
        now,
    );
    assert_eq!(kinds(&ev), vec![(AGENT, "created")]);
    let ev = reg.status_callback(
        call,
        LegRole::Agent,
        &p(&[("CallSid", AGENT), ("CallStatus", "ringing")]),
        now,
    );
    assert_eq!(kinds(&ev), vec![(AGENT, "ringing")]);
    let ev = reg.status_callback(
        call,
        LegRole::Agent,
        &p(&[("CallSid", AGENT), ("CallStatus", "in-progress")]),
        now,
    );
    assert_eq!(
        kinds(&ev),
        vec![(AGENT, "answered"), (AGENT, "originate_result")]
    );
    let ev = reg.status_callback(
        call,
        LegRole::Customer,
        &p(&[
            ("CallSid", CUSTOMER),
            ("ParentCallSid", AGENT),
            ("CallStatus", "initiated"),
            ("To", "+15550001"),
        ]),
        now,
    );
    assert_eq!(kinds(&ev), vec![(CUSTOMER, "created"), (AGENT, "dialing")]);
    assert_eq!(ev[0].keys.linkedid.as_deref(), Some(AGENT));
    assert_eq!(ev[0].keys.call_id, Some(call));
    let ev = reg.status_callback(
        call,
        LegRole::Customer,
        &p(&[
            ("CallSid", CUSTOMER),
            ("ParentCallSid", AGENT),
            ("CallStatus", "in-progress"),
        ]),
        now,
    );
    assert_eq!(
        kinds(&ev),
        vec![
            (CUSTOMER, "answered"),
            (CUSTOMER, "dial_result"),
            (CUSTOMER, "bridged"),
            (AGENT, "bridged")
        ]
    );
    assert!(
        matches!(&ev[1].kind, LegEventKind::DialResult { status: DialOutcome::Answer, caller: Some(c) } if c.as_str() == AGENT)
    );
    let ev = reg.status_callback(
        call,
        LegRole::Customer,
        &p(&[
            ("CallSid", CUSTOMER),
            ("CallStatus", "completed"),
            ("CallDuration", "12"),
        ]),
        now,
    );
    assert!(
        matches!(&ev[1].kind, LegEventKind::HungUp { side: HangupSide::Remote, cause } if cause.code == 16)
    );
    reg.dial_action(
        call,
        &p(&[("CallSid", AGENT), ("DialCallStatus", "completed")]),
        now,
    );
    let ev = reg.status_callback(
        call,
        LegRole::Agent,
        &p(&[("CallSid", AGENT), ("CallStatus", "completed")]),
        now,
    );
    assert_eq!(ev[0].kind.name(), "unbridged");
    assert!(matches!(
        &ev[1].kind,
        LegEventKind::HungUp {
            side: HangupSide::Local,
            ..
        }
    ));
    // A late duplicate changes nothing.
    assert!(
        reg.status_callback(
            call,
            LegRole::Agent,
            &p(&[("CallSid", AGENT), ("CallStatus", "completed")]),
            now
        )
        .is_empty()
    );
}

#[test]
fn unanswered_outcomes_carry_reason_and_cause() {
    let now = Utc::now();
    let call = CallId::new_random();
    let mut reg = TwilioTranslator::new(10);
    reg.set_agent_leg(call, AGENT);
    let ev = reg.status_callback(
        call,
        LegRole::Agent,
        &p(&[("CallSid", AGENT), ("CallStatus", "no-answer")]),
        now,
    );
    assert!(matches!(
        &ev[1].kind,
        LegEventKind::OriginateResult {
            outcome: OriginateOutcome::Failed {
                failure: OriginateFailure::NoAnswer,
                ..
            }
        }
    ));
    assert!(matches!(&ev[2].kind, LegEventKind::HungUp { cause, .. } if cause.code == 19));

    let call = CallId::new_random();
    reg.set_agent_leg(call, "CA00000000000000000000000000000003");
    let ev = reg.status_callback(
        call,
        LegRole::Customer,
        &p(&[
            ("CallSid", CUSTOMER),
            ("ParentCallSid", "CA00000000000000000000000000000003"),
            ("CallStatus", "failed"),
            ("SipResponseCode", "404"),
        ]),
        now,
    );
    let last = ev.last().unwrap();
    assert!(matches!(&last.kind, LegEventKind::HungUp { cause, .. } if cause.code == 1));
    assert!(ev.iter().any(|e| matches!(
        &e.kind,
        LegEventKind::DialResult {
            status: DialOutcome::InvalidArgs,
            ..
        }
    )));
}

#[test]
fn bounded_by_calls() {
    let mut reg = TwilioTranslator::new(2);
    let calls: Vec<CallId> = (0..3).map(|_| CallId::new_random()).collect();
    for (i, c) in calls.iter().enumerate() {
        reg.set_agent_leg(*c, &format!("CA0000000000000000000000000000001{i}"));
    }
    assert!(reg.call(calls[0]).is_none());
    assert!(reg.leg("CA00000000000000000000000000000010").is_none());
    assert!(reg.leg("CA00000000000000000000000000000012").is_some());
}

#[test]
fn callback_time_is_the_arrival_unless_stale() {
    let now = DateTime::parse_from_rfc3339("2026-11-22T04:00:01.010Z")
        .unwrap()
        .with_timezone(&Utc);
    // Sent at 04:00:00.95, stamped 04:00:00, arrived just past the second: arrival time.
    let fresh = p(&[("Timestamp", "Sun, 22 Nov 2026 04:00:00 +0000")]);
    assert_eq!(timestamp(&fresh, now), now);
    // A retry a minute later keeps Twilio's time.
    let stale = p(&[("Timestamp", "Sun, 22 Nov 2026 03:59:00 +0000")]);
    assert_eq!(
        timestamp(&stale, now).to_rfc3339(),
        "2026-11-22T03:59:00+00:00"
    );
    assert_eq!(timestamp(&p(&[]), now), now);
}

#[test]
fn sip_causes() {
    assert_eq!(cause_from_sip(486), 17);
    assert_eq!(cause_from_sip(480), 18);
    assert_eq!(cause_from_sip(503), 34);
    assert_eq!(cause_from_sip(404), 1);
}

/// A `<Dial>` to a busy customer that Twilio never created a leg for: only the action callback
/// tells, as a neutral dial failure on the agent, and the tracker records a busy call.
#[test]
fn a_dial_without_a_leg_is_a_dial_failure_on_the_dialler() {
    use hookflash_calls::{Disposition, Tracker, TrackerConfig};
    let t0 = chrono::DateTime::from_timestamp(1_795_315_411, 0).unwrap_or_default();
    let at = |s: i64| t0 + chrono::TimeDelta::seconds(s);
    let call = CallId::new_random();
    let mut tracker = Tracker::new(TrackerConfig::default());
    tracker.register_originate(
        call,
        hookflash_provider::TenantId::new_random(),
        "client:alice",
        "+15552000008",
        t0,
    );
    let mut reg = TwilioTranslator::new(10);
    reg.set_agent_leg(call, AGENT);
    let mut events = Vec::new();
    for (status, s) in [("initiated", 0), ("ringing", 1), ("in-progress", 2)] {
        events.extend(reg.status_callback(
            call,
            LegRole::Agent,
            &p(&[("CallSid", AGENT), ("CallStatus", status)]),
            at(s),
        ));
    }
    let failed = reg.dial_action(
        call,
        &p(&[("CallSid", AGENT), ("DialCallStatus", "busy")]),
        at(3),
    );
    assert_eq!(
        failed.iter().map(|e| &e.kind).collect::<Vec<_>>(),
        [&LegEventKind::DialFailed {
            status: DialOutcome::Busy
        }]
    );
    assert_eq!(failed[0].leg.as_str(), AGENT);
    events.extend(failed);
    events.extend(reg.status_callback(
        call,
        LegRole::Agent,
        &p(&[("CallSid", AGENT), ("CallStatus", "completed")]),
        at(4),
    ));
    for e in &events {
        tracker.apply(e, e.at);
    }
    tracker.expire(at(60));
    let r = tracker.call(&call).cloned();
    assert_eq!(
        r.as_ref().and_then(|r| r.disposition),
        Some(Disposition::Busy),
        "{r:#?}"
    );
}

/// The callbacks of one answered agent-first call, in Twilio's order.
fn one_call(agent: &str, customer: &str) -> Vec<(Option<LegRole>, Params)> {
    let status = |sid: &str, parent: Option<&str>, s: &str| {
        let mut v = vec![("CallSid", sid), ("CallStatus", s), ("To", "+15551204005")];
        if let Some(parent) = parent {
            v.push(("ParentCallSid", parent));
        }
        v.push(("CallDuration", "4"));
        p(&v)
    };
    vec![
        (Some(LegRole::Agent), status(agent, None, "initiated")),
        (Some(LegRole::Agent), status(agent, None, "ringing")),
        (Some(LegRole::Agent), status(agent, None, "in-progress")),
        (
            Some(LegRole::Customer),
            status(customer, Some(agent), "ringing"),
        ),
        (
            Some(LegRole::Customer),
            status(customer, Some(agent), "in-progress"),
        ),
        (
            Some(LegRole::Customer),
            status(customer, Some(agent), "completed"),
        ),
        (
            None,
            p(&[
                ("CallSid", agent),
                ("DialCallStatus", "completed"),
                ("DialCallSid", customer),
            ]),
        ),
        (Some(LegRole::Agent), status(agent, None, "completed")),
    ]
}

proptest::proptest! {
    /// Callbacks lost, repeated (Twilio retries) or reordered: no panic, every event is on a
    /// leg of the call and carries its id, each leg is created and hung up at most once, and
    /// the translator keeps no more calls than its bound.
    #[test]
    fn any_order_of_callbacks_is_safe(
        picks in proptest::collection::vec(0usize..8, 0..24),
        calls in 1usize..6,
    ) {
        let t0 = chrono::DateTime::from_timestamp(1_795_315_411, 0).unwrap_or_default();
        let mut reg = TwilioTranslator::new(2);
        for n in 0..calls {
            let call = CallId::new_random();
            let agent = format!("CA{:032x}", 2 * n);
            let customer = format!("CA{:032x}", 2 * n + 1);
            let script = one_call(&agent, &customer);
            let mut events = Vec::new();
            for (i, pick) in picks.iter().enumerate() {
                let at = t0 + chrono::TimeDelta::seconds(i as i64);
                let (role, params) = &script[*pick];
                events.extend(match role {
                    Some(role) => reg.status_callback(call, *role, params, at),
                    None => reg.dial_action(call, params, at),
                });
            }
            let mut created = std::collections::HashSet::new();
            let mut ended = std::collections::HashSet::new();
            for e in &events {
                proptest::prop_assert_eq!(e.keys.call_id, Some(call));
                proptest::prop_assert!(e.leg.as_str() == agent || e.leg.as_str() == customer);
                match e.kind {
                    LegEventKind::Created { .. } => {
                        proptest::prop_assert!(created.insert(e.leg.clone()), "{events:#?}");
                    }
                    LegEventKind::HungUp { .. } => {
                        proptest::prop_assert!(ended.insert(e.leg.clone()), "{events:#?}");
                    }
                    _ => {}
                }
            }
        }
        proptest::prop_assert!(reg.calls.len() <= 2);
    }
}
