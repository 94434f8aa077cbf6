//! The per-call state machine: a deterministic fold of a call's time-ordered entries into a
//! [`CallRecord`]. The tracker keeps the entries sorted and refolds after every change, so the
//! record depends on the set of events, not on the order they arrived in.

use chrono::{DateTime, Utc};
use hookflash_provider::{
    CallId, CauseClass, DialOutcome, DtmfDirection, HangupSide, LegEventKind, LegId, LegRole,
    MediaDirection, OriginateFailure, OriginateOutcome, TenantId, TransferOutcome, UnparkReason,
};

use crate::record::{
    CallRecord, CallState, Direction, Disposition, LegRecord, LegStatus, MuteFlags, MuteState,
    ParkOutcome, ParkRecord, Party, PartyDigits, RecordingRecord, TimelineEntry, TransferRecord,
    TransferResult,
};

/// Timeline names of the tracker's own entries.
pub(crate) const NOTE_ORIGINATE: &str = "originate_requested";
pub(crate) const NOTE_CLOSED: &str = "closed";
pub(crate) const NOTE_VANISHED: &str = "leg_vanished";
pub(crate) const NOTE_MERGED: &str = "merged";

pub(crate) const REASON_DISCONNECTED: &str = "ended while disconnected";
pub(crate) const REASON_SILENT: &str = "silent past max age";
pub(crate) const REASON_FULL: &str = "evicted: tracker full";

/// What the tracker knows about a call besides its events.
#[derive(Debug, Clone)]
pub(crate) struct CallMeta {
    pub(crate) call_id: CallId,
    pub(crate) derived: bool,
    pub(crate) tenant: Option<TenantId>,
    pub(crate) direction: Direction,
    pub(crate) registered_at: Option<DateTime<Utc>>,
    pub(crate) agent_endpoint: Option<String>,
    pub(crate) customer_number: Option<String>,
    pub(crate) linkedid: Option<String>,
}

/// Per-leg facts that travel in the event keys rather than in the event kinds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LegInfo {
    pub(crate) leg: LegId,
    /// Whether the leg's events carry a call id (on some platforms only the agent's leg does).
    pub(crate) carries_id: bool,
    pub(crate) channel: Option<String>,
    pub(crate) linkedid: Option<String>,
    /// The plumbing-pair key the translator gave the leg, when it is one half of a pair.
    pub(crate) local_pair: Option<String>,
}

/// A canonical order for events that share a timestamp: a leg's life in its natural order.
pub(crate) fn kind_rank(entry: &TimelineEntry) -> u8 {
    let Some(kind) = &entry.detail else {
        return match entry.event.as_ref() {
            NOTE_ORIGINATE => 0,
            NOTE_VANISHED => 90,
            _ => 99,
        };
    };
    match kind {
        LegEventKind::Created { .. } => 1,
        LegEventKind::Renamed { .. } => 2,
        LegEventKind::VariableSet { .. } => 3,
        LegEventKind::Dialing { .. } => 4,
        LegEventKind::Ringing => 5,
        LegEventKind::Answered => 6,
        LegEventKind::OriginateResult { .. } => 7,
        LegEventKind::DialResult { .. } | LegEventKind::DialFailed { .. } => 8,
        LegEventKind::Unparked { .. } => 9,
        LegEventKind::Bridged { .. } => 10,
        LegEventKind::Held => 11,
        LegEventKind::Unheld => 12,
        LegEventKind::Muted { .. } => 13,
        LegEventKind::Unmuted { .. } => 14,
        LegEventKind::Dtmf { .. } => 15,
        LegEventKind::RecordingStarted { .. } => 16,
        LegEventKind::RecordingPaused => 17,
        LegEventKind::RecordingResumed => 18,
        LegEventKind::RecordingStopped { .. } => 19,
        LegEventKind::Transferred { .. } => 20,
        LegEventKind::Parked { .. } => 21,
        LegEventKind::Unbridged { .. } => 22,
        LegEventKind::HangupRequested { .. } => 23,
        LegEventKind::HungUp { .. } => 24,
        _ => 50,
    }
}

#[derive(Debug, Clone, Default)]
struct LegScratch {
    bridge: Option<String>,
    held_since: Option<DateTime<Utc>>,
    dial_status: Option<DialOutcome>,
    ring_started: bool,
}

