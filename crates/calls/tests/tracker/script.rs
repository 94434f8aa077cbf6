//! A small language for hand-written leg event sequences, and a runner that feeds them to a
//! tracker and collects the final records.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use hookflash_calls::{CallRecord, CallUpdate, Tracker, TrackerConfig, UpdateKind};
use hookflash_provider::{
    CallId, Correlation, DialOutcome, DtmfDirection, HangupCause, HangupSide, LegEvent,
    LegEventKind, LegId, LegRole, LegSnapshot, LegState, MediaDirection, OriginateFailure,
    OriginateOutcome, TenantId, TransferKind, TransferOutcome, UnparkReason,
};

/// A leg as the transcript shows it: uniqueid, channel name, linkedid, and our call id once
/// the leg carries it.
#[derive(Debug, Clone)]
pub(crate) struct Leg {
    pub(crate) id: &'static str,
    pub(crate) channel: &'static str,
    pub(crate) linkedid: &'static str,
    pub(crate) call: Option<CallId>,
}

/// The plumbing-pair key a translator gives one half of a Local channel pair (the tracker
/// itself knows no channel names): the name without its `;1`/`;2`.
pub(crate) fn pair_key(channel: &str) -> Option<String> {
    channel
        .starts_with("Local/")
        .then(|| {
            channel
                .strip_suffix(";1")
                .or_else(|| channel.strip_suffix(";2"))
        })
        .flatten()
        .map(str::to_owned)
}

pub(crate) fn leg(id: &'static str, channel: &'static str, linkedid: &'static str) -> Leg {
    Leg {
        id,
        channel,
        linkedid,
        call: None,
    }
}

impl Leg {
    /// The same leg, now carrying our call id.
    pub(crate) fn with_call(&self, call: &str) -> Leg {
        Leg {
            call: Some(call.parse().unwrap()),
            ..self.clone()
        }
    }

    /// The same leg under another linkedid (a park pickup).
    pub(crate) fn with_linkedid(&self, linkedid: &'static str) -> Leg {
        Leg {
            linkedid,
            ..self.clone()
        }
    }

    pub(crate) fn leg_id(&self) -> LegId {
        LegId::new(self.id).unwrap()
    }
}

#[derive(Debug, Clone)]
pub(crate) enum Step {
    Register {
        call: CallId,
        at: DateTime<Utc>,
        agent: String,
        number: String,
    },
    Event(LegEvent),
    Snapshot(Vec<LegSnapshot>, DateTime<Utc>),
}

/// Events at transcript times (seconds after `t0`); each step also gets one more microsecond
/// than the previous, so steps printed at the same millisecond keep the transcript's order.
#[derive(Debug, Clone)]
pub(crate) struct Script {
    t0: f64,
    pub(crate) steps: Vec<Step>,
}

pub(crate) fn time(secs: f64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros((secs * 1e6).round() as i64).unwrap()
}

impl Script {
    pub(crate) fn new(t0: f64) -> Self {
        Self {
            t0,
            steps: Vec::new(),
        }
    }

    /// The time `t` seconds into the script (events get a microsecond per step on top).
    pub(crate) fn at_secs(&self, t: f64) -> DateTime<Utc> {
        time(self.t0 + t)
    }

    fn at(&self, t: f64) -> DateTime<Utc> {
        time(self.t0 + t) + TimeDelta::microseconds(self.steps.len() as i64)
    }

    pub(crate) fn register(&mut self, t: f64, call: &str, agent: &str, number: &str) -> &mut Self {
        let at = self.at(t);
        self.steps.push(Step::Register {
            call: call.parse().unwrap(),
            at,
            agent: agent.to_owned(),
            number: number.to_owned(),
        });
        self
    }

    pub(crate) fn ev(&mut self, t: f64, leg: &Leg, kind: LegEventKind) -> &mut Self {
        let at = self.at(t);
        self.steps.push(Step::Event(LegEvent {
            leg: leg.leg_id(),
            at,
            keys: Correlation {
                call_id: leg.call,
                linkedid: Some(leg.linkedid.to_owned()),
                channel: Some(leg.channel.to_owned()),
                peer: None,
                local_pair: pair_key(leg.channel),
            },
            kind,
        }));
        self
    }

    /// A call-level event without a real leg (a failed originate names the dial string).
    pub(crate) fn call_event(
        &mut self,
        t: f64,
        placeholder: &str,
        call: &str,
        kind: LegEventKind,
    ) -> &mut Self {
        let at = self.at(t);
        let keys = Correlation {
            call_id: Some(call.parse().unwrap()),
            ..Correlation::default()
        };
        self.steps.push(Step::Event(LegEvent {
            leg: LegId::new(placeholder).unwrap(),
            at,
            keys,
            kind,
        }));
        self
    }

