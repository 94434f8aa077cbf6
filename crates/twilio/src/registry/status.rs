//! Status callbacks: a leg's progress (`CallStatus`) into created, answered and ended events.

use chrono::{DateTime, Utc};
use hookflash_provider::{
    CallId, DialOutcome, HangupCause, HangupSide, LegEvent, LegEventKind, LegRole,
    OriginateFailure, OriginateOutcome,
};

use super::{Params, Phase, TwilioTranslator, cause_from_sip, leg_id, timestamp};

impl TwilioTranslator {
    /// Builds an event with the keys we know: our call id, the call's root SID as linkedid
    /// (the agent leg's SID; else the parent's; else the leg's own), and the peer leg.
    pub(crate) fn event(
        &self,
        sid: &str,
        call_id: CallId,
        at: DateTime<Utc>,
        kind: LegEventKind,
    ) -> Option<LegEvent> {
        let leg = leg_id(sid)?;
        let linkedid = self
            .calls
            .get(&call_id)
            .and_then(|c| c.agent.clone())
            .or_else(|| self.legs.get(sid).and_then(|l| l.parent.clone()))
            .unwrap_or_else(|| sid.to_owned());
        let mut event = LegEvent::new(leg, at, kind)
            .with_call_id(call_id)
            .with_linkedid(linkedid);
        if let Some(peer) = self.peer_of(sid).and_then(|p| leg_id(&p)) {
            event = event.with_peer(peer);
        }
        Some(event)
    }

    /// Translates a call status callback (`CallStatus`) of a leg of `call_id` playing `role`
    /// (the status callback URL names both) into events.
    pub fn status_callback(
        &mut self,
        call_id: CallId,
        role: LegRole,
        params: &Params,
        now: DateTime<Utc>,
    ) -> Vec<LegEvent> {
        let Some(sid) = params.get("CallSid").map(str::to_owned) else {
            return Vec::new();
        };
        let at = timestamp(params, now);
        let parent = params.get("ParentCallSid").map(str::to_owned);
        match role {
            LegRole::Agent if self.call_mut(call_id).agent.is_none() => {
                self.call_mut(call_id).agent = Some(sid.clone());
            }
            LegRole::Customer => {
                let call = self.call_mut(call_id);
                if call.customer.is_none() || call.customer.as_deref() != Some(&sid) {
                    call.customer = Some(sid.clone());
                }
            }
            LegRole::SecondAgent => {
                // A leg <Dial>led by the customer is a blind transfer's target: the customer's
                // new peer.
                let call = self.call_mut(call_id);
                if parent.is_some() && parent == call.customer {
                    call.second = Some(sid.clone());
                }
            }
            _ => {}
        }
        self.ensure_leg(&sid, call_id, role, parent.as_deref());
        let mut out = Vec::new();
        self.created_events(&sid, call_id, params, at, &mut out);

        let status = params.get("CallStatus").unwrap_or_default();
        let phase = self.legs.get(&sid).map_or(Phase::New, |l| l.phase);
        if phase == Phase::Ended {
            return out;
        }
        let dialler = self.dialler_of(&sid);
        match status {
            "queued" | "initiated" => {}
            "ringing" => {
                if phase < Phase::Ringing {
                    self.set_phase(&sid, Phase::Ringing);
                    out.extend(self.event(&sid, call_id, at, LegEventKind::Ringing));
                }
            }
            "in-progress" | "answered" => {
                if phase < Phase::Up {
                    self.answered_events(&sid, call_id, dialler.as_deref(), params, at, &mut out);
                }
            }
            "completed" => {
                if phase < Phase::Up && params.get("CallDuration").is_some_and(|d| d != "0") {
                    // Twilio may skip the `answered` callback when it was not asked for.
                    self.answered_events(&sid, call_id, dialler.as_deref(), params, at, &mut out);
                }
                let side = self.hangup_side(&sid);
                self.ended_events(
                    &sid,
                    call_id,
                    at,
                    HangupCause::from_code(16),
                    side,
                    &mut out,
                );
            }
            "busy" | "no-answer" | "failed" | "canceled" => {
                let requested = self.legs.get(&sid).is_some_and(|l| l.hangup_requested);
                let (dial, failure, side, code) = match status {
                    "busy" => (
                        DialOutcome::Busy,
                        OriginateFailure::Busy,
                        HangupSide::Remote,
                        17,
                    ),
                    "no-answer" => (
                        DialOutcome::NoAnswer,
                        OriginateFailure::NoAnswer,
                        HangupSide::Local,
                        19,
                    ),
                    "canceled" => (
                        DialOutcome::Cancel,
                        OriginateFailure::Unknown,
                        HangupSide::Local,
                        16,
                    ),
                    _ => {
                        let sip = params.get("SipResponseCode").and_then(|c| c.parse().ok());
                        let dial = match sip {
                            Some(503) => DialOutcome::Congestion,
                            Some(404 | 484 | 604) => DialOutcome::InvalidArgs,
                            _ => DialOutcome::ChanUnavail,
                        };
                        (
                            dial,
                            OriginateFailure::Unreachable,
                            HangupSide::Unknown,
                            sip.map_or(41, cause_from_sip),
                        )
                    }
                };
                let side = if requested { HangupSide::Local } else { side };
                let message = Some(match params.get("SipResponseCode") {
                    Some(sip) => format!("{status} (SIP {sip})"),
                    None => status.to_owned(),
                });
                match (role, dialler) {
                    (LegRole::Agent, _) => out.extend(self.event(
                        &sid,
                        call_id,
                        at,
                        LegEventKind::OriginateResult {
                            outcome: OriginateOutcome::Failed { failure, message },
                        },
                    )),
                    (_, caller) => out.extend(self.event(
                        &sid,
                        call_id,
                        at,
                        LegEventKind::DialResult {
                            status: dial,
                            caller: caller.and_then(|c| leg_id(&c)),
                        },
                    )),
                }
                self.ended_events(
                    &sid,
                    call_id,
                    at,
                    HangupCause::from_code(code),
                    side,
                    &mut out,
                );
            }
            other => {
                tracing::debug!(status = other, "ignoring unknown CallStatus");
            }
        }
        out
    }