/// The fold's running state.
#[derive(Debug, Clone)]
pub(crate) struct Fold {
    rec: CallRecord,
    scratch: Vec<LegScratch>,
    agent: Option<usize>,
    customer: Option<usize>,
    first_at: Option<DateTime<Utc>>,
    last_at: Option<DateTime<Utc>>,
    end_at: Option<DateTime<Utc>>,
    ended: bool,
    closed_reason: Option<String>,
    vanished_end: bool,
    agent_status: Option<DialOutcome>,
    customer_status: Option<DialOutcome>,
    dial_failed: Option<DialOutcome>,
    originate_failed: Option<OriginateFailure>,
    customer_answered: bool,
    connected: bool,
    handoff_explained: bool,
    inferred_transfer: Option<usize>,
    last_handoff_at: Option<DateTime<Utc>>,
    remote_requests: Vec<(DateTime<Utc>, usize)>,
    second_agent_answered: bool,
    recording_seq: u32,
}

impl Fold {
    pub(crate) fn new(meta: &CallMeta, at: DateTime<Utc>) -> Self {
        Self {
            rec: CallRecord {
                call_id: meta.call_id,
                derived_id: meta.derived,
                tenant: meta.tenant,
                direction: meta.direction,
                state: CallState::Created,
                disposition: None,
                end_reason: None,
                agent_leg: None,
                agent_channel: None,
                customer_leg: None,
                customer_channel: None,
                agent_answered: false,
                customer_dialed: false,
                bridged: false,
                bridge_id: None,
                linkedid: None,
                legs: Vec::new(),
                created_at: at,
                agent_answered_at: None,
                customer_ringing_at: None,
                answered_at: None,
                ended_at: None,
                ring_secs: 0,
                talk_secs: 0,
                duration_secs: 0,
                hold_count: 0,
                hold_secs: 0,
                held_leg: None,
                is_on_hold: false,
                is_muted: false,
                mute: MuteState::default(),
                recordings: Vec::new(),
                transfers: Vec::new(),
                park: None,
                dtmf_received: PartyDigits::default(),
                dtmf_sent: PartyDigits::default(),
                hangup_cause: None,
                hung_up_by: None,
                from: None,
                to: None,
                agent_endpoint: None,
                offered_to: Vec::new(),
                timeline: Vec::new(),
                timeline_dropped: 0,
                last_event_at: at,
                seq: 0,
            },
            scratch: Vec::new(),
            agent: None,
            customer: None,
            first_at: None,
            last_at: None,
            end_at: None,
            ended: false,
            closed_reason: None,
            vanished_end: false,
            agent_status: None,
            customer_status: None,
            dial_failed: None,
            originate_failed: None,
            customer_answered: false,
            connected: false,
            handoff_explained: false,
            inferred_transfer: None,
            last_handoff_at: None,
            remote_requests: Vec::new(),
            second_agent_answered: false,
            recording_seq: 0,
        }
    }

    fn party_of(&self, idx: usize) -> Option<Party> {
        match self.rec.legs.get(idx).map(|l| l.role) {
            Some(LegRole::Agent) => Some(Party::Agent),
            Some(LegRole::Customer) => Some(Party::Customer),
            Some(LegRole::SecondAgent) => Some(Party::SecondAgent),
            _ => None,
        }
    }

    fn leg_index(&self, leg: &LegId) -> Option<usize> {
        self.rec.legs.iter().position(|l| &l.leg == leg)
    }

    fn role_for_new_leg(
        &self,
        leg: &LegId,
        explicit: Option<LegRole>,
        infos: &[LegInfo],
    ) -> LegRole {
        if infos
            .iter()
            .any(|i| &i.leg == leg && i.local_pair.is_some())
        {
            return LegRole::Local;
        }
        if let Some(role) = explicit {
            return role;
        }
        match self.rec.direction {
            Direction::Outbound => {
                // Without timing to go by (legs adopted from a snapshot), the leg that carries
                // our call id is the agent's.
                let id_elsewhere = || {
                    infos
                        .iter()
                        .any(|i| i.carries_id && &i.leg != leg && self.leg_index(&i.leg).is_none())
                };
                let carries = infos.iter().any(|i| &i.leg == leg && i.carries_id);
                if self.agent.is_none() && !carries && self.customer.is_none() && id_elsewhere() {
                    LegRole::Customer
                } else if self.agent.is_none() {
                    LegRole::Agent
                } else if self.customer.is_none() {
                    LegRole::Customer
                } else {
                    LegRole::SecondAgent
                }
            }
            Direction::Inbound => {
                if self.customer.is_none() {
                    LegRole::Customer
                } else {
                    LegRole::Agent
                }
            }
        }
    }

