//! The record a fold ends with: the live state, the disposition, who hung up, and the
//! times and durations.

use chrono::{DateTime, TimeDelta, Utc};
use hookflash_provider::{CauseClass, DialOutcome, HangupRequester, LegRole, OriginateFailure};

use crate::record::{
    CallRecord, CallState, Direction, Disposition, LegStatus, OfferRecord, OfferState, Party,
    TransferResult,
};

use super::{CallMeta, Fold, REASON_DISCONNECTED};

/// How soon after hookflash was asked to hang a leg up the leg must end for the request to
/// be what ended it (the provider stamps who asked right before it hangs up).
const ORDERED_HANGUP_WINDOW: TimeDelta = TimeDelta::seconds(2);

impl Fold {
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
            // The customer's number: the one hookflash dialled (E.164, from the originate
            // request) over the platform's dial string; a caller's own number inbound.
            let known = match rec.direction {
                Direction::Outbound => meta.customer_number.clone(),
                Direction::Inbound => None,
            };
            let fallback = match rec.direction {
                Direction::Outbound => rec.to.clone(),
                Direction::Inbound => rec.from.clone(),
            };
            let leg = &mut rec.legs[c];
            if let Some(n) = known {
                leg.number = Some(n);
            } else if leg.number.is_none() {
                leg.number = fallback;
            }
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

        // Who hung up: the first remote hangup request, or hangup hookflash was asked for
        // (by the agent, a supervisor, the system) on a leg that then ended, after the last
        // hand-off (transfer, park), for connected calls only; the customer wins an exact tie.
        if rec.bridged {
            let from = match (rec.answered_at, self.last_handoff_at) {
                (Some(a), Some(h)) => Some(a.max(h)),
                (a, h) => a.or(h),
            };
            let legs = &rec.legs;
            let party_of = |i: usize| match legs[i].role {
                LegRole::Agent => Party::Agent,
                LegRole::Customer => Party::Customer,
                LegRole::SecondAgent => Party::SecondAgent,
                _ => Party::System,
            };
            let prio = |i: usize| match legs[i].role {
                LegRole::Customer => 0,
                LegRole::Agent => 1,
                _ => 2,
            };
            let remote = self
                .remote_requests
                .iter()
                .map(|&(at, i)| (at, prio(i), party_of(i)));
            let ordered = self
                .ordered_hangups
                .iter()
                // The stamp is set right before the hangup: a leg that did not end soon
                // after it (the request failed) was not hung up by it.
                .filter(|(at, i, _)| {
                    legs[*i]
                        .ended_at
                        .is_some_and(|end| end >= *at && end - *at <= ORDERED_HANGUP_WINDOW)
                })
                .map(|&(at, _, by)| {
                    let party = match by {
                        HangupRequester::Agent => Party::Agent,
                        HangupRequester::Supervisor => Party::Supervisor,
                        _ => Party::System,
                    };
                    (at, 3, party)
                });
            let best = remote
                .chain(ordered)
                .filter(|(at, ..)| from.is_none_or(|f| *at >= f))
                .min_by_key(|(at, prio, _)| (*at, *prio))
                .map(|(.., party)| party);
            rec.hung_up_by = match best {
                Some(party) => Some(party),
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
        if self.rec.direction == Direction::Inbound {
            self.rec.offers = offers(&self);
        }
        let rec = &mut self.rec;
        // Plumbing legs are no parties: the record lists the parties' legs only.
        rec.legs.retain(|l| l.role != LegRole::Local);
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
        // Reach goes through plumbing pairs: the customer talks to whoever is in a bridge
        // joined to theirs.
        let reach = f
            .customer
            .map(|c| f.reachable_bridges(c))
            .unwrap_or_default();
        let in_reach = |j: usize| {
            f.scratch[j]
                .bridge
                .as_deref()
                .is_some_and(|b| reach.contains(&b))
        };
        // On hold: the customer, or a party they talk to (a transferer who left the
        // conversation held is no hold of this call).
        let held = f.scratch.iter().enumerate().any(|(j, s)| {
            s.held_since.is_some() && (Some(j) == f.customer || (alive(j) && in_reach(j)))
        });
        if held {
            return CallState::OnHold;
        }
        // A second agent (or the plumbing towards one) alive outside the customer's reach:
        // a consultation under way; a completed transfer through a Local pair is none.
        let consulting = rec.legs.iter().enumerate().any(|(j, l)| {
            matches!(l.role, LegRole::SecondAgent | LegRole::Local) && alive(j) && !in_reach(j)
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

/// The offers of an inbound call: one per agent leg, answered by the agent who took the
/// call, withdrawn when the leg stopped ringing, another agent answered or the call ended.
fn offers(f: &Fold) -> Vec<OfferRecord> {
    let rec = &f.rec;
    let answered_by = f.agent.filter(|_| rec.agent_answered);
    let call_end = f.ended.then_some(f.end_at).flatten();
    rec.legs
        .iter()
        .enumerate()
        .filter(|(_, l)| l.role == LegRole::Agent)
        .map(|(j, l)| {
            let (state, answered_at, withdrawn_at) = if answered_by == Some(j) {
                let at = l.answered_at.or(rec.agent_answered_at);
                (OfferState::Answered, at, None)
            } else if let Some(end) = l.ended_at.or(call_end) {
                (OfferState::Withdrawn, None, Some(end))
            } else if answered_by.is_some() {
                (OfferState::Withdrawn, None, rec.agent_answered_at)
            } else {
                (OfferState::Offered, None, None)
            };
            OfferRecord {
                leg: l.leg.clone(),
                channel: l.channel.clone(),
                endpoint: f.scratch[j].endpoint.clone(),
                state,
                offered_at: l.created_at,
                answered_at,
                withdrawn_at,
            }
        })
        .collect()
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