    /// The leg that dialled this one: its `<Dial>` parent, or for a conference participant
    /// the call's agent (customer) or customer (transfer target).
    pub(super) fn dialler_of(&self, sid: &str) -> Option<String> {
        let leg = self.legs.get(sid)?;
        if leg.role == LegRole::Agent {
            return None;
        }
        leg.parent.clone().or_else(|| self.peer_of(sid))
    }

    pub(super) fn set_phase(&mut self, sid: &str, phase: Phase) {
        if let Some(leg) = self.legs.get_mut(sid) {
            leg.phase = phase;
        }
    }

    pub(super) fn created_events(
        &mut self,
        sid: &str,
        call_id: CallId,
        params: &Params,
        at: DateTime<Utc>,
        out: &mut Vec<LegEvent>,
    ) {
        let Some(leg) = self.legs.get_mut(sid) else {
            return;
        };
        if leg.created {
            return;
        }
        leg.created = true;
        let role = leg.role;
        let to = params.get("To").map(str::to_owned);
        out.extend(self.event(
            sid,
            call_id,
            at,
            LegEventKind::Created {
                role: Some(role),
                endpoint: to.clone(),
                caller_number: params.get("From").map(str::to_owned),
                called_number: to.clone(),
            },
        ));
        if let Some(dialler) = self.dialler_of(sid) {
            let target = leg_id(sid);
            out.extend(self.event(
                &dialler,
                call_id,
                at,
                LegEventKind::Dialing {
                    target,
                    destination: to,
                },
            ));
        }
    }

    pub(super) fn answered_events(
        &mut self,
        sid: &str,
        call_id: CallId,
        dialler: Option<&str>,
        params: &Params,
        at: DateTime<Utc>,
        out: &mut Vec<LegEvent>,
    ) {
        self.set_phase(sid, Phase::Up);
        out.extend(self.event(sid, call_id, at, LegEventKind::Answered));
        let role = self.legs.get(sid).map(|l| l.role);
        if role == Some(LegRole::Agent) {
            out.extend(self.event(
                sid,
                call_id,
                at,
                LegEventKind::OriginateResult {
                    outcome: OriginateOutcome::Answered,
                },
            ));
        } else {
            out.extend(self.event(
                sid,
                call_id,
                at,
                LegEventKind::DialResult {
                    status: DialOutcome::Answer,
                    caller: dialler.and_then(leg_id),
                },
            ));
        }
        // A <Dial>led leg that answers is bridged with the leg that dialled it: Twilio says
        // nothing more, so both sides get a `Bridged` naming the dialler's SID.
        let parent = self.legs.get(sid).and_then(|l| l.parent.clone());
        if let Some(parent) =
            parent.filter(|p| self.legs.get(p).is_some_and(|l| l.phase < Phase::Ended))
        {
            let bridge = format!("dial:{parent}");
            for (leg, with) in [
                (sid.to_owned(), parent.clone()),
                (parent.clone(), sid.to_owned()),
            ] {
                if let Some(info) = self.legs.get_mut(&leg) {
                    info.bridge = Some(bridge.clone());
                }
                out.extend(self.event(
                    &leg,
                    call_id,
                    at,
                    LegEventKind::Bridged {
                        bridge: bridge.clone(),
                        with: leg_id(&with),
                    },
                ));
            }
        }
        if let Some(answered_by) = params.get("AnsweredBy") {
            out.extend(self.event(
                sid,
                call_id,
                at,
                LegEventKind::VariableSet {
                    name: "AnsweredBy".to_owned(),
                    value: answered_by.to_owned(),
                },
            ));
        }
    }

    pub(super) fn ended_events(
        &mut self,
        sid: &str,
        call_id: CallId,
        at: DateTime<Utc>,
        cause: HangupCause,
        side: HangupSide,
        out: &mut Vec<LegEvent>,
    ) {
        self.set_phase(sid, Phase::Ended);
        out.extend(self.unbridge(sid, call_id, at));
        out.extend(self.event(sid, call_id, at, LegEventKind::HungUp { cause, side }));
    }

    /// The leg leaves its `<Dial>` bridge (it hangs up, or is redirected elsewhere).
    pub(crate) fn unbridge(
        &mut self,
        sid: &str,
        call_id: CallId,
        at: DateTime<Utc>,
    ) -> Option<LegEvent> {
        let bridge = self.legs.get_mut(sid)?.bridge.take()?;
        self.event(sid, call_id, at, LegEventKind::Unbridged { bridge })
    }

    /// Who ended an answered leg. Twilio does not say, so it is inferred: our own request is
    /// local; a leg whose `<Dial>` ended first (its action URL was called) or whose peer ended
    /// first was hung up by the platform (local); otherwise its own party hung up (remote).
    /// Callbacks that arrive out of order can blur this.
    pub(super) fn hangup_side(&self, sid: &str) -> HangupSide {
        let Some(leg) = self.legs.get(sid) else {
            return HangupSide::Unknown;
        };
        if leg.hangup_requested || leg.dial_action_seen {
            return HangupSide::Local;
        }
        let peer_ended = self
            .peer_of(sid)
            .and_then(|p| self.legs.get(&p))
            .is_some_and(|p| p.phase == Phase::Ended);
        if peer_ended {
            HangupSide::Local
        } else {
            HangupSide::Remote
        }
    }
}