    fn ensure_leg(
        &mut self,
        leg: &LegId,
        kind: &LegEventKind,
        at: DateTime<Utc>,
        infos: &[LegInfo],
    ) -> usize {
        if let Some(idx) = self.leg_index(leg) {
            return idx;
        }
        let channel = infos
            .iter()
            .find(|i| &i.leg == leg)
            .and_then(|i| i.channel.clone());
        let explicit = match kind {
            LegEventKind::Created { role, .. } => *role,
            _ => None,
        };
        let role = self.role_for_new_leg(leg, explicit, infos);
        let idx = self.rec.legs.len();
        match role {
            LegRole::Agent if self.agent.is_none() => self.agent = Some(idx),
            LegRole::Customer if self.customer.is_none() => self.customer = Some(idx),
            _ => {}
        }
        if role == LegRole::Agent
            && self.rec.direction == Direction::Inbound
            && let Some(ch) = &channel
        {
            self.rec.offered_to.push(ch.clone());
        }
        if role == LegRole::Customer {
            self.rec.customer_dialed = true;
            if self.rec.customer_ringing_at.is_none() {
                self.rec.customer_ringing_at = Some(at);
            }
        }
        self.rec.legs.push(LegRecord {
            leg: leg.clone(),
            role,
            channel,
            state: LegStatus::Created,
            created_at: at,
            answered_at: None,
            ended_at: None,
            cause: None,
            hangup_side: None,
        });
        self.scratch.push(LegScratch::default());
        idx
    }

    /// Applies one entry (in time order).
    pub(crate) fn step(&mut self, entry: &TimelineEntry, infos: &[LegInfo]) {
        let at = entry.at;
        if self.first_at.is_none_or(|f| at < f) {
            self.first_at = Some(at);
        }
        if self.last_at.is_none_or(|l| at > l) {
            self.last_at = Some(at);
        }
        if self.ended {
            // After the end: recorded in the timeline, no effect on the outcome.
            return;
        }
        let Some(kind) = &entry.detail else {
            self.step_note(entry);
            return;
        };
        let Some(leg) = &entry.leg else { return };
        if let LegEventKind::OriginateResult { outcome } = kind {
            match outcome {
                OriginateOutcome::Answered => {
                    if let Some(a) = self.agent {
                        self.mark_answered(a, at);
                    } else {
                        self.rec.agent_answered = true;
                        self.rec.agent_answered_at.get_or_insert(at);
                    }
                }
                OriginateOutcome::Failed { failure, .. } => {
                    self.originate_failed = Some(*failure);
                    if self.rec.legs.is_empty() {
                        self.end(at);
                    }
                }
                _ => {}
            }
            return;
        }
        let i = self.ensure_leg(leg, kind, at, infos);
        self.step_leg(i, kind, at);
    }

    fn step_note(&mut self, entry: &TimelineEntry) {
        match entry.event.as_ref() {
            NOTE_CLOSED => {
                self.closed_reason = entry.note.clone();
                self.end(entry.at);
            }
            NOTE_VANISHED => {
                let Some(i) = entry.leg.as_ref().and_then(|l| self.leg_index(l)) else {
                    return;
                };
                if self.rec.legs[i].state != LegStatus::HungUp {
                    self.vanished_end = true;
                    self.hang_up(i, entry.at);
                }
            }
            _ => {}
        }
    }

    fn mark_answered(&mut self, i: usize, at: DateTime<Utc>) {
        let leg = &mut self.rec.legs[i];
        if leg.state == LegStatus::HungUp {
            return;
        }
        leg.state = LegStatus::Up;
        leg.answered_at.get_or_insert(at);
        match leg.role {
            LegRole::Agent => {
                let outbound_agent =
                    self.rec.direction == Direction::Outbound && Some(i) == self.agent;
                let inbound_first =
                    self.rec.direction == Direction::Inbound && !self.rec.agent_answered;
                if outbound_agent || inbound_first {
                    if inbound_first {
                        self.agent = Some(i);
                    }
                    self.rec.agent_answered = true;
                    self.rec.agent_answered_at.get_or_insert(at);
                }
            }
            LegRole::Customer if Some(i) == self.customer => {
                self.customer_answered = true;
            }
            LegRole::SecondAgent => self.second_agent_answered = true,
            _ => {}
        }
    }

