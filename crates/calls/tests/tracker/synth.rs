//! Synthetic agent-first calls shaped like the AMI transcripts, for property tests and the
//! bench (which includes this file).

use chrono::{DateTime, TimeDelta, Utc};
use hookflash_provider::{
    CallId, Correlation, DialOutcome, DtmfDirection, HangupCause, HangupSide, LegEvent,
    LegEventKind, LegId, OriginateFailure, OriginateOutcome,
};

/// How the agent's leg goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AgentOutcome {
    Answer,
    Busy,
    NoAnswer,
}

/// How the customer's leg goes (once the agent answered).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CustomerOutcome {
    Answer,
    Busy,
    NoAnswer,
    Unavailable,
}

/// One synthetic call.
#[derive(Debug, Clone)]
pub(crate) struct CallPlan {
    pub(crate) n: u64,
    pub(crate) start: DateTime<Utc>,
    pub(crate) agent: AgentOutcome,
    pub(crate) customer: CustomerOutcome,
    pub(crate) customer_hangs_up: bool,
    pub(crate) hold: bool,
    pub(crate) dtmf: bool,
    pub(crate) ring_ms: i64,
    pub(crate) talk_ms: i64,
}

impl CallPlan {
    pub(crate) fn call_id(&self) -> CallId {
        CallId::from_uuid(uuid::Uuid::from_u128(u128::from(self.n) + 1))
    }
}

struct Emitter {
    events: Vec<LegEvent>,
    call: CallId,
    linkedid: String,
    start: DateTime<Utc>,
    step: i64,
}

impl Emitter {
    fn push(&mut self, ms: i64, leg: &str, channel: &str, with_call: bool, kind: LegEventKind) {
        // A microsecond per event keeps events printed at the same millisecond in order.
        self.step += 1;
        let at = self.start + TimeDelta::milliseconds(ms) + TimeDelta::microseconds(self.step);
        self.events.push(LegEvent {
            leg: LegId::new(leg).unwrap_or_else(|_| unreachable!()),
            at,
            keys: Correlation {
                call_id: with_call.then_some(self.call),
                linkedid: Some(self.linkedid.clone()),
                channel: Some(channel.to_owned()),
                peer: None,
                local_pair: None,
            },
            kind,
        });
    }
}

fn hungup(code: u16, side: HangupSide) -> LegEventKind {
    LegEventKind::HungUp {
        cause: HangupCause::from_code(code),
        side,
    }
}

fn request(side: HangupSide, code: u16) -> LegEventKind {
    LegEventKind::HangupRequested {
        side,
        cause: Some(HangupCause::from_code(code)),
    }
}

fn var(name: &str, value: &str) -> LegEventKind {
    LegEventKind::VariableSet {
        name: name.to_owned(),
        value: value.to_owned(),
    }
}

