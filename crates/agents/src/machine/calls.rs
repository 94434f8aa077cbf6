//! The call tracker's updates reflected in the agents whose legs they name.

use chrono::{DateTime, Utc};
use hookflash_calls::{CallRecord, CallUpdate, LegRecord, LegStatus};
use hookflash_provider::{CallId, LegRole};

use crate::model::{AgentId, AgentState, AgentUpdate, Cause, Redistribute};

use super::{Agents, LegView, Resume, after};

impl Agents {
    /// Applies one update of the call tracker: each leg of the call on an agent's endpoint
    /// (by its channel, or the record's agent endpoint for the agent leg) moves that agent.
    ///
    /// - ringing (or created): the agent rings for the call (a reserved agent for the offered
    ///   call; a ready, paused or wrapping-up agent for a call nobody offered, such as a
    ///   manual or app_queue call). An agent ringing or talking on another call stays there.
    /// - answered: the agent is on the call.
    /// - ended (the leg, or the whole call): on call → wrap-up (its policy's limit, or
    ///   straight on when the limit is zero); an offered leg that ended unanswered while the
    ///   call goes on → missed, the call needs the next agent; the call itself over → ready
    ///   (the caller left: not the agent's fault); an unoffered ring → back where they were.
    ///
    /// Logged-out agents are not moved. An agent runs one call at a time: a second call's
    /// legs count once it is the agent's current call.
    pub fn apply(&mut self, update: &CallUpdate, now: DateTime<Utc>) -> Vec<AgentUpdate> {
        let mut out = Vec::new();
        let record = &update.record;
        let call = update.call_id;
        let ended = record.is_ended();
        let mut seen: Vec<(AgentId, LegView)> = Vec::new();
        for leg in &record.legs {
            if leg.role == LegRole::Local {
                continue;
            }
            let Some(id) = self.agent_of_leg(leg, record) else {
                continue;
            };
            let view = if ended {
                LegView::Ended
            } else {
                match leg.state {
                    LegStatus::Created | LegStatus::Ringing => LegView::Ringing,
                    LegStatus::Up => LegView::Up,
                    LegStatus::HungUp => LegView::Ended,
                }
            };
            match seen.iter_mut().find(|(a, _)| *a == id) {
                Some((_, v)) => *v = (*v).max(view),
                None => seen.push((id, view)),
            }
        }
        for (id, view) in seen {
            self.reflect(id, call, view, ended, now, &mut out);
        }
        out
    }

    /// The agent whose endpoint a leg is on.
    fn agent_of_leg(&self, leg: &LegRecord, record: &CallRecord) -> Option<AgentId> {
        let id = match &leg.channel {
            Some(channel) => self.agent_of_channel(channel),
            None => None,
        };
        let id = id.or_else(|| {
            (record.agent_leg.as_ref() == Some(&leg.leg))
                .then_some(record.agent_endpoint.as_ref())
                .flatten()
                .and_then(|e| self.by_endpoint.get(e).copied())
        })?;
        // A record that knows its tenant only moves that tenant's agents.
        let a = self.agents.get(&id)?;
        match record.tenant {
            Some(t) if t != a.tenant => None,
            _ => Some(id),
        }
    }

    /// A channel is the endpoint itself or the endpoint, `-` and a sequence: try the whole
    /// name, then each cut at a `-` from the right (an endpoint may contain `-` itself).
    fn agent_of_channel(&self, channel: &str) -> Option<AgentId> {
        if let Some(id) = self.by_endpoint.get(channel) {
            return Some(*id);
        }
        let mut rest = channel;
        for _ in 0..4 {
            let cut = rest.rfind('-')?;
            rest = channel.get(..cut)?;
            if let Some(id) = self.by_endpoint.get(rest) {
                return Some(*id);
            }
        }
        None
    }

    #[cfg(test)]
    pub(crate) fn agent_of_channel_for_test(&self, channel: &str) -> Option<AgentId> {
        self.agent_of_channel(channel)
    }