    fn step_leg(&mut self, i: usize, kind: &LegEventKind, at: DateTime<Utc>) {
        let role = self.rec.legs[i].role;
        let outbound = self.rec.direction == Direction::Outbound;
        match kind {
            LegEventKind::Created {
                endpoint,
                caller_number,
                called_number,
                ..
            } => {
                self.rec.legs[i].created_at = at;
                match role {
                    LegRole::Agent
                        if outbound
                            && Some(i) == self.agent
                            && self.rec.agent_endpoint.is_none() =>
                    {
                        self.rec.agent_endpoint.clone_from(endpoint);
                    }
                    LegRole::Customer if Some(i) == self.customer => {
                        if self.rec.to.is_none() {
                            self.rec.to.clone_from(called_number);
                        }
                        if self.rec.from.is_none() {
                            self.rec.from.clone_from(caller_number);
                        }
                    }
                    _ => {}
                }
            }
            LegEventKind::Dialing { destination, .. } => {
                if role == LegRole::Agent && outbound && Some(i) == self.agent && !self.rec.bridged
                {
                    self.rec.customer_dialed = true;
                    if self.rec.customer_ringing_at.is_none() {
                        self.rec.customer_ringing_at = Some(at);
                    }
                    if self.rec.to.is_none() {
                        self.rec.to.clone_from(destination);
                    }
                } else if role == LegRole::Customer && self.rec.bridged && !self.handoff_explained {
                    // A connected customer dialling somewhere new without a transfer event: a
                    // redirect (some platforms report no transfer event for it at all).
                    let by = self.transferer();
                    self.inferred_transfer = Some(self.rec.transfers.len());
                    self.rec.transfers.push(TransferRecord {
                        kind: hookflash_provider::TransferKind::Blind,
                        to: destination.as_deref().map(strip_technology),
                        result: TransferResult::Pending,
                        at,
                        by,
                    });
                    self.handoff_explained = true;
                    self.last_handoff_at = Some(at);
                }
            }
            LegEventKind::Ringing => {
                let leg = &mut self.rec.legs[i];
                if leg.state == LegStatus::Created {
                    leg.state = LegStatus::Ringing;
                }
                self.scratch[i].ring_started = true;
            }
            LegEventKind::Answered => self.mark_answered(i, at),
            LegEventKind::DialResult { status, .. } => {
                self.scratch[i].dial_status = Some(*status);
                if Some(i) == self.agent && outbound {
                    self.agent_status = Some(*status);
                } else if Some(i) == self.customer {
                    self.customer_status = Some(*status);
                }
                if *status == DialOutcome::Answer {
                    self.mark_answered(i, at);
                }
            }
            LegEventKind::Bridged { bridge, .. } if self.rec.legs[i].state != LegStatus::HungUp => {
                self.scratch[i].bridge = Some(bridge.clone());
                self.check_connected(at);
            }
            LegEventKind::Unbridged { bridge }
                if self.scratch[i].bridge.as_ref() == Some(bridge) =>
            {
                self.scratch[i].bridge = None;
                self.check_connected(at);
            }
            LegEventKind::Held if self.scratch[i].held_since.is_none() => {
                self.scratch[i].held_since = Some(at);
                self.rec.hold_count += 1;
                self.rec.held_leg = self.party_of(i);
            }
            LegEventKind::Unheld => self.unhold(i, at),
            LegEventKind::Muted { direction } => self.set_mute(i, *direction, true),
            LegEventKind::Unmuted { direction } => self.set_mute(i, *direction, false),
            LegEventKind::Dtmf {
                digit, direction, ..
            } => {
                let digits = match direction {
                    DtmfDirection::Received => &mut self.rec.dtmf_received,
                    _ => &mut self.rec.dtmf_sent,
                };
                match role {
                    LegRole::Agent => digits.agent.push(*digit),
                    LegRole::Customer => digits.customer.push(*digit),
                    LegRole::SecondAgent => digits.second_agent.push(*digit),
                    _ => {}
                }
            }
            LegEventKind::RecordingStarted { file } => {
                self.recording_seq += 1;
                let name = file
                    .clone()
                    .unwrap_or_else(|| format!("recording-{}", self.recording_seq));
                let open = self
                    .rec
                    .recordings
                    .iter()
                    .any(|r| r.name == name && r.stopped_at.is_none());
                if !open {
                    self.rec.recordings.push(RecordingRecord {
                        name,
                        leg: Some(self.rec.legs[i].leg.clone()),
                        started_at: at,
                        stopped_at: None,
                        paused: false,
                    });
                }
            }
            LegEventKind::RecordingStopped { file } => {
                let rec = match file {
                    Some(name) => self
                        .rec
                        .recordings
                        .iter_mut()
                        .rev()
                        .find(|r| &r.name == name && r.stopped_at.is_none()),
                    None => None,
                };
                let rec = match rec {
                    Some(r) => Some(r),
                    None => self
                        .rec
                        .recordings
                        .iter_mut()
                        .rev()
                        .find(|r| r.stopped_at.is_none()),
                };
                if let Some(r) = rec {
                    r.stopped_at = Some(at);
                    r.paused = false;
                }
            }
            LegEventKind::RecordingPaused | LegEventKind::RecordingResumed => {
                let paused = matches!(kind, LegEventKind::RecordingPaused);
                if let Some(r) = self
                    .rec
                    .recordings
                    .iter_mut()
                    .rev()
                    .find(|r| r.stopped_at.is_none())
                {
                    r.paused = paused;
                }
            }
            LegEventKind::Transferred {
                kind: tkind,
                to,
                outcome,
                ..
            } => {
                let result = match outcome {
                    TransferOutcome::Success => TransferResult::Success,
                    TransferOutcome::Failed => TransferResult::Failed,
                    TransferOutcome::Cancelled => TransferResult::Cancelled,
                    _ => TransferResult::Failed,
                };
                let record = TransferRecord {
                    kind: *tkind,
                    to: to.clone(),
                    result,
                    at,
                    by: self.transferer(),
                };
                match self.inferred_transfer.take() {
                    // The explicit event explains a dial we had guessed was a redirect.
                    Some(idx) if idx < self.rec.transfers.len() => {
                        let by = self.rec.transfers[idx].by;
                        self.rec.transfers[idx] = TransferRecord { by, ..record };
                    }
                    _ => self.rec.transfers.push(record),
                }
                if result == TransferResult::Success {
                    self.handoff_explained = true;
                    self.last_handoff_at = Some(at);
                }
            }
            LegEventKind::Parked { slot, lot, .. } => {
                self.rec.park = Some(ParkRecord {
                    slot: slot.clone(),
                    lot: lot.clone(),
                    parked_at: at,
                    unparked_at: None,
                    outcome: None,
                    retrieved_by: None,
                });
                self.handoff_explained = true;
                self.last_handoff_at = Some(at);
            }
            LegEventKind::Unparked { reason, by } => {
                let by_name = by.as_ref().map(|b| {
                    self.leg_index(b)
                        .and_then(|j| self.rec.legs[j].channel.clone())
                        .unwrap_or_else(|| b.to_string())
                });
                if let Some(park) = &mut self.rec.park {
                    park.unparked_at = Some(at);
                    park.outcome = Some(match reason {
                        UnparkReason::Retrieved => ParkOutcome::Retrieved,
                        UnparkReason::TimedOut => ParkOutcome::TimedOut,
                        _ => ParkOutcome::GaveUp,
                    });
                    park.retrieved_by = by_name;
                }
                self.handoff_explained = true;
                self.last_handoff_at = Some(at);
            }
            LegEventKind::HangupRequested { side, .. } => {
                let leg = &mut self.rec.legs[i];
                if leg.hangup_side.is_none() {
                    leg.hangup_side = Some(*side);
                }
                if *side == HangupSide::Remote && role != LegRole::Local {
                    self.remote_requests.push((at, i));
                }
            }
            LegEventKind::HungUp { cause, side } => {
                if self.rec.legs[i].state == LegStatus::HungUp {
                    return;
                }
                let had_request = self.rec.legs[i].hangup_side.is_some();
                let leg = &mut self.rec.legs[i];
                leg.cause = Some(cause.clone());
                if leg.hangup_side.is_none() {
                    leg.hangup_side = Some(*side);
                }
                if !had_request && *side == HangupSide::Remote && role != LegRole::Local {
                    self.remote_requests.push((at, i));
                }
                self.hang_up(i, at);
            }
            LegEventKind::DialFailed { status }
                if role == LegRole::Agent && outbound && Some(i) == self.agent =>
            {
                self.dial_failed = Some(*status);
                self.rec.customer_dialed = true;
            }
            LegEventKind::VariableSet { name, value }
                if name == "HOOKFLASH_TENANT_ID" && self.rec.tenant.is_none() =>
            {
                self.rec.tenant = value.parse().ok();
            }
            LegEventKind::Renamed { new_name } => {
                self.rec.legs[i].channel = Some(new_name.clone());
            }
            _ => {}
        }
    }

