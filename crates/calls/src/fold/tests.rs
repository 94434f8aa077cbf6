//! Unit tests of the fold.

use std::borrow::Cow;

use chrono::{DateTime, TimeDelta, Utc};
use hookflash_provider::{CallId, HangupCause, HangupSide, LegEventKind, LegId};

use super::legs::strip_technology;
use super::{CallMeta, Fold, kind_rank, secs_between};
use crate::record::{CallRecord, CallState, Direction, Disposition, Party, TimelineEntry};

fn meta() -> CallMeta {
    CallMeta {
        call_id: CallId::new_random(),
        derived: false,
        tenant: None,
        direction: Direction::Outbound,
        registered_at: None,
        agent_endpoint: None,
        customer_number: None,
        linkedid: None,
    }
}

fn t(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_795_000_000, 0).unwrap_or_default() + TimeDelta::milliseconds(ms)
}

fn entry(ms: i64, leg: &str, kind: LegEventKind) -> TimelineEntry {
    TimelineEntry {
        at: t(ms),
        leg: Some(LegId::new(leg).unwrap()),
        role: None,
        event: Cow::Borrowed(kind.name()),
        detail: Some(kind),
        note: None,
    }
}

fn created() -> LegEventKind {
    LegEventKind::Created {
        role: None,
        endpoint: None,
        caller_number: None,
        called_number: None,
    }
}

fn hung_up(code: u16) -> LegEventKind {
    LegEventKind::HungUp {
        cause: HangupCause::from_code(code),
        side: HangupSide::Unknown,
    }
}

fn fold(entries: &[TimelineEntry]) -> CallRecord {
    let meta = meta();
    let mut f = Fold::new(&meta, t(0));
    for e in entries {
        f.step(e, &[]);
    }
    f.finish(&meta)
}

#[test]
fn ties_order_a_legs_life_naturally() {
    let a = entry(0, "a", hung_up(16));
    let b = entry(0, "a", created());
    assert!(kind_rank(&b) < kind_rank(&a));
}

#[test]
fn dial_strings_lose_their_technology() {
    assert_eq!(strip_technology("PJSIP/agent1002"), "agent1002");
    assert_eq!(strip_technology("1002"), "1002");
}

#[test]
fn durations_are_never_negative() {
    assert_eq!(secs_between(t(5_000), t(1_000)), 0);
    assert_eq!(secs_between(t(1_000), t(3_999)), 2);
}

#[test]
fn an_agent_leg_ending_busy_without_dial_result_is_agent_busy() {
    let r = fold(&[entry(0, "a", created()), entry(5, "a", hung_up(17))]);
    assert_eq!(r.state, CallState::Ended);
    assert_eq!(r.disposition, Some(Disposition::AgentBusy));
    assert_eq!(r.hangup_cause.map(|c| c.code), Some(17));
    assert_eq!(r.hung_up_by, None);
}

#[test]
fn a_customer_who_answers_and_finds_no_agent_is_abandoned() {
    let r = fold(&[
        entry(0, "a", created()),
        entry(10, "a", LegEventKind::Answered),
        entry(20, "c", created()),
        entry(30, "c", LegEventKind::Answered),
        entry(40, "a", hung_up(16)),
        entry(50, "c", hung_up(16)),
    ]);
    assert_eq!(r.agent_leg.as_ref().map(LegId::as_str), Some("a"));
    assert_eq!(r.customer_leg.as_ref().map(LegId::as_str), Some("c"));
    assert_eq!(r.disposition, Some(Disposition::Abandoned));
    assert!(!r.bridged);
}

#[test]
fn a_ringing_customer_whose_agent_hangs_up_is_cancelled() {
    let r = fold(&[
        entry(0, "a", created()),
        entry(10, "a", LegEventKind::Answered),
        entry(20, "c", created()),
        entry(30, "c", LegEventKind::Ringing),
        entry(40, "a", hung_up(16)),
        entry(41, "c", hung_up(16)),
    ]);
    assert_eq!(r.disposition, Some(Disposition::Cancelled));
    assert_eq!(r.ring_secs, 0);
}

#[test]
fn hold_time_counts_until_unhold_or_the_end() {
    let bridged = |b: &str| LegEventKind::Bridged {
        bridge: b.to_owned(),
        with: None,
    };
    let r = fold(&[
        entry(0, "a", created()),
        entry(10, "a", LegEventKind::Answered),
        entry(20, "c", created()),
        entry(1_000, "c", LegEventKind::Answered),
        entry(1_001, "c", bridged("b")),
        entry(1_002, "a", bridged("b")),
        entry(2_000, "c", LegEventKind::Held),
        entry(5_000, "c", LegEventKind::Unheld),
        entry(6_000, "a", LegEventKind::Held),
        entry(8_500, "c", hung_up(16)),
        entry(8_501, "a", hung_up(16)),
    ]);
    assert_eq!(r.disposition, Some(Disposition::Answered));
    assert_eq!(r.hold_count, 2);
    assert_eq!(r.hold_secs, 3 + 2);
    assert_eq!(r.held_leg, Some(Party::Agent));
    assert_eq!(r.talk_secs, 7);
    assert!(!r.is_on_hold);
    assert_eq!(r.hung_up_by, Some(Party::System));
}

fn connected_call() -> Vec<TimelineEntry> {
    let bridged = |b: &str| LegEventKind::Bridged {
        bridge: b.to_owned(),
        with: None,
    };
    vec![
        entry(0, "a", created()),
        entry(10, "a", LegEventKind::Answered),
        entry(20, "c", created()),
        entry(1_000, "c", LegEventKind::Answered),
        entry(1_001, "c", bridged("b")),
        entry(1_002, "a", bridged("b")),
    ]
}

#[test]
fn a_hold_that_moves_the_parties_out_of_their_bridge_is_on_hold() {
    let unbridged = |b: &str| LegEventKind::Unbridged {
        bridge: b.to_owned(),
    };
    let mut entries = connected_call();
    entries.extend([
        entry(2_000, "c", unbridged("b")),
        entry(2_000, "a", unbridged("b")),
        entry(2_001, "c", LegEventKind::Held),
    ]);
    let r = fold(&entries);
    assert_eq!(r.state, CallState::OnHold);
    assert!(r.is_on_hold);
    entries.push(entry(5_000, "c", LegEventKind::Unheld));
    assert_eq!(fold(&entries).state, CallState::Connected);
}

#[test]
fn a_live_call_has_no_hangup_cause_until_it_ends() {
    let mut entries = connected_call();
    // A third leg (a consulted agent, a plumbing half) comes and goes.
    entries.extend([entry(2_000, "x", created()), entry(2_500, "x", hung_up(17))]);
    let r = fold(&entries);
    assert_eq!(r.state, CallState::Connected);
    assert_eq!(r.hangup_cause, None);
    entries.extend([
        entry(9_000, "c", hung_up(16)),
        entry(9_001, "a", hung_up(16)),
    ]);
    let r = fold(&entries);
    assert_eq!(r.state, CallState::Ended);
    assert_eq!(r.hangup_cause.map(|c| c.code), Some(16));
}
