//! How each leg event changes the fold: leg states, bridges, hold, mute, DTMF, recordings,
//! transfers, park and hangups.

use chrono::{DateTime, Utc};
use hookflash_provider::{
    DialOutcome, DtmfDirection, HangupSide, LegEventKind, LegRole, MediaDirection, TransferOutcome,
    UnparkReason,
};

use crate::record::{
    Direction, LegStatus, MuteFlags, ParkOutcome, ParkRecord, Party, RecordingRecord,
    TransferRecord, TransferResult,
};

use super::{Fold, secs_between};

impl Fold {
    pub(super) fn mark_answered(&mut self, i: usize, at: DateTime<Utc>) {
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

    pub(super) fn step_leg(&mut self, i: usize, kind: &LegEventKind, at: DateTime<Utc>) {
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
                if endpoint.is_some() {
                    self.scratch[i].endpoint.clone_from(endpoint);
                }
                // The number a leg is for: the caller's for an inbound call's customer, else
                // the number dialled.
                let number = if role == LegRole::Customer && !outbound {
                    caller_number
                } else {
                    called_number
                };
                if number.is_some() {
                    self.rec.legs[i].number.clone_from(number);
                }
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
                    // Reported once the customer already talks to the target (over ARI, an
                    // attended transfer through a plumbing pair): the hand-off is complete.
                    // Else the customer is on its way to the target.
                    let target = match kind {
                        LegEventKind::Transferred { target, .. } => target.as_ref(),
                        _ => None,
                    };
                    let peer = self.customer_peer();
                    let arrived = target.and_then(|t| self.leg_index(t)).is_some_and(|t| {
                        Some(t) == peer
                            || self.customer.is_some_and(|c| {
                                self.alive(t)
                                    && self.scratch[t]
                                        .bridge
                                        .as_deref()
                                        .is_some_and(|b| self.reachable_bridges(c).contains(&b))
                            })
                    });
                    if !arrived {
                        self.handoff_explained = true;
                    }
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
            LegEventKind::HangupOrdered { by } if role != LegRole::Local => {
                self.ordered_hangups.push((at, i, *by));
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

    pub(super) fn transferer(&self) -> Option<Party> {
        if self.second_agent_answered {
            Some(Party::SecondAgent)
        } else {
            Some(Party::Agent)
        }
    }

    pub(super) fn set_mute(&mut self, i: usize, direction: MediaDirection, on: bool) {
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

    pub(super) fn unhold(&mut self, i: usize, at: DateTime<Utc>) {
        if let Some(since) = self.scratch[i].held_since.take() {
            self.rec.hold_secs += secs_between(since, at);
        }
    }

    pub(super) fn hang_up(&mut self, i: usize, at: DateTime<Utc>) {
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

    pub(super) fn end(&mut self, at: DateTime<Utc>) {
        self.ended = true;
        self.end_at = Some(at);
        for i in 0..self.scratch.len() {
            self.unhold(i, at);
        }
    }

    fn alive(&self, j: usize) -> bool {
        self.rec.legs[j].state != LegStatus::HungUp
    }

    /// The other half of a plumbing leg's pair, when it is in the call.
    fn twin(&self, j: usize) -> Option<usize> {
        let pair = self.scratch[j].pair.as_ref()?;
        (0..self.scratch.len()).find(|&k| k != j && self.scratch[k].pair.as_ref() == Some(pair))
    }

    /// The bridges the leg `from` hears: its own, and those joined to it through live
    /// plumbing pairs (a Local `;1` in its bridge whose `;2` sits in another one).
    pub(super) fn reachable_bridges(&self, from: usize) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        if let Some(b) = self.scratch[from].bridge.as_deref() {
            out.push(b);
        }
        // Each round adds a bridge or stops; a call has a handful of legs.
        let mut grew = true;
        while grew {
            grew = false;
            for j in 0..self.scratch.len() {
                let in_reach = self.scratch[j]
                    .bridge
                    .as_deref()
                    .is_some_and(|b| out.contains(&b));
                if !in_reach || !self.alive(j) || self.rec.legs[j].role != LegRole::Local {
                    continue;
                }
                if let Some(k) = self.twin(j).filter(|&k| self.alive(k))
                    && let Some(b) = self.scratch[k].bridge.as_deref()
                    && !out.contains(&b)
                {
                    out.push(b);
                    grew = true;
                }
            }
        }
        out
    }

    /// Whether leg `j` is a party the customer can be talking to: an agent, or a plumbing half
    /// whose other half the platform does not show (the party is beyond it).
    fn is_counterpart(&self, j: usize) -> bool {
        match self.rec.legs[j].role {
            LegRole::Customer => false,
            LegRole::Local => self.twin(j).is_none(),
            _ => true,
        }
    }

    /// The live party leg in one of the customer's reachable bridges.
    pub(super) fn customer_peer(&self) -> Option<usize> {
        let c = self.customer?;
        let reach = self.reachable_bridges(c);
        (0..self.rec.legs.len()).find(|&j| {
            j != c
                && self.is_counterpart(j)
                && self.alive(j)
                && self.scratch[j]
                    .bridge
                    .as_deref()
                    .is_some_and(|b| reach.contains(&b))
        })
    }

    pub(super) fn check_connected(&mut self, at: DateTime<Utc>) {
        let Some(c) = self.customer else {
            self.connected = false;
            return;
        };
        let bridge = self.scratch[c].bridge.clone();
        let peer = self.customer_peer();
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
}

/// `PJSIP/agent1002` → `agent1002`: a dial string without its technology.
pub(super) fn strip_technology(destination: &str) -> String {
    destination
        .split_once('/')
        .map_or(destination, |(_, rest)| rest)
        .to_owned()
}