    fn transferer(&self) -> Option<Party> {
        if self.second_agent_answered {
            Some(Party::SecondAgent)
        } else {
            Some(Party::Agent)
        }
    }

    fn set_mute(&mut self, i: usize, direction: MediaDirection, on: bool) {
        let flags: &mut MuteFlags = match self.rec.legs[i].role {
            LegRole::Customer => &mut self.rec.mute.customer,
            LegRole::Agent | LegRole::SecondAgent => &mut self.rec.mute.agent,
            _ => return,
        };
        match direction {
            MediaDirection::In => flags.inbound = on,
            MediaDirection::Out => flags.outbound = on,
            _ => {
                flags.inbound = on;
                flags.outbound = on;
            }
        }
    }

    fn unhold(&mut self, i: usize, at: DateTime<Utc>) {
        if let Some(since) = self.scratch[i].held_since.take() {
            self.rec.hold_secs += secs_between(since, at);
        }
    }

    fn hang_up(&mut self, i: usize, at: DateTime<Utc>) {
        self.unhold(i, at);
        let leg = &mut self.rec.legs[i];
        leg.state = LegStatus::HungUp;
        leg.ended_at = Some(at);
        self.scratch[i].bridge = None;
        self.check_connected(at);
        if self.rec.legs.iter().all(|l| l.state == LegStatus::HungUp) {
            self.end(at);
        }
    }