    pub(crate) fn snapshot(
        &mut self,
        t: f64,
        legs: &[(&Leg, LegState, Option<&str>)],
    ) -> &mut Self {
        let at = self.at(t);
        let legs = legs
            .iter()
            .map(|(l, state, bridge)| LegSnapshot {
                leg: l.leg_id(),
                keys: Correlation {
                    call_id: l.call,
                    linkedid: Some(l.linkedid.to_owned()),
                    channel: Some(l.channel.to_owned()),
                    peer: None,
                    local_pair: pair_key(l.channel),
                },
                state: *state,
                bridge: bridge.map(str::to_owned),
                created_at: None,
            })
            .collect();
        self.steps.push(Step::Snapshot(legs, at));
        self
    }

    pub(crate) fn events(&self) -> Vec<LegEvent> {
        self.steps
            .iter()
            .filter_map(|s| match s {
                Step::Event(e) => Some(e.clone()),
                _ => None,
            })
            .collect()
    }

    pub(crate) fn last_at(&self) -> DateTime<Utc> {
        self.steps
            .iter()
            .map(|s| match s {
                Step::Register { at, .. } | Step::Snapshot(_, at) => *at,
                Step::Event(e) => e.at,
            })
            .max()
            .unwrap()
    }
}

// Event kinds, named as the transcripts show them.
pub(crate) fn created(endpoint: &str) -> LegEventKind {
    LegEventKind::Created {
        role: None,
        endpoint: Some(endpoint.to_owned()),
        caller_number: None,
        called_number: None,
    }
}
pub(crate) fn created_as(role: LegRole, endpoint: &str) -> LegEventKind {
    LegEventKind::Created {
        role: Some(role),
        endpoint: Some(endpoint.to_owned()),
        caller_number: None,
        called_number: None,
    }
}
pub(crate) fn created_call(caller: &str, called: &str) -> LegEventKind {
    LegEventKind::Created {
        role: None,
        endpoint: None,
        caller_number: Some(caller.to_owned()),
        called_number: Some(called.to_owned()),
    }
}
pub(crate) fn var(name: &str, value: &str) -> LegEventKind {
    LegEventKind::VariableSet {
        name: name.to_owned(),
        value: value.to_owned(),
    }
}
pub(crate) fn ringing() -> LegEventKind {
    LegEventKind::Ringing
}
pub(crate) fn answered() -> LegEventKind {
    LegEventKind::Answered
}
pub(crate) fn dialing(target: Option<&Leg>, destination: &str) -> LegEventKind {
    LegEventKind::Dialing {
        target: target.map(Leg::leg_id),
        destination: Some(destination.to_owned()),
    }
}
pub(crate) fn dial_result(status: DialOutcome, caller: Option<&Leg>) -> LegEventKind {
    LegEventKind::DialResult {
        status,
        caller: caller.map(Leg::leg_id),
    }
}
pub(crate) fn orig_ok() -> LegEventKind {
    LegEventKind::OriginateResult {
        outcome: OriginateOutcome::Answered,
    }
}
pub(crate) fn orig_failed(failure: OriginateFailure) -> LegEventKind {
    LegEventKind::OriginateResult {
        outcome: OriginateOutcome::Failed {
            failure,
            message: None,
        },
    }
}
/// The dialling leg's own word that its dial reached nobody.
pub(crate) fn dial_failed(status: DialOutcome) -> LegEventKind {
    LegEventKind::DialFailed { status }
}
pub(crate) fn bridged(bridge: &str) -> LegEventKind {
    LegEventKind::Bridged {
        bridge: bridge.to_owned(),
        with: None,
    }
}
pub(crate) fn unbridged(bridge: &str) -> LegEventKind {
    LegEventKind::Unbridged {
        bridge: bridge.to_owned(),
    }
}
pub(crate) fn remote_request(cause: Option<u16>) -> LegEventKind {
    LegEventKind::HangupRequested {
        side: HangupSide::Remote,
        cause: cause.map(HangupCause::from_code),
    }
}
pub(crate) fn soft_request(cause: u16) -> LegEventKind {
    LegEventKind::HangupRequested {
        side: HangupSide::Local,
        cause: Some(HangupCause::from_code(cause)),
    }
}
pub(crate) fn hung_up(code: u16, side: HangupSide) -> LegEventKind {
    LegEventKind::HungUp {
        cause: HangupCause::from_code(code),
        side,
    }
}
pub(crate) fn held() -> LegEventKind {
    LegEventKind::Held
}
pub(crate) fn unheld() -> LegEventKind {
    LegEventKind::Unheld
}
pub(crate) fn muted(direction: MediaDirection) -> LegEventKind {
    LegEventKind::Muted { direction }
}
pub(crate) fn unmuted(direction: MediaDirection) -> LegEventKind {
    LegEventKind::Unmuted { direction }
}
pub(crate) fn digit(digit: char, direction: DtmfDirection) -> LegEventKind {
    LegEventKind::Dtmf {
        digit,
        direction,
        duration_ms: None,
    }
}
pub(crate) fn recording_started(file: &str) -> LegEventKind {
    LegEventKind::RecordingStarted {
        file: Some(file.to_owned()),
    }
}
pub(crate) fn recording_stopped(file: &str) -> LegEventKind {
    LegEventKind::RecordingStopped {
        file: Some(file.to_owned()),
    }
}
pub(crate) fn transferred(kind: TransferKind, to: &str, target: Option<&Leg>) -> LegEventKind {
    LegEventKind::Transferred {
        kind,
        to: Some(to.to_owned()),
        target: target.map(Leg::leg_id),
        outcome: TransferOutcome::Success,
    }
}
pub(crate) fn parked(slot: &str) -> LegEventKind {
    LegEventKind::Parked {
        slot: slot.to_owned(),
        lot: Some("default".to_owned()),
        timeout_secs: Some(60),
    }
}
pub(crate) fn unparked(by: &Leg) -> LegEventKind {
    LegEventKind::Unparked {
        reason: UnparkReason::Retrieved,
        by: Some(by.leg_id()),
    }
}