    fn reflect(
        &mut self,
        id: AgentId,
        call: CallId,
        view: LegView,
        call_over: bool,
        now: DateTime<Utc>,
        out: &mut Vec<AgentUpdate>,
    ) {
        let Some(a) = self.agents.get(&id) else {
            return;
        };
        use AgentState as S;
        let state = a.state;
        if state == S::LoggedOut {
            return;
        }
        let current = a.call == Some(call);
        let busy_elsewhere = !current && matches!(state, S::Ringing | S::OnCall);
        let dropped = a.dropped == Some(call);
        match view {
            LegView::Ringing => {
                if current && matches!(state, S::Ringing | S::OnCall) {
                    return;
                }
                if busy_elsewhere || dropped {
                    return;
                }
                if current && state == S::Reserved {
                    // The offer's ring timeout runs from the reservation: ringing keeps it.
                    let deadline = a.deadline;
                    self.go(
                        id,
                        S::Ringing,
                        Cause::LegRinging,
                        Some(call),
                        None,
                        now,
                        out,
                    );
                    self.set_deadline(id, deadline);
                    return;
                }
                self.take_unoffered(id, call, S::Ringing, Cause::LegRinging, now, out);
            }
            LegView::Up => {
                if current && state == S::OnCall {
                    return;
                }
                if !current && state == S::OnCall {
                    return;
                }
                if current && matches!(state, S::Reserved | S::Ringing) {
                    self.go(
                        id,
                        S::OnCall,
                        Cause::LegAnswered,
                        Some(call),
                        None,
                        now,
                        out,
                    );
                    self.count_call(id);
                    return;
                }
                self.take_unoffered(id, call, S::OnCall, Cause::LegAnswered, now, out);
                self.count_call(id);
            }
            LegView::Ended => {
                if !current {
                    if dropped && let Some(a) = self.agents.get_mut(&id) {
                        a.dropped = None;
                    }
                    return;
                }
                match state {
                    S::Reserved | S::Ringing => {
                        let offered = a.offered;
                        if offered && !call_over {
                            self.missed(id, call, Redistribute::NoAnswer, now, out);
                        } else if offered {
                            self.go(id, S::Ready, Cause::LegEnded, None, None, now, out);
                            self.drop_call(id, call);
                        } else {
                            match a.resume.clone() {
                                Resume::Ready => {
                                    self.go(id, S::Ready, Cause::LegEnded, None, None, now, out);
                                }
                                Resume::Paused(r) => {
                                    self.go(
                                        id,
                                        S::Paused,
                                        Cause::LegEnded,
                                        None,
                                        Some(r),
                                        now,
                                        out,
                                    );
                                }
                            }
                        }
                    }
                    S::OnCall => {
                        let policy = a.wrap_up.clone();
                        if policy.limit.is_zero() {
                            self.after_wrap_up(id, policy.then, Cause::LegEnded, now, out);
                        } else {
                            self.go(id, S::WrapUp, Cause::LegEnded, Some(call), None, now, out);
                            if let Some(a) = self.agents.get(&id) {
                                let at = a.since;
                                self.set_deadline(id, Some(after(at, policy.limit)));
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
    }

    /// The agent takes a call nobody offered through the machine (ringing or answered). A
    /// pending offer of another call is lost: that call needs the next agent.
    fn take_unoffered(
        &mut self,
        id: AgentId,
        call: CallId,
        to: AgentState,
        cause: Cause,
        now: DateTime<Utc>,
        out: &mut Vec<AgentUpdate>,
    ) {
        let Some(a) = self.agents.get(&id) else {
            return;
        };
        let lost = match (a.state, a.call) {
            (AgentState::Reserved | AgentState::Ringing, Some(c)) if a.offered && c != call => {
                Some(c)
            }
            _ => None,
        };
        let resume = match (a.state, &a.pause_reason) {
            (AgentState::Paused, Some(r)) => Resume::Paused(r.clone()),
            _ => Resume::Ready,
        };
        // A call the agent was taken off comes back only by being answered: the agent talks.
        let keep_offer = a.call == Some(call) && a.offered;
        self.go(id, to, cause, Some(call), None, now, out);
        if let Some(lost) = lost {
            self.offers.remove(&lost);
            out.push(AgentUpdate::NextAgent {
                call: lost,
                agent: id,
                why: Redistribute::AgentBusy,
            });
        }
        let default_wrap = self.config.default_wrap_up.clone();
        if let Some(a) = self.agents.get_mut(&id) {
            a.resume = resume;
            a.dropped = None;
            if !keep_offer {
                a.offered = false;
                a.wrap_up = default_wrap;
            }
        }
    }

    /// The offer of `call` rang out: paused `missed` (or ready), and the call needs the next
    /// agent.
    pub(super) fn missed(
        &mut self,
        id: AgentId,
        call: CallId,
        why: Redistribute,
        now: DateTime<Utc>,
        out: &mut Vec<AgentUpdate>,
    ) {
        match self.config.missed_pause.clone() {
            Some(reason) => self.go(
                id,
                AgentState::Paused,
                Cause::OfferTimedOut,
                None,
                Some(reason),
                now,
                out,
            ),
            None => self.go(
                id,
                AgentState::Ready,
                Cause::OfferTimedOut,
                None,
                None,
                now,
                out,
            ),
        }
        self.drop_call(id, call);
        out.push(AgentUpdate::NextAgent {
            call,
            agent: id,
            why,
        });
    }
}