    fn end(&mut self, at: DateTime<Utc>) {
        self.ended = true;
        self.end_at = Some(at);
        for i in 0..self.scratch.len() {
            self.unhold(i, at);
        }
    }

    fn check_connected(&mut self, at: DateTime<Utc>) {
        let Some(c) = self.customer else {
            self.connected = false;
            return;
        };
        let bridge = self.scratch[c].bridge.clone();
        let peer = bridge.as_ref().and_then(|b| {
            (0..self.rec.legs.len()).find(|&j| {
                j != c
                    && self.rec.legs[j].role != LegRole::Customer
                    && self.rec.legs[j].state != LegStatus::HungUp
                    && self.scratch[j].bridge.as_ref() == Some(b)
            })
        });
        let now_connected = peer.is_some();
        if now_connected && !self.connected {
            if !self.rec.bridged {
                self.rec.bridged = true;
                self.rec.answered_at = Some(at);
            }
            if let Some(j) = peer {
                if self.rec.legs[j].role == LegRole::Agent
                    && self.rec.direction == Direction::Inbound
                {
                    self.agent = Some(j);
                    self.rec.agent_answered = true;
                    self.rec.agent_answered_at.get_or_insert(at);
                }
                if self.rec.legs[j].role == LegRole::SecondAgent {
                    self.second_agent_answered = true;
                }
            }
            if let Some(idx) = self.inferred_transfer.take()
                && let Some(t) = self.rec.transfers.get_mut(idx)
            {
                t.result = TransferResult::Success;
            }
            for t in &mut self.rec.transfers {
                if t.result == TransferResult::Pending {
                    t.result = TransferResult::Success;
                }
            }
            self.handoff_explained = false;
        }
        if now_connected {
            self.rec.bridge_id = bridge;
        }
        self.connected = now_connected;
    }