/// What a run produced.
#[derive(Debug)]
pub(crate) struct Outcome {
    pub(crate) updates: Vec<CallUpdate>,
    /// The last record of every call, by call id.
    pub(crate) records: Vec<CallRecord>,
    pub(crate) tracker: Tracker,
}

pub(crate) fn config() -> TrackerConfig {
    TrackerConfig::default()
}

/// Feeds the steps (`now` = each step's own time), then lets the timers run past the end.
pub(crate) fn run(script: &Script) -> Outcome {
    run_steps(&script.steps, config(), script.last_at())
}

pub(crate) fn run_steps(steps: &[Step], config: TrackerConfig, last: DateTime<Utc>) -> Outcome {
    let window = config.reorder_window;
    let mut tracker = Tracker::new(config);
    let tenant = TenantId::from_uuid(uuid::Uuid::nil());
    let mut updates = Vec::new();
    for step in steps {
        match step {
            Step::Register {
                call,
                at,
                agent,
                number,
            } => updates.extend(tracker.register_originate(*call, tenant, agent, number, *at)),
            Step::Event(e) => updates.extend(tracker.apply(e, e.at)),
            Step::Snapshot(legs, at) => updates.extend(tracker.merge_snapshot(legs, *at)),
        }
    }
    let settle = last + TimeDelta::from_std(window + Duration::from_secs(1)).unwrap();
    updates.extend(tracker.expire(settle));
    let mut last_by_call: HashMap<CallId, CallRecord> = HashMap::new();
    let mut order = Vec::new();
    for u in &updates {
        if !last_by_call.contains_key(&u.call_id) {
            order.push(u.call_id);
        }
        last_by_call.insert(u.call_id, u.record.clone());
    }
    let records = order
        .iter()
        .filter_map(|id| last_by_call.remove(id))
        .collect();
    Outcome {
        updates,
        records,
        tracker,
    }
}

/// Every call got exactly one `ended` update, and nothing after it changed the outcome.
pub(crate) fn assert_one_end_each(updates: &[CallUpdate]) {
    let mut ended: HashMap<CallId, &CallRecord> = HashMap::new();
    for u in updates {
        if let Some(first) = ended.get(&u.call_id) {
            assert_ne!(
                u.kind,
                UpdateKind::Ended,
                "second ended update for {}",
                u.call_id
            );
            assert_eq!(first.disposition, u.record.disposition);
            assert_eq!(first.hung_up_by, u.record.hung_up_by);
            assert_eq!(first.hangup_cause, u.record.hangup_cause);
            assert_eq!(first.ended_at, u.record.ended_at);
        }
        if u.kind == UpdateKind::Ended {
            assert!(u.record.disposition.is_some());
            ended.insert(u.call_id, &u.record);
        }
    }
    for u in updates {
        assert!(
            ended.contains_key(&u.call_id),
            "call {} never ended",
            u.call_id
        );
    }
}