/// The events of one call, in provider-time order.
pub(crate) fn call_events(plan: &CallPlan) -> Vec<LegEvent> {
    let a = format!("{}.{}", 1_795_000_000 + plan.n, 2 * plan.n);
    let c = format!("{}.{}", 1_795_000_000 + plan.n, 2 * plan.n + 1);
    let a_ch = format!("PJSIP/agent{}-{:08x}", 2001 + plan.n % 16, 2 * plan.n);
    let c_ch = format!("PJSIP/trunk-{:08x}", 2 * plan.n + 1);
    let mut e = Emitter {
        events: Vec::with_capacity(24),
        call: plan.call_id(),
        linkedid: a.clone(),
        start: plan.start,
        step: 0,
    };
    let created = |endpoint: &str| LegEventKind::Created {
        role: None,
        endpoint: Some(endpoint.to_owned()),
        caller_number: None,
        called_number: None,
    };
    e.push(0, &a, &a_ch, false, created("PJSIP/agent"));
    e.push(
        0,
        &a,
        &a_ch,
        true,
        var("HOOKFLASH_CALL_ID", &plan.call_id().to_string()),
    );
    match plan.agent {
        AgentOutcome::Busy => {
            e.push(3, &a, &a_ch, true, request(HangupSide::Remote, 17));
            let failed = LegEventKind::OriginateResult {
                outcome: OriginateOutcome::Failed {
                    failure: OriginateFailure::Unknown,
                    message: None,
                },
            };
            e.push(3, &a, &a_ch, true, failed);
            let busy = LegEventKind::DialResult {
                status: DialOutcome::Busy,
                caller: None,
            };
            e.push(4, &a, &a_ch, true, busy);
            e.push(4, &a, &a_ch, true, hungup(17, HangupSide::Remote));
            return e.events;
        }
        AgentOutcome::NoAnswer => {
            e.push(4, &a, &a_ch, true, LegEventKind::Ringing);
            let failed = LegEventKind::OriginateResult {
                outcome: OriginateOutcome::Failed {
                    failure: OriginateFailure::NoAnswer,
                    message: None,
                },
            };
            e.push(15_000, &a, &a_ch, true, failed);
            e.push(15_001, &a, &a_ch, true, hungup(19, HangupSide::Unknown));
            return e.events;
        }
        AgentOutcome::Answer => {}
    }
    e.push(4, &a, &a_ch, true, LegEventKind::Ringing);
    e.push(1_030, &a, &a_ch, true, LegEventKind::Answered);
    let ok = LegEventKind::OriginateResult {
        outcome: OriginateOutcome::Answered,
    };
    e.push(1_030, &a, &a_ch, true, ok);
    e.push(1_031, &a, &a_ch, true, var("DIALSTATUS", ""));
    if plan.customer == CustomerOutcome::Unavailable {
        e.push(
            1_032,
            &a,
            &a_ch,
            true,
            LegEventKind::DialFailed {
                status: DialOutcome::ChanUnavail,
            },
        );
        e.push(1_032, &a, &a_ch, true, request(HangupSide::Local, 16));
        e.push(1_033, &a, &a_ch, true, hungup(3, HangupSide::Local));
        return e.events;
    }
    let c_id = LegId::new(c.clone()).unwrap_or_else(|_| unreachable!());
    let created_c = LegEventKind::Created {
        role: None,
        endpoint: None,
        caller_number: Some("18005550100".to_owned()),
        called_number: Some(format!("555{:07}", plan.n)),
    };
    e.push(1_032, &c, &c_ch, false, created_c);
    let dialing = LegEventKind::Dialing {
        target: Some(c_id),
        destination: Some("trunk".to_owned()),
    };
    e.push(1_033, &a, &a_ch, true, dialing);
    let a_leg = LegId::new(a.clone()).unwrap_or_else(|_| unreachable!());
    let result = |status| LegEventKind::DialResult {
        status,
        caller: Some(a_leg.clone()),
    };
    match plan.customer {
        CustomerOutcome::Busy => {
            e.push(1_036, &c, &c_ch, false, request(HangupSide::Remote, 17));
            e.push(1_036, &c, &c_ch, false, result(DialOutcome::Busy));
            e.push(1_037, &c, &c_ch, false, hungup(17, HangupSide::Remote));
            e.push(
                1_037,
                &a,
                &a_ch,
                true,
                LegEventKind::DialFailed {
                    status: DialOutcome::Busy,
                },
            );
            e.push(1_038, &a, &a_ch, true, hungup(17, HangupSide::Local));
            return e.events;
        }
        CustomerOutcome::NoAnswer => {
            e.push(1_036, &c, &c_ch, false, LegEventKind::Ringing);
            let t = 1_036 + plan.ring_ms;
            e.push(t, &c, &c_ch, false, result(DialOutcome::NoAnswer));
            e.push(
                t,
                &a,
                &a_ch,
                true,
                LegEventKind::DialFailed {
                    status: DialOutcome::NoAnswer,
                },
            );
            e.push(t + 1, &c, &c_ch, false, hungup(0, HangupSide::Unknown));
            e.push(t + 1, &a, &a_ch, true, hungup(16, HangupSide::Local));
            return e.events;
        }
        _ => {}
    }
    e.push(1_036, &c, &c_ch, false, LegEventKind::Ringing);
    let up = 1_036 + plan.ring_ms;
    let bridge = format!("bridge-{}", plan.n);
    e.push(up, &c, &c_ch, false, LegEventKind::Answered);
    e.push(up, &c, &c_ch, false, result(DialOutcome::Answer));
    let bridged = LegEventKind::Bridged {
        bridge: bridge.clone(),
        with: None,
    };
    e.push(up + 1, &c, &c_ch, false, bridged.clone());
    e.push(up + 1, &a, &a_ch, true, bridged);
    if plan.hold {
        e.push(up + 500, &c, &c_ch, false, LegEventKind::Held);
        e.push(up + 900, &c, &c_ch, false, LegEventKind::Unheld);
    }
    if plan.dtmf {
        let digit = |d, direction| LegEventKind::Dtmf {
            digit: d,
            direction,
            duration_ms: Some(120),
        };
        e.push(
            up + 950,
            &c,
            &c_ch,
            false,
            digit('1', DtmfDirection::Received),
        );
        e.push(up + 950, &a, &a_ch, true, digit('1', DtmfDirection::Sent));
    }
    let end = up + 1_000 + plan.talk_ms;
    let unbridged = LegEventKind::Unbridged { bridge };
    let (first, first_ch, first_call, second, second_ch, second_call) = if plan.customer_hangs_up {
        (&c, &c_ch, false, &a, &a_ch, true)
    } else {
        (&a, &a_ch, true, &c, &c_ch, false)
    };
    e.push(
        end,
        first,
        first_ch,
        first_call,
        request(HangupSide::Remote, 16),
    );
    e.push(end, first, first_ch, first_call, unbridged.clone());
    e.push(end + 1, second, second_ch, second_call, unbridged);
    e.push(
        end + 1,
        first,
        first_ch,
        first_call,
        hungup(16, HangupSide::Remote),
    );
    e.push(
        end + 1,
        second,
        second_ch,
        second_call,
        request(HangupSide::Local, 16),
    );
    e.push(
        end + 2,
        second,
        second_ch,
        second_call,
        hungup(16, HangupSide::Local),
    );
    e.events
}

/// A deterministic mix of plans (like the load corpus: mostly answered, some busy, no
/// answer, unavailable), from a seed.
pub(crate) fn plan_mix(n: u64, start: DateTime<Utc>, seed: u64) -> CallPlan {
    // SplitMix64: a tiny, fixed, dependency-free generator.
    let mut x = seed ^ n.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    let mut next = || {
        x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = x;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    let r = next() % 100;
    let agent = match r {
        0..=5 => AgentOutcome::Busy,
        6..=9 => AgentOutcome::NoAnswer,
        _ => AgentOutcome::Answer,
    };
    let r = next() % 100;
    let customer = match r {
        0..=7 => CustomerOutcome::Busy,
        8..=13 => CustomerOutcome::NoAnswer,
        14..=15 => CustomerOutcome::Unavailable,
        _ => CustomerOutcome::Answer,
    };
    CallPlan {
        n,
        start,
        agent,
        customer,
        customer_hangs_up: next() % 2 == 0,
        hold: next() % 10 == 0,
        dtmf: next() % 10 == 0,
        ring_ms: (next() % 3_000) as i64,
        talk_ms: (next() % 8_000) as i64 + 2_000,
    }
}