    /// The record as of the entries folded so far. `timeline` is left empty for the caller.
    pub(crate) fn finish(mut self, meta: &CallMeta) -> CallRecord {
        let disposition = self.ended.then(|| disposition(&self));
        let live = live_state(&self);
        let rec = &mut self.rec;
        rec.call_id = meta.call_id;
        rec.derived_id = meta.derived;
        if meta.tenant.is_some() {
            rec.tenant = meta.tenant;
        }
        rec.direction = meta.direction;
        rec.linkedid.clone_from(&meta.linkedid);
        if let Some(ep) = &meta.agent_endpoint {
            rec.agent_endpoint = Some(ep.clone());
        }
        if let Some(num) = &meta.customer_number {
            rec.to = Some(num.clone());
        }
        let created = match (meta.registered_at, self.first_at) {
            (Some(r), Some(f)) => r.min(f),
            (Some(r), None) => r,
            (None, Some(f)) => f,
            (None, None) => rec.created_at,
        };
        rec.created_at = created;
        rec.last_event_at = self.last_at.unwrap_or(created);
        if let Some(a) = self.agent {
            rec.agent_leg = Some(rec.legs[a].leg.clone());
            rec.agent_channel.clone_from(&rec.legs[a].channel);
        }
        if let Some(c) = self.customer {
            rec.customer_leg = Some(rec.legs[c].leg.clone());
            rec.customer_channel.clone_from(&rec.legs[c].channel);
        }
        // A call's cause is the cause it ended with: a leg that left a live call (a Local
        // half, a consulted agent) does not give the call one.
        rec.hangup_cause = if self.ended {
            self.customer
                .and_then(|c| rec.legs[c].cause.clone())
                .or_else(|| self.agent.and_then(|a| rec.legs[a].cause.clone()))
                .or_else(|| rec.legs.iter().find_map(|l| l.cause.clone()))
        } else {
            None
        };

        // Who hung up: the first remote hangup request after the last hand-off (transfer,
        // park), for connected calls only; the customer wins an exact tie.
        if rec.bridged {
            let from = match (rec.answered_at, self.last_handoff_at) {
                (Some(a), Some(h)) => Some(a.max(h)),
                (a, h) => a.or(h),
            };
            let legs = &rec.legs;
            let best = self
                .remote_requests
                .iter()
                .filter(|(at, _)| from.is_none_or(|f| *at >= f))
                .min_by_key(|(at, i)| {
                    let prio = match legs[*i].role {
                        LegRole::Customer => 0,
                        LegRole::Agent => 1,
                        _ => 2,
                    };
                    (*at, prio)
                })
                .map(|(_, i)| *i);
            rec.hung_up_by = match best {
                Some(i) => match legs[i].role {
                    LegRole::Agent => Some(Party::Agent),
                    LegRole::Customer => Some(Party::Customer),
                    LegRole::SecondAgent => Some(Party::SecondAgent),
                    _ => Some(Party::System),
                },
                None if self.ended => Some(Party::System),
                None => None,
            };
        }

        let last = rec.last_event_at;
        if self.ended {
            let end = self.end_at.unwrap_or(last);
            rec.ended_at = Some(end);
            rec.state = CallState::Ended;
            rec.end_reason = match (&self.closed_reason, self.vanished_end) {
                (Some(r), _) => Some(r.clone()),
                (None, true) => Some(REASON_DISCONNECTED.to_owned()),
                (None, false) => None,
            };
            rec.disposition = disposition;
        }
        let rec = &mut self.rec;
        rec.legs.shrink_to_fit();
        let end = rec.ended_at.unwrap_or(last).max(rec.created_at);
        rec.duration_secs = secs_between(rec.created_at, end);
        rec.talk_secs = rec.answered_at.map_or(0, |a| secs_between(a, end));
        rec.talk_secs = rec.talk_secs.min(rec.duration_secs);
        rec.ring_secs = rec.customer_ringing_at.map_or(0, |r| {
            let stop = rec
                .answered_at
                .or_else(|| self.customer.and_then(|c| rec.legs[c].ended_at))
                .unwrap_or(end);
            secs_between(r, stop)
        });
        // Hold time still running counts up to the latest event.
        if !self.ended {
            let open: u64 = self
                .scratch
                .iter()
                .filter_map(|s| s.held_since)
                .map(|s| secs_between(s, last))
                .sum();
            rec.hold_secs += open;
        }
        rec.is_on_hold = !self.ended && self.scratch.iter().any(|s| s.held_since.is_some());
        rec.is_muted = !self.ended && (rec.mute.agent.any() || rec.mute.customer.any());
        if !self.ended {
            rec.state = live;
        }
        self.rec
    }
}

