//! What the provider knows about the legs of its calls, and the translation of Twilio's
//! callbacks into [`LegEvent`]s. Sans-IO: parameters and `now` in, events out.

use std::collections::{HashMap, VecDeque};

use chrono::{DateTime, Utc};
use hookflash_provider::{
    CallId, DialOutcome, HangupCause, HangupSide, LegEvent, LegEventKind, LegId, LegRole,
    MediaDirection, OriginateFailure, OriginateOutcome,
};

use crate::config::BridgeMode;

/// A webhook's form parameters, in the order received.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params(pub Vec<(String, String)>);

impl Params {
    /// Parses an `application/x-www-form-urlencoded` body.
    pub fn parse(body: &[u8]) -> Self {
        Self(
            form_urlencoded::parse(body)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// The first value of `name`, if present and not empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Phase {
    New,
    Ringing,
    Up,
    Ended,
}

#[derive(Debug, Clone)]
struct LegInfo {
    call_id: CallId,
    role: LegRole,
    parent: Option<String>,
    phase: Phase,
    created: bool,
    hangup_requested: bool,
    dial_action_seen: bool,
    /// The `<Dial>` bridge the leg is in (`dial:{parent SID}`), while it is.
    bridge: Option<String>,
}

/// What a call is made of, as far as callbacks and our own requests told.
#[derive(Debug, Clone, Default)]
pub(crate) struct CallInfo {
    pub(crate) bridge: BridgeMode,
    pub(crate) agent: Option<String>,
    pub(crate) customer: Option<String>,
    pub(crate) conference: Option<String>,
    pub(crate) caller_id: Option<String>,
    /// The leg that took the agent's place after an attended transfer.
    pub(crate) second: Option<String>,
}

/// The provider's memory of calls and legs, bounded to `max_calls` calls.
#[derive(Debug)]
pub(crate) struct Registry {
    legs: HashMap<String, LegInfo>,
    calls: HashMap<CallId, CallInfo>,
    order: VecDeque<CallId>,
    max_calls: usize,
}

fn leg_id(sid: &str) -> Option<LegId> {
    LegId::new(sid).ok()
}

/// When a callback happened. Twilio's `Timestamp` (RFC 2822) has whole seconds only and some
/// callbacks (recording, AMD, `<Dial>` action) have none, so the arrival time `now` is used
/// when it is close to the stamped time (within [`FRESH`], which covers the truncated second,
/// delivery and some clock skew): events keep their arrival order at sub-second precision. A
/// callback that arrives later than that (Twilio retried it) keeps its own time.
fn timestamp(params: &Params, now: DateTime<Utc>) -> DateTime<Utc> {
    let Some(stamped) = params
        .get("Timestamp")
        .and_then(|t| DateTime::parse_from_rfc2822(t).ok())
        .map(|t| t.with_timezone(&Utc))
    else {
        return now;
    };
    if (now - stamped).abs() < FRESH {
        now
    } else {
        stamped
    }
}

/// How far a callback's arrival may be from its `Timestamp` and still count as on time.
const FRESH: chrono::TimeDelta = chrono::TimeDelta::seconds(5);

/// The Q.850 cause closest to a SIP final response code.
pub(crate) fn cause_from_sip(code: u16) -> u16 {
    match code {
        404 | 604 => 1,
        486 | 600 => 17,
        480 => 18,
        408 => 19,
        403 | 603 => 21,
        484 => 28,
        487 => 16,
        500..=599 => 34,
        _ => 41,
    }
}

impl Registry {
    pub(crate) fn new(max_calls: usize) -> Self {
        Self {
            legs: HashMap::new(),
            calls: HashMap::new(),
            order: VecDeque::new(),
            max_calls: max_calls.max(1),
        }
    }

    /// Remembers a call we are placing.
    pub(crate) fn register_call(&mut self, call_id: CallId, info: CallInfo) {
        if !self.calls.contains_key(&call_id) {
            self.order.push_back(call_id);
        }
        self.calls.insert(call_id, info);
        while self.calls.len() > self.max_calls {
            let Some(oldest) = self.order.pop_front() else {
                break;
            };
            self.calls.remove(&oldest);
            self.legs.retain(|_, leg| leg.call_id != oldest);
        }
    }

    fn call_mut(&mut self, call_id: CallId) -> &mut CallInfo {
        if !self.calls.contains_key(&call_id) {
            self.register_call(call_id, CallInfo::default());
        }
        // register_call never evicts the call it just inserted (max_calls >= 1).
        self.calls.entry(call_id).or_default()
    }

    pub(crate) fn call(&self, call_id: CallId) -> Option<&CallInfo> {
        self.calls.get(&call_id)
    }

    /// The call and role of a leg we have seen.
    pub(crate) fn leg(&self, sid: &str) -> Option<(CallId, LegRole)> {
        self.legs.get(sid).map(|l| (l.call_id, l.role))
    }

    /// Whether the leg is still being set up (queued or ringing): hang-ups become `canceled`.
    pub(crate) fn is_ringing(&self, sid: &str) -> bool {
        self.legs.get(sid).is_some_and(|l| l.phase < Phase::Up)
    }

    /// Notes the leg that replaces the agent after an attended transfer.
    pub(crate) fn set_second(&mut self, call_id: CallId, sid: &str) {
        self.call_mut(call_id).second = Some(sid.to_owned());
    }

    pub(crate) fn set_conference(&mut self, call_id: CallId, conference_sid: &str) {
        self.call_mut(call_id).conference = Some(conference_sid.to_owned());
    }

    /// Records the agent leg right after CreateCall answered.
    pub(crate) fn set_agent_leg(&mut self, call_id: CallId, sid: &str) {
        self.call_mut(call_id).agent = Some(sid.to_owned());
        self.ensure_leg(sid, call_id, LegRole::Agent, None);
    }

    /// Records a leg we created through the API (a customer participant, a transfer target).
    pub(crate) fn set_leg(&mut self, call_id: CallId, sid: &str, role: LegRole) {
        if role == LegRole::Customer {
            self.call_mut(call_id).customer = Some(sid.to_owned());
        }
        self.ensure_leg(sid, call_id, role, None);
    }

    /// Notes that we asked for the leg to end; returns the event that says so.
    pub(crate) fn note_hangup_request(
        &mut self,
        sid: &str,
        now: DateTime<Utc>,
    ) -> Option<LegEvent> {
        let leg = self.legs.get_mut(sid)?;
        leg.hangup_requested = true;
        let call_id = leg.call_id;
        self.event(
            sid,
            call_id,
            now,
            LegEventKind::HangupRequested {
                side: HangupSide::Local,
                cause: None,
            },
        )
    }

    fn ensure_leg(&mut self, sid: &str, call_id: CallId, role: LegRole, parent: Option<&str>) {
        let leg = self.legs.entry(sid.to_owned()).or_insert_with(|| LegInfo {
            call_id,
            role,
            parent: None,
            phase: Phase::New,
            created: false,
            hangup_requested: false,
            dial_action_seen: false,
            bridge: None,
        });
        if leg.parent.is_none() {
            leg.parent = parent.map(str::to_owned);
        }
    }

    /// The leg this one talks to: agent <-> customer, a transfer target <-> customer.
    fn peer_of(&self, sid: &str) -> Option<String> {
        let leg = self.legs.get(sid)?;
        let call = self.calls.get(&leg.call_id)?;
        let peer = match leg.role {
            LegRole::Agent => call.customer.clone(),
            LegRole::Customer => call.second.clone().or_else(|| call.agent.clone()),
            _ => leg.parent.clone().or_else(|| call.customer.clone()),
        };
        peer.filter(|p| p != sid)
    }

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

    /// Translates a call status callback (`CallStatus`) into events.
    pub(crate) fn status_callback(
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
    fn dialler_of(&self, sid: &str) -> Option<String> {
        let leg = self.legs.get(sid)?;
        if leg.role == LegRole::Agent {
            return None;
        }
        leg.parent.clone().or_else(|| self.peer_of(sid))
    }

    fn set_phase(&mut self, sid: &str, phase: Phase) {
        if let Some(leg) = self.legs.get_mut(sid) {
            leg.phase = phase;
        }
    }

    fn created_events(
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

    fn answered_events(
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

    fn ended_events(
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
    fn hangup_side(&self, sid: &str) -> HangupSide {
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

    /// A `<Dial>` action callback: the dialling leg's `<Dial>` is over (`DialCallStatus`).
    /// Returns the dial result for a dialled leg Twilio never reported on.
    pub(crate) fn dial_action(
        &mut self,
        call_id: CallId,
        params: &Params,
        now: DateTime<Utc>,
    ) -> Vec<LegEvent> {
        let Some(sid) = params.get("CallSid") else {
            return Vec::new();
        };
        if let Some(leg) = self.legs.get_mut(sid) {
            leg.dial_action_seen = true;
        }
        let mut out = Vec::new();
        let status = params.get("DialCallStatus").unwrap_or_default();
        if params.get("DialCallSid").is_none() && matches!(status, "failed" | "busy" | "no-answer")
        {
            // Twilio never created the dialled leg: report on the dialler.
            out.extend(self.event(
                sid,
                call_id,
                timestamp(params, now),
                LegEventKind::VariableSet {
                    name: "DialCallStatus".to_owned(),
                    value: status.to_owned(),
                },
            ));
        }
        out
    }

    /// An answering-machine-detection callback.
    pub(crate) fn amd_callback(
        &mut self,
        call_id: CallId,
        params: &Params,
        now: DateTime<Utc>,
    ) -> Vec<LegEvent> {
        let (Some(sid), Some(answered_by)) = (params.get("CallSid"), params.get("AnsweredBy"))
        else {
            return Vec::new();
        };
        self.event(
            sid,
            call_id,
            timestamp(params, now),
            LegEventKind::VariableSet {
                name: "AnsweredBy".to_owned(),
                value: answered_by.to_owned(),
            },
        )
        .into_iter()
        .collect()
    }

    /// A recording status callback.
    pub(crate) fn recording_callback(
        &mut self,
        call_id: CallId,
        params: &Params,
        now: DateTime<Utc>,
    ) -> Vec<LegEvent> {
        let Some(sid) = params.get("CallSid") else {
            return Vec::new();
        };
        let file = params.get("RecordingSid").map(str::to_owned);
        let at = timestamp(params, now);
        let kind = match params.get("RecordingStatus").unwrap_or_default() {
            "in-progress" => LegEventKind::RecordingStarted { file },
            "completed" | "absent" | "failed" | "stopped" => {
                LegEventKind::RecordingStopped { file }
            }
            "paused" => LegEventKind::RecordingPaused,
            _ => return Vec::new(),
        };
        self.event(sid, call_id, at, kind).into_iter().collect()
    }

    /// A conference status callback (`StatusCallbackEvent` participant-join, -leave, -hold,
    /// -unhold, -mute, -unmute; conference-start/end only record the conference SID).
    pub(crate) fn conference_callback(
        &mut self,
        call_id: CallId,
        params: &Params,
        now: DateTime<Utc>,
    ) -> Vec<LegEvent> {
        let Some(conference) = params.get("ConferenceSid").map(str::to_owned) else {
            return Vec::new();
        };
        self.set_conference(call_id, &conference);
        let Some(sid) = params.get("CallSid").map(str::to_owned) else {
            return Vec::new();
        };
        let at = timestamp(params, now);
        let kind = match params.get("StatusCallbackEvent").unwrap_or_default() {
            "participant-join" => LegEventKind::Bridged {
                bridge: conference,
                with: self.peer_of(&sid).and_then(|p| leg_id(&p)),
            },
            "participant-leave" => LegEventKind::Unbridged { bridge: conference },
            "participant-hold" => LegEventKind::Held,
            "participant-unhold" => LegEventKind::Unheld,
            "participant-mute" => LegEventKind::Muted {
                direction: MediaDirection::In,
            },
            "participant-unmute" => LegEventKind::Unmuted {
                direction: MediaDirection::In,
            },
            _ => return Vec::new(),
        };
        self.event(&sid, call_id, at, kind).into_iter().collect()
    }
}

#[cfg(test)]
mod tests {
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
        let mut reg = Registry::new(10);
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
        let mut reg = Registry::new(10);
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
        let mut reg = Registry::new(2);
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
}
