//! The per-call state machine: a deterministic fold of a call's time-ordered entries into a
//! [`CallRecord`]. The tracker keeps the entries sorted and refolds after every change, so the
//! record depends on the set of events, not on the order they arrived in.

mod legs;
mod meta;
mod outcome;
#[cfg(test)]
mod tests;

use chrono::{DateTime, Utc};
use hookflash_provider::{
    DialOutcome, HangupRequester, LegEventKind, LegId, LegRole, OriginateFailure, OriginateOutcome,
};

use crate::record::{
    CallRecord, CallState, Direction, LegRecord, LegStatus, MuteState, Party, PartyDigits,
    TimelineEntry,
};

pub(crate) use meta::{
    CallMeta, LegInfo, NOTE_CLOSED, NOTE_MERGED, NOTE_ORIGINATE, NOTE_VANISHED,
    REASON_DISCONNECTED, REASON_FULL, REASON_SILENT, kind_rank,
};
pub(crate) use outcome::secs_between;

#[derive(Debug, Clone, Default)]
struct LegScratch {
    bridge: Option<String>,
    /// The plumbing-pair key, for a half of a pair.
    pair: Option<String>,
    /// The endpoint the leg belongs to, as its `Created` said.
    endpoint: Option<String>,
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
    /// Hangups hookflash was asked for, with who asked: (when, leg, by).
    ordered_hangups: Vec<(DateTime<Utc>, usize, HangupRequester)>,
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
                offers: Vec::new(),
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
            ordered_hangups: Vec::new(),
            second_agent_answered: false,
            recording_seq: 0,
        }
    }

    /// Every leg folded so far (plumbing too, which the finished record leaves out): its id,
    /// role and state.
    pub(crate) fn leg_states(&self) -> Vec<(LegId, LegRole, LegStatus)> {
        self.rec
            .legs
            .iter()
            .map(|l| (l.leg.clone(), l.role, l.state))
            .collect()
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
        let pair = infos
            .iter()
            .find(|i| &i.leg == leg)
            .and_then(|i| i.local_pair.as_ref());
        if let Some(pair) = pair {
            // Plumbing, unless the provider names the party it stands for and the other half
            // is out of its sight (the platform shows only this half: it is the party's leg).
            let twin = infos
                .iter()
                .any(|i| &i.leg != leg && i.local_pair.as_ref() == Some(pair));
            match explicit {
                Some(role) if !twin && role != LegRole::Local => return role,
                _ => return LegRole::Local,
            }
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
            number: None,
            state: LegStatus::Created,
            created_at: at,
            answered_at: None,
            ended_at: None,
            cause: None,
            hangup_side: None,
        });
        let pair = infos
            .iter()
            .find(|i| &i.leg == leg)
            .and_then(|i| i.local_pair.clone());
        self.scratch.push(LegScratch {
            pair,
            ..LegScratch::default()
        });
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
}