fn live_state(f: &Fold) -> CallState {
    let rec = &f.rec;
    let alive = |i: usize| rec.legs[i].state != LegStatus::HungUp;
    if rec.park.as_ref().is_some_and(|p| p.outcome.is_none()) {
        return CallState::Parked;
    }
    if f.connected {
        if f.scratch.iter().any(|s| s.held_since.is_some()) {
            return CallState::OnHold;
        }
        let consulting = rec.legs.iter().enumerate().any(|(j, l)| {
            matches!(l.role, LegRole::SecondAgent | LegRole::Local)
                && alive(j)
                && f.customer
                    .is_some_and(|c| f.scratch[j].bridge != f.scratch[c].bridge)
        });
        if consulting
            || rec
                .transfers
                .iter()
                .any(|t| t.result == TransferResult::Pending)
        {
            return CallState::Transferring;
        }
        return CallState::Connected;
    }
    if rec.bridged && f.scratch.iter().any(|s| s.held_since.is_some()) {
        // Held by moving the parties out of their bridge (hold emulated with music in the
        // dialplan): still on hold, not a hand-off.
        return CallState::OnHold;
    }
    if rec.bridged {
        // Was connected and is not now: a hand-off under way, or the call is coming down.
        let handing_off = f.handoff_explained
            || rec
                .transfers
                .iter()
                .any(|t| t.result == TransferResult::Pending);
        return if handing_off {
            CallState::Transferring
        } else {
            CallState::Connected
        };
    }
    if rec.direction == Direction::Inbound {
        let ringing_agent = rec
            .legs
            .iter()
            .enumerate()
            .any(|(j, l)| l.role == LegRole::Agent && alive(j));
        return if ringing_agent {
            CallState::AgentRinging
        } else {
            CallState::CustomerRinging
        };
    }
    if rec.customer_dialed || f.customer.is_some() {
        return CallState::CustomerRinging;
    }
    if rec.agent_answered {
        return CallState::AgentAnswered;
    }
    if f.agent.is_some() {
        return CallState::AgentRinging;
    }
    CallState::Created
}

fn disposition(f: &Fold) -> Disposition {
    let rec = &f.rec;
    if rec.bridged {
        return Disposition::Answered;
    }
    if rec.direction == Direction::Inbound {
        return Disposition::Abandoned;
    }
    let customer_status = f.customer_status.or(f.dial_failed);
    if f.customer.is_some() || customer_status.is_some() {
        if f.customer_answered {
            return Disposition::Abandoned;
        }
        if let Some(status) = customer_status {
            return match status {
                DialOutcome::Answer => Disposition::Abandoned,
                DialOutcome::Busy => Disposition::Busy,
                DialOutcome::NoAnswer => Disposition::NoAnswer,
                DialOutcome::Cancel => Disposition::Cancelled,
                _ => Disposition::Failed,
            };
        }
        if let Some(c) = f.customer {
            let leg = &rec.legs[c];
            if let Some(cause) = &leg.cause {
                match cause.class() {
                    CauseClass::Busy => return Disposition::Busy,
                    CauseClass::NoAnswer => return Disposition::NoAnswer,
                    CauseClass::Unknown if f.scratch[c].ring_started => {
                        return Disposition::NoAnswer;
                    }
                    CauseClass::Unreachable => return Disposition::Failed,
                    _ => {}
                }
            }
        }
        return Disposition::Cancelled;
    }
    // The customer was never dialled: the agent's leg decides.
    if !rec.agent_answered {
        if let Some(status) = f.agent_status {
            match status {
                DialOutcome::Busy => return Disposition::AgentBusy,
                DialOutcome::NoAnswer => return Disposition::AgentNoAnswer,
                DialOutcome::Cancel => return Disposition::Cancelled,
                DialOutcome::Answer => {}
                _ => return Disposition::Failed,
            }
        }
        if let Some(cause) = f.agent.and_then(|a| rec.legs[a].cause.as_ref()) {
            match cause.class() {
                CauseClass::Busy | CauseClass::Rejected => return Disposition::AgentBusy,
                CauseClass::NoAnswer => return Disposition::AgentNoAnswer,
                CauseClass::Unreachable => return Disposition::Failed,
                _ => {}
            }
        }
        if let Some(failure) = f.originate_failed {
            return match failure {
                OriginateFailure::NoAnswer => Disposition::AgentNoAnswer,
                OriginateFailure::Busy => Disposition::AgentBusy,
                _ if f.agent.is_none() => Disposition::Failed,
                OriginateFailure::Unreachable | OriginateFailure::Refused => Disposition::Failed,
                _ => Disposition::Cancelled,
            };
        }
        if f.agent.is_none() && f.closed_reason.is_none() && !f.vanished_end {
            return Disposition::Failed;
        }
    }
    Disposition::Cancelled
}

/// Whole seconds from `a` to `b`, never negative.
pub(crate) fn secs_between(a: DateTime<Utc>, b: DateTime<Utc>) -> u64 {
    u64::try_from((b - a).num_milliseconds().max(0) / 1000).unwrap_or(0)
}

/// `PJSIP/agent1002` → `agent1002`: a dial string without its technology.
fn strip_technology(destination: &str) -> String {
    destination
        .split_once('/')
        .map_or(destination, |(_, rest)| rest)
        .to_owned()
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use chrono::TimeDelta;
    use hookflash_provider::HangupCause;

    use super::*;

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
}
